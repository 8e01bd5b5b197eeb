"""Labelled texts for `writer judge calibrate`: read them, and score those without item scores by the checklist judge.

A label file is JSONL, one labelled response a line, in either form (docs/judges.md):

- a text: {"instruction": "...", "text": "...", "human_score": 0-100, "category"?: "blog", "group"?: "tides"};
  the checklist judge scores its items first, on the judge model;
- item scores already known: {"category": "email", "item_scores": [0-1, ...], "human_score": 0-100, "group"?}.

`group` puts responses to one instruction together (a document and its degraded twins), so the
good-over-worse share compares within a group. Other keys (an "id") are ignored.
tests/fixtures/checklist_labels.jsonl is such a file, made from the degraded twins of bench/judges.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from judges.base import JudgeInput
from judges.checklist import Annotation
from writer.engines.base import Engine
from writer.errors import EngineError, UsageError

__all__ = ["Label", "read_labels", "score_labels"]


class Label(BaseModel):
    """One labelled response: a text to score, or its item scores."""

    model_config = ConfigDict(extra="ignore")

    human_score: float = Field(ge=0, le=100)
    instruction: str | None = None
    text: str | None = None
    category: str | None = None
    item_scores: list[float] | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _either(self) -> "Label":
        if self.item_scores is not None:
            if not self.category:
                raise ValueError("item_scores need a category")
        elif not (self.text and self.text.strip() and self.instruction):
            raise ValueError("a label needs text and instruction, or category and item_scores")
        return self


def read_labels(content: str, name: str = "labels") -> list[Label]:
    """Labels from JSONL `content`; a bad line is a UsageError naming `name:line`."""
    rows = []
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(Label.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise UsageError(f"{name}:{n}: not a valid annotation ({where + ': ' if where else ''}"
                             f"{first['msg'][:160]})") from None
    if not rows:
        raise UsageError(f"{name} has no labels")
    return rows


def score_labels(rows: Sequence[Label], *, engine: Engine | str | None = None, model: str | None = None,
                 base_url: str | None = None) -> list[Annotation]:
    """Annotations for `calibrate`: labels with item scores as they are, texts scored by the checklist judge
    (all in one engine batch, on the judge model). A text the judge could not score is an EngineError."""
    from judges import judge_batch

    texts = [r for r in rows if r.item_scores is None]
    scored = {}
    if texts:
        samples = [JudgeInput(text=r.text, instruction=r.instruction, category=r.category) for r in texts]
        judgments = judge_batch(samples, judges=["checklist"], engine=engine, model=model, base_url=base_url)
        failed = [j for j in judgments if "checklist" not in j.results]
        if failed:
            raise EngineError(f"the checklist judge could not score {len(failed)} of {len(texts)} labelled texts: "
                              f"{failed[0].errors[0].error if failed[0].errors else 'no result'}")
        scored = {id(r): j.results["checklist"] for r, j in zip(texts, judgments)}
    out = []
    for r in rows:
        if r.item_scores is not None:
            out.append(Annotation(category=r.category, item_scores=r.item_scores, human_score=r.human_score,
                                  group=r.group))
        else:
            result = scored[id(r)]
            out.append(Annotation(category=result.category, item_scores=[i.score for i in result.items],
                                  human_score=r.human_score, group=r.group))
    return out
