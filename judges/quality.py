"""Quality: LongBench-Write's six-dimension LLM judge.

The judge writes a brief analysis, then rates relevance, accuracy, coherence, clarity,
breadth and depth, and reading experience, each an integer 1-5, in one JSON-schema
constrained reply. As in LongBench-Write, S_q = mean over the dimensions of (score - 1) * 25,
on 0-100. The prompt tells the judge to ignore length (that is the length judge's job).
"""

from __future__ import annotations

from collections.abc import Sequence

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
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message

__all__ = ["QualityJudge", "QualityResult", "DIMENSIONS", "quality_schema", "quality_score"]

TEMPLATE = "judges/quality.j2"
DIMENSIONS = ("relevance", "accuracy", "coherence", "clarity", "breadth_and_depth", "reading_experience")
ANALYSIS_CHARS = 400
MAX_TOKENS = 260  # ~100 tokens of analysis plus six scores and the JSON around them


def quality_schema() -> dict:
    """The reply's schema: the analysis first (so the scores follow from it), then each dimension 1..5."""
    props: dict = {"analysis": {"type": "string", "minLength": 1, "maxLength": ANALYSIS_CHARS}}
    props.update({d: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for d in DIMENSIONS})
    return {"type": "object", "properties": props, "required": ["analysis", *DIMENSIONS],
            "additionalProperties": False}


def quality_score(dimensions: dict[str, int]) -> float:
    """S_q: mean of (score - 1) * 25 over the dimensions."""
    return sum((dimensions[d] - 1) * 25 for d in DIMENSIONS) / len(DIMENSIONS)


class QualityResult(JudgeResult):
    judge: str = "quality"
    dimensions: dict[str, int]
    analysis: str
    truncated_input: bool = False


class QualityJudge(Judge):
    """Six dimensions, 1-5 each, from one constrained call per text."""

    name = "quality"
    needs_engine = True

    def __init__(self, temperature: float = 0.0, max_tokens: int = MAX_TOKENS):
        self.temperature = temperature
        self.max_tokens = max_tokens

    def check(self, sample: JudgeInput) -> None:
        require(sample, self.name, "instruction")

    def request(self, sample: JudgeInput, call: CallRecorder) -> tuple[ChatRequest, bool]:
        engine = call.engine
        overhead = engine.count_tokens(render(TEMPLATE, instruction=sample.instruction, response="")) + 64
        text, cut = fit_text(engine, sample.text, engine.context_window - overhead - self.max_tokens)
        prompt = render(TEMPLATE, instruction=sample.instruction, response=text)
        return ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=self.max_tokens,
                           temperature=self.temperature, json_schema=quality_schema()), cut

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder) -> list[QualityResult | JudgeError]:
        built = [self.request(s, call) for s in samples]
        replies = ask_json(call, "judge:quality", [r for r, _ in built], template=TEMPLATE)
        out: list[QualityResult | JudgeError] = []
        for (_, cut), reply in zip(built, replies):
            if isinstance(reply, JudgeReplyError):
                out.append(error_of(self.name, reply))
                continue
            dims = {d: int(reply[d]) for d in DIMENSIONS}
            out.append(QualityResult(score=round(quality_score(dims), 4), dimensions=dims,
                                     analysis=reply["analysis"], truncated_input=cut))
        return out
