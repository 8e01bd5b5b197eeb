"""The stop signal (Ctrl-C, SIGTERM) this process received, so that a failure it caused reads as a stop.

A terminal's Ctrl-C signals the whole foreground process group. vLLM's engine process has its own
SIGINT handler and dies of it at the same moment, so the callers still waiting on the engine get an
engine error. Without this record the command would end with "the vLLM engine failed" and exit 1,
and the run would be marked failed. With it, the command ends as interrupted (exit 130; 143 for
SIGTERM) and the run as `interrupted`.

`install` also replaces an inherited "ignore SIGINT" (a background job of a non-interactive shell):
the engine process dies of SIGINT all the same, so this process must stop too, not carry on with a
dead engine.
"""

from __future__ import annotations

import signal
import sys

__all__ = ["install", "defer", "received", "exit_code", "is_stop"]

_received: int | None = None


def _on_sigint(signum, frame) -> None:
    global _received
    _received = signum
    raise KeyboardInterrupt


def _on_sigterm(signum, frame) -> None:
    global _received
    _received = signum
    sys.exit(128 + signum)  # unwinds like Ctrl-C, so the engine's workers are shut down, not orphaned


def install() -> None:
    """Record SIGINT and SIGTERM, then stop as Python does for Ctrl-C (SIGTERM: SystemExit(143)). Main thread only."""
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _record(signum, frame) -> None:
    global _received
    _received = signum


def defer() -> None:
    """From now on only record stop signals: for the engines' shutdown, which a KeyboardInterrupt raised half-way
    through turns into a traceback (exit 1) after the document was written. Main thread only."""
    signal.signal(signal.SIGINT, _record)
    signal.signal(signal.SIGTERM, _record)


def received() -> int | None:
    """The stop signal this process received (signal.SIGINT or SIGTERM), or None."""
    return _received


def exit_code() -> int | None:
    """128 + the received stop signal (130 for Ctrl-C, 143 for SIGTERM), or None when none was received."""
    return None if _received is None else 128 + _received


def is_stop(exc: BaseException) -> bool:
    """Whether `exc` ends work as a stop (interrupted, resumable), not a failure: Ctrl-C or SIGTERM itself, or any
    error after one was received (the engine process dying of the same signal)."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit)) or _received is not None
