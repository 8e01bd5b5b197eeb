"""Pairwise preference: which of two texts written for one instruction is the better document?

Each pair is judged twice, once in each order (A/B, then B/A), as WriteHERE's and
Arena-Write's evaluations do, because small judges prefer a position. A verdict counts only
when both orders name the same text; otherwise the pair is a tie, and so is a pair the judge
itself calls a tie. Both replies (reason and verdict) are kept. The prompt tells the judge to
ignore length: `length` (S_l) measures that.

Both orders of every pair go to the engine as one batch. A text too long for the window is
shown as its head and tail (`fit_text`), and the verdict says so.

Where the engine reports log-probabilities, each order is also asked for the verdict alone, one
letter, and the judge's lean towards "A" is read from it (log P(A) - log P(B)). A judge that
prefers a position leans the same way in both orders; the first text's `margin`, half the
difference of its leans in its two positions, is what is left with that preference taken out.
`rule="margin"` decides by it (a win beyond MARGIN, else a tie); the default `rule="agree"`
decides by the two discrete verdicts, and the margin is stored beside them.
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
MARGIN = 0.25  # nats of the first text's lean, position taken out, for a win under rule="margin"
Rule = Literal["agree", "margin"]
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
    lean: float | None = None  # log P("A") - log P("B") when asked for the letter alone; None without logprobs


class PairVerdict(BaseModel):
    """Both orders, and the verdict that counts: "first", "second", or "tie" when they disagree."""

    winner: Side
    consistent: bool  # both orders gave the same non-tie verdict
    orders: list[OrderVerdict]
    truncated_input: bool = False
    margin: float | None = None  # the first text's lean, position taken out (see the module docstring)


def _requests(engine, instruction: str, a: str, b: str, temperature: float) -> tuple[ChatRequest, ChatRequest, bool]:
    """The reasoned request (reason, then verdict, as JSON) and the letter-only one, over the same texts: the
    two prompts differ only in their last line, so the engine's prefix cache reads the texts once."""
    overhead = engine.count_tokens(render(TEMPLATE, instruction=instruction, a="", b="")) + 64
    room = max(200, (engine.context_window - overhead - MAX_TOKENS) // 2)
    a_text, cut_a = fit_text(engine, a, room)
    b_text, cut_b = fit_text(engine, b, room)
    reasoned = render(TEMPLATE, instruction=instruction, a=a_text, b=b_text)
    letter = render(TEMPLATE, instruction=instruction, a=a_text, b=b_text, letter_only=True)
    return (ChatRequest(messages=[Message(role="user", content=reasoned)], max_tokens=MAX_TOKENS,
                        temperature=temperature, json_schema=pairwise_schema()),
            ChatRequest(messages=[Message(role="user", content=letter)], max_tokens=1, temperature=0.0,
                        choices=["A", "B"]),
            cut_a or cut_b)


def _lean(completion) -> float | None:
    scores = completion.choice_logprobs
    return scores["A"] - scores["B"] if "A" in scores and "B" in scores else None


def compare(pairs: Sequence[PairInput], call: CallRecorder, temperature: float = 0.0,
            rule: Rule = "agree", reasons: bool = True) -> list[PairVerdict]:
    """Judge every pair in both orders, in one engine batch; by `rule`, a verdict where both orders agree
    ("agree") or where the first text's margin, position taken out, passes MARGIN ("margin").
    `reasons=False` asks only for the letters (one token an order, no reason; needs an engine with logprobs):
    a verdict by margin at the cost of reading the texts."""
    built = []
    for p in pairs:
        built.append(_requests(call.engine, p.instruction, p.first, p.second, temperature))
        built.append(_requests(call.engine, p.instruction, p.second, p.first, temperature))
    if not reasons and not getattr(call.engine, "reports_logprobs", False):
        raise UsageError(f"{call.engine.name} reports no log-probabilities: the letter-only pairwise needs them")
    replies = (ask_json(call, "judge:pairwise", [r for r, _, _ in built], template=TEMPLATE) if reasons
               else [{"reason": "", "better": "tie"}] * len(built))
    leans: list[float | None] = [None] * len(built)
    if getattr(call.engine, "reports_logprobs", False):
        leans = [_lean(c) for c in call("judge:pairwise-letter", [r for _, r, _ in built], template=TEMPLATE)]
    out = []
    for k in range(len(pairs)):
        orders = []
        for j, shown_first in ((2 * k, "first"), (2 * k + 1, "second")):
            reply = replies[j]
            if isinstance(reply, JudgeReplyError):
                orders.append(OrderVerdict(shown_first=shown_first, preferred="tie", reason="", error=str(reply),
                                           lean=leans[j]))
                continue
            other = "second" if shown_first == "first" else "first"
            preferred = {"A": shown_first, "B": other, "tie": "tie"}[reply["better"]]
            orders.append(OrderVerdict(shown_first=shown_first, preferred=preferred, reason=reply["reason"],
                                       lean=leans[j]))
        agree = orders[0].preferred == orders[1].preferred and orders[0].preferred != "tie"
        margin = None if leans[2 * k] is None or leans[2 * k + 1] is None else (leans[2 * k] - leans[2 * k + 1]) / 2
        if (rule == "margin" or not reasons) and margin is not None:
            winner: Side = "first" if margin >= MARGIN else "second" if margin <= -MARGIN else "tie"
        else:
            winner = orders[0].preferred if agree else "tie"
        out.append(PairVerdict(winner=winner, consistent=agree, orders=orders, margin=margin,
                               truncated_input=built[2 * k][2] or built[2 * k + 1][2]))
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
