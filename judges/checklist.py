"""Checklist (HelloEval, from HelloBench): yes/no questions per task category, scored 0-1 each, weighted to 0-100.

Checklists are data: `judges/checklists/<category>.json` ({"category", "description",
"keywords", "items"}), 5-7 questions each, the last always "Is this response flawless?".
Files in `<data dir>/judges/checklists/` add categories or replace shipped ones. The
category is given, or guessed from the instruction (the category whose keyword appears
first), else `heuristic_text_generation`.

The judge scores every item in one JSON-schema constrained call: per item a reason, then
a score in {0, 0.25, 0.5, 0.75, 1}; the schema fixes the item count (minItems = maxItems).
The checklist score is sum(weight_i * score_i) with weights summing to 100. Weights are
equal until `calibrate` fits them to human scores (`writer judge calibrate`); fitted weights
are saved to `<data dir>/judges/checklist_weights.json` and used from then on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from judges.base import (
    Judge,
    JudgeError,
    JudgeInput,
    JudgeReplyError,
    JudgeResult,
    ask_json,
    error_of,
    fit_text,
    require,
)
from prompts import render
from writer.atomic import write_atomic
from writer.calls import CallRecorder
from writer.config import data_dir
from writer.engines.base import ChatRequest, Message
from writer.errors import UsageError

__all__ = ["Checklist", "ChecklistJudge", "ChecklistResult", "ChecklistItem", "Annotation", "Calibration",
           "load_checklists", "get_checklist", "guess_category", "checklist_schema", "load_weights", "calibrate",
           "fit_weights", "FLAWLESS", "LEVELS", "MIN_WEIGHT"]

TEMPLATE = "judges/checklist.j2"
FLAWLESS = "Is this response flawless?"
LEVELS = [0, 0.25, 0.5, 0.75, 1]
MIN_WEIGHT = 0.5
FALLBACK = "heuristic_text_generation"
REASON_CHARS = 160
TOKENS_PER_ITEM = 60


class Checklist(BaseModel):
    """One category's questions."""

    category: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    items: list[str]

    @field_validator("items")
    @classmethod
    def _shape(cls, items: list[str]) -> list[str]:
        if not 5 <= len(items) <= 7:
            raise ValueError(f"a checklist has 5-7 items, got {len(items)}")
        if items[-1].strip() != FLAWLESS:
            raise ValueError(f"the last item must be {FLAWLESS!r}")
        return items


def user_checklist_dir() -> Path:
    return data_dir() / "judges" / "checklists"


def weights_path() -> Path:
    return data_dir() / "judges" / "checklist_weights.json"


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Checklist]:
    out = {}
    for entry in sorted(resources.files("judges").joinpath("checklists").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            c = Checklist.model_validate_json(entry.read_text(encoding="utf-8"))
            out[c.category] = c
    return out


def load_checklists() -> dict[str, Checklist]:
    """Every category: the shipped checklists, then the user's files (which win on the same category)."""
    out = dict(_shipped())
    folder = user_checklist_dir()
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            c = Checklist.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, OSError) as exc:
            raise UsageError(f"bad checklist file {path}: {exc}".splitlines()[0]) from None
        out[c.category] = c
    return out


def get_checklist(category: str) -> Checklist:
    checklists = load_checklists()
    if category not in checklists:
        raise UsageError(f"unknown checklist category {category!r}; choose one of: {', '.join(sorted(checklists))}")
    return checklists[category]


def guess_category(instruction: str | None) -> str:
    """The category whose keyword occurs earliest in `instruction`; `heuristic_text_generation` if none does."""
    text = (instruction or "").lower()
    best, best_at = FALLBACK, len(text) + 1
    for c in load_checklists().values():
        for kw in c.keywords:
            pattern = rf"\b{re.escape(kw.lower())}\b" if kw[:1].isalnum() and kw[-1:].isalnum() else re.escape(kw.lower())
            m = re.search(pattern, text)
            if m and m.start() < best_at:
                best, best_at = c.category, m.start()
    return best


def checklist_schema(n: int) -> dict:
    """Exactly `n` entries, each a reason (first, so the score follows from it) and a score on the five levels."""
    return {
        "type": "object",
        "properties": {"items": {
            "type": "array", "minItems": n, "maxItems": n,
            "items": {"type": "object",
                      "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": REASON_CHARS},
                                     "score": {"enum": LEVELS}},
                      "required": ["reason", "score"], "additionalProperties": False},
        }},
        "required": ["items"],
        "additionalProperties": False,
    }


