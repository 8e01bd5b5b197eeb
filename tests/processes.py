"""Helpers for the tests that kill a writer process: wait until it has written something worth losing."""

from __future__ import annotations

import subprocess
import time

from writer.store import Store


def first_written_run(store: Store, proc: subprocess.Popen, timeout: float = 900) -> str | None:
    """The id of the newest run once it has a section in the store, while `proc` runs; None if it never does."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        runs = store.list_runs()
        if runs and store.sections(runs[0].id):
            return runs[0].id
        time.sleep(0.5)
    return None
