"""Faults on the real engine (vLLM CPU + smollm2-135m): a compose ends without the resource tracker's leaked
shared memory warning, and an engine process that dies mid-run ends writer with one error line, the run
failed and resumable. bench/faults.py does the same and more at random moments, many times."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from processes import first_written_run

from writer.engines.shm import descendants
from writer.store import Store

pytestmark = pytest.mark.engine


def compose(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "writer", "compose", *args], capture_output=True, text=True,
                          env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}, timeout=timeout)


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, name) of every process below `pid`."""
    found = []
    for kid in descendants(pid):
        try:
            found.append((kid, Path(f"/proc/{kid}/comm").read_text().strip()))
        except OSError:
            pass
    return found


def test_a_compose_ends_without_leaking_shared_memory(tmp_path):
    proc = compose("Write a short note about rain.", "--words", "120", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "leaked shared_memory" not in proc.stderr
    assert json.loads(proc.stdout)["words"] > 0


def test_an_engine_that_dies_mid_run_is_one_error_line_and_the_run_resumes(tmp_path):
    out = tmp_path / "doc.md"
    proc = subprocess.Popen([sys.executable, "-m", "writer", "compose", "Write an essay about lighthouses.",
                             "--words", "600", "--mode", "sequential", "-o", str(out)],
                            env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = Store()
    try:
        run_id = first_written_run(store, proc)
        assert run_id is not None, "no section was written"
        for pid, name in children(proc.pid):
            if name.startswith("VLLM::EngineCor"):
                os.kill(pid, signal.SIGKILL)  # the engine process alone dies, as in a crash or an OOM kill
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in err, err[-3000:]
    assert store.get_run(run_id).status == "failed"
    kept = {s.index for s in store.sections(run_id)}
    before = max(c.id for c in store.calls(run_id))
    again = compose("--resume", run_id, "-o", str(out), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert store.get_run(run_id).status == "done" and out.read_text() == store.load_result(run_id).text
    assert not [c for c in store.calls(run_id) if c.id > before and c.stage == "write" and c.section_index in kept]
