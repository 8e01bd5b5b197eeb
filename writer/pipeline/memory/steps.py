"""The instruction registry: a plan compiled into an ordered program the control unit executes.

Per section k: `write` (the Generator drafts), `extend` (the Extender and continuation bring a
short draft to its budget, a long one is trimmed), `check` (length, repetition, main point;
a failure re-runs write and extend with the failure fed back), `summarise` (summary and
established facts into memory, for the sections after it). Then document-level passes:
`stitch` (parallel mode: smooth each section boundary) and `consistency` (total length and
text repeated across sections).

Sequential mode summarises every section but the last, since later sections read the
summaries. Parallel mode drafts every section at once from the plan, so nothing would read
a summary in time; it skips them and stitches the boundaries instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from writer.artifacts import Plan

SECTION_OPS = ("write", "extend", "check", "summarise")
MODES = ("sequential", "parallel")


def default_mode(engine) -> str:
    """Parallel on engines that batch concurrent calls (in-process vLLM, a served model), else sequential.

    bench/speed.py on the embedded vLLM CPU engine: the same 3,000-word plan took 306 s in parallel mode
    against 1,440 s in sequential mode, both within 0.3% of the length; see README, Benchmarks.
    """
    return "parallel" if getattr(engine, "concurrent", False) else "sequential"


@dataclass(frozen=True)
class Instruction:
    seq: int
    op: str
    section_index: int | None = None

    def label(self) -> str:
        return self.op if self.section_index is None else f"{self.op} section {self.section_index + 1}"


def compile_program(plan: Plan, mode: str = "sequential") -> list[Instruction]:
    """The ordered instructions that write `plan` in `mode`."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    n = len(plan.sections)
    ops: list[tuple[str, int | None]] = []
    for k in range(n):
        ops += [("write", k), ("extend", k), ("check", k)]
        if mode == "sequential" and k < n - 1:
            ops.append(("summarise", k))
    if mode == "parallel":
        ops += [("stitch", k) for k in range(1, n)]
    ops.append(("consistency", None))
    return [Instruction(seq, op, index) for seq, (op, index) in enumerate(ops)]
