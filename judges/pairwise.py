"""Pairwise preference: which of two texts written for one instruction is the better document?

Each pair is judged twice, once in each order (A/B, then B/A), as WriteHERE's and
Arena-Write's evaluations do, because small judges prefer a position. A verdict counts only
when both orders name the same text; otherwise the pair is a tie, and so is a pair the judge
itself calls a tie. Both replies (reason and verdict) are kept. The prompt tells the judge to
ignore length: `length` (S_l) measures that.

Both orders of every pair go to the engine as one batch. A text too long for the window is
shown as its head and tail (`fit_text`), and the verdict says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from judges.base import Judge, JudgeInput, JudgeReplyError, ask_json, fit_text
from prompts import render
from writer.calls import CallRecorder
from writer.engines.base import ChatRequest, Message
from writer.errors import UsageError

__all__ = ["PairInput", "PairVerdict", "OrderVerdict", "PairwiseJudge", "compare", "pairwise_schema", "pair_score"]

TEMPLATE = "judges/pairwise.j2"
MAX_TOKENS = 200
REASON_CHARS = 400
Side = Literal["first", "second", "tie"]


def pairwise_schema() -> dict:
    return {"type": "object",
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": REASON_CHARS},
                           "better": {"type": "string", "enum": ["A", "B", "tie"]}},
            "required": ["reason", "better"], "additionalProperties": False}


class PairInput(BaseModel):
    """Two texts for one instruction; `first` and `second` name them in the verdict."""

    instruction: str
    first: str
    second: str


class OrderVerdict(BaseModel):
    """The judge's reply in one order: which text it preferred (by name, not position), and why."""

    shown_first: Side
    preferred: Side
    reason: str
    error: str | None = None


class PairVerdict(BaseModel):
    """Both orders, and the verdict that counts: "first", "second", or "tie" when they disagree."""

    winner: Side
    consistent: bool  # both orders gave the same non-tie verdict
    orders: list[OrderVerdict]
    truncated_input: bool = False


def _request(engine, instruction: str, a: str, b: str, temperature: float) -> tuple[ChatRequest, bool]:
    overhead = engine.count_tokens(render(TEMPLATE, instruction=instruction, a="", b="")) + 64
    room = max(200, (engine.context_window - overhead - MAX_TOKENS) // 2)
    a_text, cut_a = fit_text(engine, a, room)
    b_text, cut_b = fit_text(engine, b, room)
    prompt = render(TEMPLATE, instruction=instruction, a=a_text, b=b_text)
    return ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=MAX_TOKENS,
                       temperature=temperature, json_schema=pairwise_schema()), cut_a or cut_b


def compare(pairs: Sequence[PairInput], call: CallRecorder, temperature: float = 0.0) -> list[PairVerdict]:
    """Judge every pair in both orders, in one engine batch; a verdict only where both orders agree."""
    built = []
    for p in pairs:
        built.append(_request(call.engine, p.instruction, p.first, p.second, temperature))
        built.append(_request(call.engine, p.instruction, p.second, p.first, temperature))
    replies = ask_json(call, "judge:pairwise", [r for r, _ in built], template=TEMPLATE)
    out = []
    for k in range(len(pairs)):
        orders = []
        for shown_first, reply in (("first", replies[2 * k]), ("second", replies[2 * k + 1])):
            if isinstance(reply, JudgeReplyError):
                orders.append(OrderVerdict(shown_first=shown_first, preferred="tie", reason="", error=str(reply)))
                continue
            other = "second" if shown_first == "first" else "first"
            preferred = {"A": shown_first, "B": other, "tie": "tie"}[reply["better"]]
            orders.append(OrderVerdict(shown_first=shown_first, preferred=preferred, reason=reply["reason"]))
        agree = orders[0].preferred == orders[1].preferred and orders[0].preferred != "tie"
        out.append(PairVerdict(winner=orders[0].preferred if agree else "tie", consistent=agree, orders=orders,
                               truncated_input=built[2 * k][1] or built[2 * k + 1][1]))
    return out


def pair_score(winner: Side) -> float:
    """The verdict from the first text's side on 0-100, as the judgments table stores it: 100 won, 0 lost, 50 tie."""
    return {"first": 100.0, "second": 0.0, "tie": 50.0}[winner]


class PairwiseJudge(Judge):
    """Registered so `pairwise` is a judge name (`--judges ...,pairwise` in dataset jobs); it compares two
    texts, so it runs through `judges.judge_pair`/`judge_pairs` (or `compare`), never on one text."""

    name = "pairwise"
    needs_engine = True

    def check(self, sample: JudgeInput) -> None:
        raise UsageError("the pairwise judge compares two texts: use judge_pair (writer judge A --against B)")

    def score(self, samples, call):
        raise UsageError("the pairwise judge compares two texts: use judge_pair (writer judge A --against B)")
