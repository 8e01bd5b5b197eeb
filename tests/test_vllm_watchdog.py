"""The in-process engine's watchdog: a dead engine process fails every waiting caller instead of a hang.

vLLM's sync client waits for the engine process's output forever when that process is killed, so the
stepper's `step()` never returns; the watchdog notices the death and fails the callers. No vLLM here:
the engine is a stand-in whose `step()` blocks, and its "process" a real one that is killed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from writer.engines.vllm_engine import _Stepper
from writer.errors import EngineError


class BlockedEngine:
    """An engine whose step never returns, as vLLM's once its engine process is gone."""

    def __init__(self):
        self.release = threading.Event()

    def add_request(self, request_id, prompt, params):
        pass

    def step(self):
        self.release.wait()
        return []


class Params:
    output_kind = None


def test_a_killed_engine_process_fails_the_waiting_callers_and_later_submits():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    engine = BlockedEngine()
    stepper = _Stepper(engine, {proc.pid})
    try:
        future = stepper.submit({"prompt_token_ids": [1]}, Params())
        time.sleep(0.3)
        assert not future.done()  # the engine is alive: the caller waits
        proc.kill()
        proc.wait()
        with pytest.raises(EngineError, match=rf"engine process {proc.pid} died"):
            future.result(timeout=10)
        with pytest.raises(EngineError, match="died"):
            stepper.submit({"prompt_token_ids": [2]}, Params())
        started = time.perf_counter()
        stepper.close()
        assert time.perf_counter() - started < 5  # close does not wait on the blocked stepper
    finally:
        engine.release.set()
        if proc.poll() is None:
            proc.kill()