def load_weights(category: str, n: int) -> list[float] | None:
    """Calibrated weights for `category` (summing to 100), or None when there are none for `n` items."""
    path = weights_path()
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text()).get(category)
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read checklist weights {path}: {exc}") from None
    weights = (saved or {}).get("weights")
    return [float(w) for w in weights] if weights and len(weights) == n else None


class ChecklistItem(BaseModel):
    question: str
    score: float
    reason: str
    weight: float


class ChecklistResult(JudgeResult):
    judge: str = "checklist"
    category: str
    weights: str = Field(description="'equal' or 'calibrated'")
    items: list[ChecklistItem]
    truncated_input: bool = False


class ChecklistJudge(Judge):
    """All of a category's items in one constrained call; weighted sum on 0-100."""

    name = "checklist"
    needs_engine = True

    def __init__(self, temperature: float = 0.0):
        self.temperature = temperature

    def check(self, sample: JudgeInput) -> None:
        require(sample, self.name, "instruction")
        if sample.category:
            get_checklist(sample.category)

    def request(self, sample: JudgeInput, checklist: Checklist, call: CallRecorder) -> tuple[ChatRequest, bool]:
        engine, n = call.engine, len(checklist.items)
        max_tokens = 20 + TOKENS_PER_ITEM * n
        overhead = engine.count_tokens(render(TEMPLATE, instruction=sample.instruction, response="",
                                              items=checklist.items)) + 64
        text, cut = fit_text(engine, sample.text, engine.context_window - overhead - max_tokens)
        prompt = render(TEMPLATE, instruction=sample.instruction, response=text, items=checklist.items)
        return ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=max_tokens,
                           temperature=self.temperature, json_schema=checklist_schema(n)), cut

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder) -> list[ChecklistResult | JudgeError]:
        lists = [get_checklist(s.category or guess_category(s.instruction)) for s in samples]
        built = [self.request(s, c, call) for s, c in zip(samples, lists)]
        replies = ask_json(call, "judge:checklist", [r for r, _ in built], template=TEMPLATE)
        out: list[ChecklistResult | JudgeError] = []
        for checklist, (_, cut), reply in zip(lists, built, replies):
            if isinstance(reply, JudgeReplyError):
                out.append(error_of(self.name, reply))
                continue
            n = len(checklist.items)
            calibrated = load_weights(checklist.category, n)
            weights = calibrated or [100 / n] * n
            items = [ChecklistItem(question=q, score=float(r["score"]), reason=r["reason"], weight=round(w, 4))
                     for q, r, w in zip(checklist.items, reply["items"], weights)]
            total = min(100.0, max(0.0, sum(i.score * w for i, w in zip(items, weights))))
            out.append(ChecklistResult(score=round(total, 4), category=checklist.category,
                                       weights="calibrated" if calibrated else "equal", items=items,
                                       truncated_input=cut))
        return out


# calibration

class Annotation(BaseModel):
    """One human-scored response: its checklist item scores (0-1) and the human's overall score (0-100).

    `group`: responses to one instruction (a document and its degraded twins); the ranking share compares
    responses within a group only, when groups are given."""

    category: str
    item_scores: list[float]
    human_score: float
    group: str | None = None


