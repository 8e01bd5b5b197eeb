"""Compiled DSPy program files: what `writer optimize` saves and `--program` loads.

A program file is JSON: `{"writer_program": 1, "kind": "planner" | "judge", "judge":
"quality" | "checklist" | null, "state": <the module's dspy state: demos and instructions>,
...}` plus how it was made (optimizer, metric, scores before and after, model, dspy
version). Recording the kind lets `compose --program` refuse a judge program (and `judge
--program` a planner) with one line instead of failing half-way. The caller names the module
classes a file may hold (`modules`); nothing in the file names code to import, and no LM state
is saved (the engine comes from the command line, as for every other command). This module
imports no planner or judge: they import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import dspy

from writer.atomic import write_atomic
from writer.errors import UsageError

__all__ = ["ProgramFile", "save_program", "load_program", "KINDS", "JUDGE_KINDS"]

FORMAT = 1
KINDS = ("planner", "judge")
JUDGE_KINDS = ("quality", "checklist")


class ProgramFile(dict):
    """The parsed file (a dict) with typed accessors."""

    @property
    def kind(self) -> str:
        return self["kind"]

    @property
    def judge(self) -> str | None:
        return self.get("judge")


def save_program(path: str | Path, module: dspy.Module, kind: str, judge: str | None = None, **info) -> Path:
    """Write `module`'s compiled state and what made it to `path` (atomically). Returns the path."""
    path = Path(path).expanduser()
    if not path.parent.exists():
        raise UsageError(f"output folder does not exist: {path.parent}")
    data = {"writer_program": FORMAT, "kind": kind, "judge": judge,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dspy_version": dspy.__version__, **info}
    state = module.dump_state()
    for predictor in state.values():
        if isinstance(predictor, dict):
            predictor["lm"] = None  # the engine is chosen when the program is used
    data["state"] = state
    return write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def load_program(path: str | Path, kind: str,
                 modules: type[dspy.Module] | Mapping[str | None, type[dspy.Module]]) -> tuple[dspy.Module, ProgramFile]:
    """The module saved in `path`, which must be a `kind` program; UsageError (one line) otherwise.

    `modules` is the module class to build (a planner), or the classes by the file's judge kind (a judge).
    """
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read program {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"program {path} is not JSON") from None
    if not isinstance(data, dict) or data.get("writer_program") != FORMAT or "state" not in data:
        raise UsageError(f"{path} is not a writer program file (made by `writer optimize`)")
    found = data.get("kind")
    if found != kind:
        raise UsageError(f"{path} is a {found} program; this command needs a {kind} program")
    classes = modules if isinstance(modules, Mapping) else {None: modules}
    cls = classes.get(data.get("judge"))
    if cls is None:
        raise UsageError(f"{path} holds a {data.get('judge')!r} {kind}; expected one of: "
                         f"{', '.join(str(k) for k in classes)}")
    module = cls()
    try:
        module.load_state(data["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"program {path} does not fit its module: {exc}".splitlines()[0]) from None
    return module, ProgramFile(data)
