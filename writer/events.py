"""Typed progress events of a compose run, from the run's creation to its last section.

The API calls `on_event(event)` with one of these as the run goes; the CLI draws its progress
from them and dataset jobs record the run id from `RunCreated`. They carry artefacts, never
dicts, so a consumer's `match` or `isinstance` is checked by the type checker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from writer.artifacts import Plan, PlannedSection, WrittenSection
from writer.engines.base import Completion

__all__ = ["RunCreated", "EngineStarting", "EngineReady", "Planned", "SectionStarted", "SectionDone", "CallDone",
           "StepDone", "Event", "OnEvent", "ignore"]


@dataclass(frozen=True)
class RunCreated:
    """The run exists in the store (before the engine starts): from now on it can be resumed."""

    run_id: str


@dataclass(frozen=True)
class EngineStarting:
    """The engine is being built (for the in-process engine: the model converted if needed, then loaded)."""

    engine: str
    model: str | None


@dataclass(frozen=True)
class EngineReady:
    engine: str
    model: str


@dataclass(frozen=True)
class Planned:
    plan: Plan


@dataclass(frozen=True)
class SectionStarted:
    index: int
    count: int
    section: PlannedSection


@dataclass(frozen=True)
class SectionDone:
    index: int
    section: WrittenSection


@dataclass(frozen=True)
class CallDone:
    """One engine batch finished (`stage`: plan, write, extend, continue, summarise, stitch, judge:...)."""

    stage: str
    completions: list[Completion]


@dataclass(frozen=True)
class StepDone:
    """A step of the run's stored program finished (or failed its check and was reset)."""

    seq: int
    op: str
    index: int | None
    note: str


Event = RunCreated | EngineStarting | EngineReady | Planned | SectionStarted | SectionDone | CallDone | StepDone
OnEvent = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default handler: nobody is listening."""
