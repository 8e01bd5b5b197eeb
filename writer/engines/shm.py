"""The shared memory segments of vLLM's engine processes, freed when the engine closes.

vLLM's engine process and its worker talk through ring buffers in POSIX shared memory
(`vllm.distributed.device_communicators.shm_broadcast`), which each buffer's creator unlinks only in
`ShmRingBuffer.__del__`. When the engine shuts down, the worker's response buffer (24 MB x 10) is
unlinked, but the engine process's broadcast buffer to its workers (VLLM_MQ_MAX_CHUNK_BYTES_MB, 16 MB,
x 10: 160 MB of /dev/shm, that is of memory) is not: the engine process ends without that `__del__`
running. The segment was created under this process's multiprocessing resource tracker (the engine
processes inherit it), which unlinks it when the program ends and warns: `resource_tracker: There appear
to be 1 leaked shared_memory objects to clean up at shutdown` (measured on vLLM 0.32, CPU).

`Segments` notes the segments the engine's processes map (`/proc/<pid>/maps`) while the engine starts
and before it closes; once those processes are gone, `free()` unlinks the ones still there, which also
unregisters them from the tracker: the memory is back at once and nothing is reported at exit. Only
segments mapped by this process's own descendants are touched. Off Linux (no /proc) it does nothing.
A kill -9 of the whole process group kills the tracker too, so nothing frees them then: see docs/faults.md.
"""

from __future__ import annotations

import os
import threading
from multiprocessing import shared_memory
from pathlib import Path

__all__ = ["Segments", "descendants", "alive"]

SHM = Path("/dev/shm")


def descendants(pid: int) -> list[int]:
    """Pids of every process below `pid`, from /proc (children files list direct children per thread)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _mapped(pid: int) -> set[str]:
    """Names of the /dev/shm segments that process `pid` maps."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {line.split("/dev/shm/", 1)[1].split()[0] for line in maps.splitlines() if "/dev/shm/psm_" in line}


class Segments:
    """The shared memory segments this process's engine processes map, watched from a daemon thread."""

    def __init__(self, interval: float = 0.5):
        self.names: set[str] = set()
        self.interval = interval
        self.enabled = SHM.is_dir() and Path("/proc/self/task").is_dir()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def scan(self) -> None:
        if self.enabled:
            for pid in descendants(os.getpid()):
                self.names |= _mapped(pid)

    def watch(self) -> "Segments":
        """Scan every `interval` seconds until `free()` (the engine's start may fail before it returns)."""
        if self.enabled:
            self.thread = threading.Thread(target=self._loop, name="vllm-shm-watch", daemon=True)
            self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.wait(self.interval):
            self.scan()

    def pause(self) -> None:
        """Stop the periodic scan (once the engine is up its processes map nothing new)."""
        self.scan()
        self.stop.set()

    def free(self) -> list[str]:
        """Unlink (and unregister) the segments noted that outlived the engine's processes; returns their names."""
        self.pause()
        freed = []
        for name in sorted(self.names):
            if not (SHM / name).exists():
                continue  # its creator unlinked it
            try:
                segment = shared_memory.SharedMemory(name=name)
            except (FileNotFoundError, OSError):
                continue
            try:
                segment.close()
                segment.unlink()  # also tells the resource tracker it is gone
                freed.append(name)
            except (FileNotFoundError, OSError):
                pass
        self.names.clear()
        return freed
