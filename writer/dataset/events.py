"""Typed progress events of a dataset job, as compose runs have `writer.events`.

`run_job` and the Ray runner call `on_event(event)` with one of these; the CLI's job progress is
drawn from them. Each carries only what a consumer shows: ids, counts, a model name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["JobStarted", "WorkersReady", "JudgeModelChosen", "ItemSectionDone", "ItemDone", "ItemFailed",
           "PairsJudging", "JobEvent", "OnJobEvent", "ignore"]


@dataclass(frozen=True)
class JobStarted:
    """`items` of the job's `total` documents are left to write."""

    job: str
    items: int
    total: int


@dataclass(frozen=True)
class WorkersReady:
    """The Ray workers are up: one {"host", "pid", ...} dict each, as `DocumentWorker.ready` reports it."""

    workers: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class JudgeModelChosen:
    """The model judges run on `model`; `same_as_writer`: on the writer's engine itself."""

    model: str
    same_as_writer: bool


@dataclass(frozen=True)
class ItemSectionDone:
    item: int
    words: int


@dataclass(frozen=True)
class ItemDone:
    item: int
    words: int | None
    tokens: int | None
    score: float | None = None


@dataclass(frozen=True)
class ItemFailed:
    item: int
    error: str | None


@dataclass(frozen=True)
class PairsJudging:
    """The pairwise judge compares `pairs` pairs of samples (both orders, one batch)."""

    pairs: int


JobEvent = JobStarted | WorkersReady | JudgeModelChosen | ItemSectionDone | ItemDone | ItemFailed | PairsJudging
OnJobEvent = Callable[[JobEvent], None]


def ignore(event: JobEvent) -> None:
    """The default `on_event`: nothing to show."""
