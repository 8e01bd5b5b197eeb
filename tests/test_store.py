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
