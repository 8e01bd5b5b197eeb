"""What a compose shows on a terminal while it runs: the stage it is in, words against the target, tokens/s.

The stage is what is happening now: "starting the engine" (converting and loading a model can
take minutes), "planning", "writing: 3 of 6 sections done", "finishing". Drawn on stderr only
when it is a terminal, so `writer compose ... > doc.md` stays clean.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from writer.events import (
    CallDone,
    EngineReady,
    EngineStarting,
    Event,
    Planned,
    RunCreated,
    SectionDone,
    SectionStarted,
    StepDone,
)

__all__ = ["ComposeProgress"]


class ComposeProgress:
    """Live display of one compose run; call it with each `writer.events` event."""

    def __init__(self, console: Console, target: int | None, enabled: bool):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("words · {task.fields[rate]}"), TimeElapsedColumn(),
                                 console=console, transient=True, disable=not enabled)
        self.task = self.progress.add_task("starting", total=target, rate="")
        self.started = time.perf_counter()
        self.run_id = ""
        self.tokens = 0
        self.words = 0
        self.sections = 0
        self.done = 0

    def _stage(self, text: str) -> None:
        prefix = f"run {self.run_id}: " if self.run_id else ""
        self.progress.update(self.task, description=prefix + text)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunCreated):
            self.run_id = event.run_id
            self._stage("starting")
        elif isinstance(event, EngineStarting):
            self._stage(f"starting the engine ({event.model or 'default model'})")
        elif isinstance(event, EngineReady):
            self._stage("planning")
        elif isinstance(event, Planned):
            self.sections = len(event.plan.sections)
            self.progress.update(self.task, total=event.plan.total_words)
            self._stage(f"writing {self.sections} section{'s' if self.sections != 1 else ''}")
        elif isinstance(event, SectionStarted) and self.sections == 1:
            self._stage("writing")
        elif isinstance(event, SectionDone):
            self.words += event.section.words
            self.done += 1
            self.progress.update(self.task, completed=self.words)
            self._stage(f"writing: {self.done} of {self.sections} sections done" if self.done < self.sections
                        else "finishing")
        elif isinstance(event, StepDone) and event.op in ("stitch", "consistency"):
            self._stage("finishing: " + ("joining sections" if event.op == "stitch" else "checking the whole"))
        elif isinstance(event, CallDone):
            self.tokens += sum(c.completion_tokens for c in event.completions)
            rate = self.tokens / max(1e-6, time.perf_counter() - self.started)
            self.progress.update(self.task, rate=f"{rate:.1f} tok/s")
