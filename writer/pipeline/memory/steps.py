"""The stored program (L2MAC's instruction registry): a plan compiled into ordered steps the control unit runs.

Called steps, not instructions: the instruction is what the user asked for.

Per section k: `write` (the Generator drafts), `extend` (the Extender and continuation bring a
short draft to its budget, a long one is trimmed), `check` (length, repetition, main point;
a failure re-runs write and extend with the failure fed back), `summarise` (summary and
established facts into memory, for the sections after it). Then document-level passes:
`stitch` (parallel mode: smooth each section boundary) and `consistency` (total length and
text repeated across sections).

A `writer extend` run (kind "extend") starts each section from the user's own text: its first
step is `original` (the part as written becomes the draft) instead of `write`, and its
boundaries, the author's own, are not stitched. A revision
(`writer revise`) appends `redraft`, `relengthen`, `recheck` and `restitch` for one section to a
finished run's program (`revision_steps`).

Sequential mode summarises every section but the last, since later sections read the
summaries. Parallel mode drafts every section at once from the plan, so nothing would read
a summary in time; it skips them and stitches the boundaries instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from writer.artifacts import Plan
from writer.text.genre import narrative

SECTION_OPS = ("write", "original", "extend", "check", "summarise")
DRAFT_OPS = ("write", "original", "extend")  # what a failed check runs again
REVISION_OPS = ("redraft", "relengthen", "recheck", "restitch")
MODES = ("sequential", "parallel")
KINDS = ("compose", "extend")


def default_mode(instruction: str, concurrent: bool) -> str:
    """The mode a run gets when none is asked for: parallel on an engine that batches concurrent calls, except
    for a story, which is written in sequence. A story's sections must go on from the text before them (the
    same narrator, the same people, what has happened); drafted at once from the plan alone, the 0.5B gave the
    third section of a first-person ghost story a new heroine ("a young woman named Lily")."""
    return "parallel" if concurrent and not narrative(instruction) else "sequential"


@dataclass(frozen=True)
class Step:
    seq: int
    op: str
    section_index: int | None = None

    def label(self) -> str:
        return self.op if self.section_index is None else f"{self.op} section {self.section_index + 1}"


def compile_steps(plan: Plan, mode: str = "sequential", kind: str = "compose") -> list[Step]:
    """The ordered steps that write `plan` in `mode` (`kind` "extend": from the user's own text)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    n = len(plan.sections)
    ops: list[tuple[str, int | None]] = []
    first = "original" if kind == "extend" else "write"
    for k in range(n):
        ops += [(first, k), ("extend", k), ("check", k)]
        if mode == "sequential" and k < n - 1:
            ops.append(("summarise", k))
    if mode == "parallel" and kind != "extend":  # an extended document keeps the boundaries its author wrote
        ops += [("stitch", k) for k in range(1, n)]
    ops.append(("consistency", None))
    return [Step(seq, op, index) for seq, (op, index) in enumerate(ops)]


def revision_steps(index: int, first_seq: int) -> list[Step]:
    """The steps that rewrite finished section `index`, numbered from `first_seq`."""
    return [Step(first_seq + k, op, index) for k, op in enumerate(REVISION_OPS)]
