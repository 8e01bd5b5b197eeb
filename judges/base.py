"""The judge contract, the typed inputs and results judges exchange, and validated JSON calls.

A `Judge` scores a batch of `JudgeInput`s (batching is how vLLM stays busy) and returns, per
input, its typed `JudgeResult` or a `JudgeError`. Judges that ask a model go through
`ask_json`: every reply is parsed and validated against the same JSON schema the engine was
constrained with (plus any extra check), retried up to twice, and otherwise reported as an
error. A judge never makes up a score.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Engine
from writer.errors import EngineError, UsageError

__all__ = ["Judge", "JudgeInput", "JudgeResult", "JudgeError", "JudgeReplyError", "ask_json", "fit_text"]

MAX_RETRIES = 2


class JudgeInput(BaseModel):
    """What a judge may look at. Which fields a judge needs is checked by `Judge.check`."""

    model_config = ConfigDict(extra="forbid")

    text: str
    instruction: str | None = None
    words: int | None = Field(None, ge=1, description="Required length in words (LongBench-Write's x).")
    reference: str | None = None
    rubric: list[str] | None = None
    plan_titles: list[str] | None = None
    category: str | None = Field(None, description="Checklist category; guessed from the instruction when None.")


class JudgeResult(BaseModel):
    """Base of every judge's result: the judge's name and its score on 0-100 (None: no single score)."""

    judge: str
    score: float | None = Field(None, ge=0, le=100)

    def details(self) -> dict:
        """Everything but the name and score, as stored in the judgments table."""
        return self.model_dump(mode="json", exclude={"judge", "score"})


class JudgeError(BaseModel):
    """A judge that could not give a valid verdict: why, after how many attempts, and its last replies."""

    judge: str
    error: str
    attempts: int = 0
    replies: list[str] = Field(default_factory=list)


class JudgeReplyError(EngineError):
    """A judge model's reply failed validation on every attempt."""

    def __init__(self, message: str, attempts: int, replies: list[str]):
        super().__init__(message)
        self.attempts = attempts
        self.replies = replies


class Judge(abc.ABC):
    """Scores texts. Subclasses set `name` (and `needs_engine` when they call a model)."""

    name: ClassVar[str] = "judge"
    needs_engine: ClassVar[bool] = False

    def check(self, sample: JudgeInput) -> None:
        """Raise `UsageError` when `sample` lacks what this judge needs. Default: nothing needed."""

    @abc.abstractmethod
    def score(self, samples: Sequence[JudgeInput], call: CallRecorder | None) -> list[JudgeResult | JudgeError]:
        """One result (or error) per sample, in order. `call` runs engine batches (None for rule judges)."""


def require(sample: JudgeInput, judge: str, *fields: str) -> None:
    missing = [f for f in fields if not getattr(sample, f)]
    if missing:
        raise UsageError(f"the {judge} judge needs {' and '.join(missing)}")


def fit_text(engine: Engine, text: str, budget_tokens: int) -> tuple[str, bool]:
    """`text`, or its head and tail with an omission marker when it exceeds `budget_tokens`.

    Returns the text and whether it was shortened, so results can say the judge saw only part.
    """
    if engine.count_tokens(text) <= budget_tokens:
        return text, False
    words = text.split()
    keep = max(20, int(len(words) * budget_tokens / max(1, engine.count_tokens(text))) - 10)
    while keep > 20:
        head, tail = words[: keep * 2 // 3], words[len(words) - keep // 3:]
        short = " ".join(head) + f"\n\n[... {len(words) - len(head) - len(tail)} words omitted ...]\n\n" + " ".join(tail)
        if engine.count_tokens(short) <= budget_tokens:
            return short, True
        keep = int(keep * 0.85)
    return " ".join(words[:20]), True


def parse_reply(text: str, schema: dict, check: Callable[[Any], str | None] | None = None) -> Any:
    """The reply as JSON valid under `schema` and `check` (which returns a problem or None); else ValueError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"reply is not JSON ({exc.msg} at char {exc.pos})") from None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "reply"
        if exc.validator in ("minItems", "maxItems"):
            message = f"{len(exc.instance)} items where {exc.validator} is {exc.validator_value}"
        else:
            shown = json.dumps(exc.instance, ensure_ascii=False)
            message = exc.message.replace(repr(exc.instance), shown if len(shown) <= 60 else shown[:57] + "...")
        raise ValueError(f"{where}: {message[:200]}") from None
    problem = check(data) if check else None
    if problem:
        raise ValueError(problem)
    return data


def ask_json(call: CallRecorder, stage: str, requests: list[ChatRequest], *, template: str,
             check: Callable[[Any], str | None] | None = None) -> list[Any]:
    """Run `requests` (each with a `json_schema`) and return, per request, its validated JSON or a JudgeReplyError.

    Failed requests are sent again (up to MAX_RETRIES times, warmer and reseeded so the
    model can take another path); a request that never validates yields a JudgeReplyError.
    """
    results: list[Any] = [None] * len(requests)
    replies: list[list[str]] = [[] for _ in requests]
    errors: list[str] = [""] * len(requests)
    pending = list(range(len(requests)))
    for attempt in range(MAX_RETRIES + 1):
        batch = [requests[i] if attempt == 0 else requests[i].model_copy(
            update={"temperature": max(0.7, requests[i].temperature), "seed": 1000 * attempt + i}) for i in pending]
        completions = call(stage, batch, template=template)
        still = []
        for i, comp in zip(pending, completions):
            replies[i].append(comp.text[:2000])
            try:
                results[i] = parse_reply(comp.text, requests[i].json_schema or {}, check)
            except ValueError as exc:
                errors[i] = str(exc) + (" (reply cut at max_tokens)" if comp.finish_reason == "length" else "")
                still.append(i)
        pending = still
        if not pending:
            break
    for i in pending:
        results[i] = JudgeReplyError(f"invalid judge reply after {MAX_RETRIES + 1} attempts: {errors[i]}",
                                     MAX_RETRIES + 1, replies[i])
    return results


def error_of(judge: str, exc: JudgeReplyError) -> JudgeError:
    return JudgeError(judge=judge, error=str(exc), attempts=exc.attempts, replies=exc.replies)
