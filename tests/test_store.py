"""The store: opened by many threads and processes at once, and bad URLs are one line."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from typer.testing import CliRunner

from writer.cli import app
from writer.store import Store


def test_a_new_store_opened_by_many_threads_at_once_migrates_once():
    errors: list[Exception] = []

    def open_store() -> None:
        try:
            Store()
        except Exception as exc:  # noqa: BLE001 - the test collects whatever any thread raises
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Store().list_runs() == []


def test_a_new_store_opened_by_several_processes_at_once(tmp_path):
    env = {"WRITER_DATA_DIR": str(tmp_path / "shared"), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", "from writer.store import Store; Store()"], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0], [p.stderr.read() for p in procs]


@pytest.mark.parametrize("url, reason", [
    ("sqlite:////nonexistent/dir/x.db", "unable to open database file"),
    ("postgresql+psycopg://u@127.0.0.1:9/x", "Connection refused"),
    ("nosuchdialect://x", "cannot open store"),
])
def test_an_unopenable_store_is_one_error_line(monkeypatch, url, reason):
    monkeypatch.setenv("WRITER_DB_URL", url)
    result = CliRunner().invoke(app, ["runs"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: cannot open store")
    assert reason in lines[0]


def test_cached_prompt_tokens_are_logged_and_a_store_without_them_is_migrated():
    from sqlalchemy import text

    from writer.engines.base import ChatRequest, Completion, Message

    old = Store()
    with old.engine.begin() as conn:  # a store from before migration 7: calls has no cached_tokens column
        conn.execute(text("ALTER TABLE calls DROP COLUMN cached_tokens"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 7"))
        conn.execute(text("INSERT INTO calls (run_id, stage, messages, params, output, prompt_tokens, "
                          "completion_tokens, seconds, engine, model, created_at) VALUES ('r1', 'write', '[]', '{}', 'old', "
                          "10, 20, 0, '', '', '2026-01-01 00:00:00')"))
    store = Store()
    request = ChatRequest(messages=[Message(role="user", content="hi")])
    store.log_calls("r1", "write", [request], [Completion(text="new", prompt_tokens=30, completion_tokens=5,
                                                          cached_tokens=24)])
    stats = store.call_stats("r1")
    assert (stats.calls, stats.prompt_tokens, stats.cached_tokens, stats.output_tokens) == (2, 40, 24, 25)
    assert [c.cached_tokens for c in store.calls("r1")] == [0, 24]


def test_judgments_table_is_added_by_migration_2(isolated):
    from sqlalchemy import text

    s = Store()
    with s.engine.begin() as conn:
        conn.execute(text("DROP TABLE judgments"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 2"))
    s2 = Store()
    s2.save_judgment("abc", "rules", 90.0, {"words": 3})
    (row,) = s2.judgments("abc")
    assert row.judge == "rules" and row.score == 90.0 and row.details == {"words": 3} and row.error is None
