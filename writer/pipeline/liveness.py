"""Which process is writing a run: its pid, host and a heartbeat, in the run's row.

A process that writes a run holds it: `writer.api.compose` from the moment the run exists (through
the engine's start, which takes minutes on a CPU), and `continue_run` while the workflow runs. The
row records the holder's pid and host, and a daemon thread refreshes `heartbeat_at` every `BEAT`
seconds. A run whose status is still `created` or `writing` but whose holder is gone was
killed (kill -9, a lost machine): it shows as `interrupted` (`shown_status`) and can be resumed.

A holder on this host is alive while its pid is a running process that started before the run's last
heartbeat (a pid reused by a later process is not the holder; a zombie is dead). A holder on another host
(a shared Postgres store) is alive while its heartbeat is younger than `STALE` seconds. Taking a run
over is a compare-and-set on (pid, host, heartbeat_at) (`Store.claim_run`), so of two processes resuming
one run at once only one writes it; the other gets `RunBusyError` (one line, exit 2).
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

from writer.errors import RunBusyError
from writer.store import Run, Store
from writer.store.models import utcnow

__all__ = ["BEAT", "STALE", "ACTIVE", "holder_alive", "shown_status", "hold", "Hold"]

BEAT = 10.0  # seconds between heartbeats
STALE = 120.0  # a holder on another host silent this long is gone
ACTIVE = ("created", "writing")  # statuses of a run some process is (or was) writing

_HELD: dict[tuple[str, str], "Hold"] = {}  # (store url, run id) -> this process's hold on it
_LOCK = threading.Lock()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored one is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _process_start(pid: int) -> tuple[bool, float | None]:
    """(exists and is not a zombie, its start time as a Unix time or None where /proc cannot say)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False, None
    except OSError:  # no /proc here: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, None
        except PermissionError:
            return True, None
        return True, None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    if fields[0] in ("Z", "X"):
        return False, None
    try:
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return True, boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return True, None


def holder_alive(run: Run, now: datetime | None = None) -> bool:
    """Whether the process recorded as writing `run` is still running."""
    if not run.pid:
        return False
    beat = _aware(run.heartbeat_at)
    if run.host != socket.gethostname():
        return beat is not None and ((now or utcnow()) - beat).total_seconds() < STALE
    running, started = _process_start(run.pid)
    if not running:
        return False
    # a process that started after the holder's last heartbeat got its pid later: the holder is gone
    return started is None or beat is None or started <= beat.timestamp() + 1


def shown_status(run: Run) -> str:
    """The run's status as it is now: `interrupted` for a run left unfinished by a process that died."""
    if run.status in ACTIVE and not holder_alive(run):
        return "interrupted"
    return run.status


class Hold:
    """This process's claim on a run, kept fresh by a daemon heartbeat thread until released."""

    def __init__(self, store: Store, run_id: str):
        self.store, self.run_id = store, run_id
        self.pid, self.host = os.getpid(), socket.gethostname()
        self.count = 0
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def claim(self) -> None:
        """Become the run's holder, or RunBusyError if another live process is."""
        for _ in range(5):  # each miss is another process's heartbeat or claim landing in between
            run = self.store.get_run(self.run_id)
            ours = run.pid == self.pid and run.host == self.host
            if not ours and holder_alive(run):
                raise RunBusyError(f"run {self.run_id} is being written by process {run.pid} on {run.host}; "
                                   f"wait for it to finish, or stop that process and resume it")
            if self.store.claim_run(self.run_id, (run.pid, run.host, run.heartbeat_at), self.pid, self.host):
                break
        else:
            raise RunBusyError(f"run {self.run_id} is being taken over by another process")
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.run_id}", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        while not self.stopped.wait(BEAT):
            try:
                if not self.store.beat(self.run_id, self.pid, self.host):
                    return  # taken over (we looked dead): the other process writes it now
            except Exception:  # noqa: BLE001 - a busy database misses one beat; the next one counts
                continue

    def release(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        try:
            run = self.store.get_run(self.run_id)
            if run.pid == self.pid and run.host == self.host:
                self.store.claim_run(self.run_id, (run.pid, run.host, run.heartbeat_at), None, None)
        except Exception:  # noqa: BLE001 - a store that fails here leaves a dead pid: shown interrupted anyway
            pass

    def done(self) -> None:
        """This user of the hold is finished; the last one releases the run."""
        _let_go(self)

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc) -> None:
        self.done()


def hold(store: Store, run_id: str) -> Hold:
    """Hold `run_id` for this process (a context manager; nested holds of one run share one claim)."""
    key = (store.url, run_id)
    with _LOCK:
        held = _HELD.get(key)
        if held is None:
            held = Hold(store, run_id)
            held.claim()
            _HELD[key] = held
        held.count += 1
    return held


def _let_go(held: Hold) -> None:
    with _LOCK:
        held.count -= 1
        if held.count > 0:
            return
        _HELD.pop((held.store.url, held.run_id), None)
    held.release()
