"""The store on PostgreSQL through the same code (WRITER_DB_URL), on a throwaway local cluster.

PostgreSQL 15 is part of this project's machine image; the fixture runs initdb/pg_ctl as
the `postgres` user when the tests run as root (postgres refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from scripted_engine import ScriptedEngine

import writer
from writer.store import Store


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found or not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres_url():
    # Directly under /tmp: pytest's own tmp dirs are closed to the postgres user.
    base = Path(tempfile.mkdtemp(prefix="writer-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                                 f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_compose_and_resume_on_postgres(postgres_url, monkeypatch, tmp_path):
    monkeypatch.setenv("WRITER_DB_URL", postgres_url)
    result = writer.compose("Write a 900-word essay about bridges.", engine=ScriptedEngine(), output=tmp_path / "b.md")
    store = Store()
    assert store.url == postgres_url
    assert store.get_run(result.run_id).status == "done"
    assert [s.index for s in store.sections(result.run_id)] == list(range(len(result.plan.sections)))
    assert store.call_stats(result.run_id).output_tokens == result.stats.output_tokens
    before = len(store.calls(result.run_id))
    again = writer.compose(resume=result.run_id, engine=ScriptedEngine())
    assert again.text == result.text
    assert len(store.calls(result.run_id)) == before  # a finished run is not rewritten
    Store(postgres_url)  # reopening applies no migration twice
