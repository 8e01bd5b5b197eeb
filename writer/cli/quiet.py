"""Quiet by default: the terminal shows writer's progress and result, not the engine's start-up noise.

vLLM, torch, Triton and transformers print warnings, NUMA notes and loading bars, from this
process and from the engine processes vLLM starts, at the C level as well as from Python. So
`quiet()` points file descriptor 2 at a log file (`<data dir>/engine.log`), which every engine
process inherits, and gives writer's own stderr (progress, notes, the summary line, `error:`
lines) a duplicate of the real terminal. Library warnings and loggers in this process are
silenced too. `writer -v ...` skips all of it.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TextIO

__all__ = ["quiet", "ENV"]

ENV = {
    "VLLM_LOGGING_LEVEL": "ERROR",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TQDM_DISABLE": "1",
    "TORCH_CPP_LOG_LEVEL": "ERROR",
    "PYTHONWARNINGS": "ignore",  # engine processes, and the multiprocessing resource tracker at exit
}


def quiet(log_path: Path) -> TextIO:
    """Send everything written to fd 2 to `log_path` from now on; return a stream to the real stderr, which
    `sys.stderr` becomes, so writer's own lines still reach the terminal."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    warnings.simplefilter("ignore")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="replace")
    log = open(log_path, "a", encoding="utf-8")
    os.dup2(log.fileno(), 2)
    sys.stderr = terminal
    # a library logger with no handler of its own (vLLM's at import) falls back to this one, not the terminal
    logging.lastResort = logging.StreamHandler(log)
    logging.lastResort.setLevel(logging.WARNING)
    return terminal