class Calibration(BaseModel):
    """Fitted weights of one category and how well they explain the human scores."""

    category: str
    n: int = Field(description="annotations used")
    weights: list[float] = Field(description="rescaled to sum to 100")
    raw_weights: list[float] = Field(description="the least-squares fit, each >= MIN_WEIGHT")
    r2: float
    pearson: float | None
    r2_before: float = Field(0.0, description="R² of the equal-weight checklist score")
    ranked_before: float | None = Field(None, description="share of (better, worse)-labelled pairs the equal "
                                                          "weights rank the same way")
    ranked_after: float | None = Field(None, description="the same with the fitted weights")


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min ||a x - b|| subject to x >= 0 (Lawson-Hanson active set)."""
    try:
        from scipy.optimize import nnls
        return nnls(a, b)[0]
    except ImportError:
        pass
    n = a.shape[1]
    passive = np.zeros(n, dtype=bool)
    x = np.zeros(n)
    tol = 1e-10 * max(1.0, float(np.abs(a).max(initial=0)))
    for _ in range(30 * n):
        grad = a.T @ (b - a @ x)
        if passive.all() or (grad[~passive] <= tol).all():
            break
        passive[np.argmax(np.where(passive, -np.inf, grad))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > tol).all():
                x = z
                break
            bad = passive & (z <= tol)
            alpha = np.min(x[bad] / (x[bad] - z[bad]))
            x = x + alpha * (z - x)
            passive &= x > tol
    return x


def fit_weights(scores: np.ndarray, human: np.ndarray, floor: float = MIN_WEIGHT) -> np.ndarray:
    """Least squares of `human` on `scores` (no intercept) with every weight >= `floor`.

    Solved as non-negative least squares on the shifted weights v = w - floor.
    """
    shifted = human - scores @ np.full(scores.shape[1], floor)
    return _nnls(scores, shifted) + floor


def r_squared(pred: np.ndarray, y: np.ndarray) -> float:
    """1 - SS_res / SS_tot of `pred` as a prediction of `y` (0 when `y` is constant)."""
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return 1 - float(((y - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else 0.0


def ranked(pred: np.ndarray, y: np.ndarray, groups: Sequence[str | None] | None = None) -> float | None:
    """Share of pairs with different labels (within a group, where groups are given) that `pred` orders as `y`
    does; a predicted tie counts as wrong. None when no pair differs."""
    right = total = 0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] > y[j] and (groups is None or groups[i] == groups[j]):
                total += 1
                right += bool(pred[i] > pred[j])
    return round(right / total, 4) if total else None


def calibrate(annotations: Iterable[Annotation | dict], save: bool = True) -> list[Calibration]:
    """Fit checklist weights per category from human overall scores; save them unless `save` is False.

    Args:
        annotations: `Annotation`s (or dicts with category, item_scores, human_score).
        save: write the weights to `<data dir>/judges/checklist_weights.json` (merged with earlier ones).
    Returns:
        one `Calibration` per category: R² of the fit (and of equal weights), Pearson r of weighted scores vs
        human scores, and the share of differently-labelled pairs ranked right before and after.
    """
    rows: dict[str, list[Annotation]] = {}
    for i, a in enumerate(annotations, start=1):
        try:
            a = a if isinstance(a, Annotation) else Annotation.model_validate(a)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "annotation"
            raise UsageError(f"annotation {i}: {where}: {first['msg']}") from None
        rows.setdefault(a.category, []).append(a)
    if not rows:
        raise UsageError("no annotations to calibrate on")
    out = []
    for category, anns in rows.items():
        n = len(anns[0].item_scores)
        known = load_checklists().get(category)
        if known is not None and len(known.items) != n:
            raise UsageError(f"category {category!r} has {len(known.items)} checklist items, annotations have {n}")
        if any(len(a.item_scores) != n for a in anns):
            raise UsageError(f"annotations of category {category!r} have different item counts")
        if len(anns) < n:
            raise UsageError(f"category {category!r}: {len(anns)} annotations cannot fit {n} weights; need at least {n}")
        x = np.array([a.item_scores for a in anns], dtype=float)
        y = np.array([a.human_score for a in anns], dtype=float)
        if (x < 0).any() or (x > 1).any():
            raise UsageError(f"category {category!r}: item scores must be between 0 and 1")
        raw = fit_weights(x, y)
        pred = x @ raw
        equal = x @ np.full(n, 100 / n)
        pearson = float(np.corrcoef(pred, y)[0, 1]) if pred.std() > 0 and y.std() > 0 else None
        weights = raw * 100 / raw.sum()
        groups = [a.group for a in anns]
        out.append(Calibration(category=category, n=len(anns), weights=[round(float(w), 6) for w in weights],
                               raw_weights=[round(float(w), 6) for w in raw], r2=round(r_squared(pred, y), 6),
                               pearson=None if pearson is None else round(pearson, 6),
                               r2_before=round(r_squared(equal, y), 6), ranked_before=ranked(equal, y, groups),
                               ranked_after=ranked(pred, y, groups)))
    if save:
        path = weights_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved.update({c.category: c.model_dump() for c in out})
        write_atomic(path, json.dumps(saved, indent=2))
    return out
