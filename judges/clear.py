"""CLEAR (ExpertLongBench): rubric-item extraction from output and reference, then containment both ways.

For every rubric item the judge model extracts what the output says about it and what the
reference says about it ("N/A" when a text says nothing), one constrained call each, all
in one batch. Each pair with content on both sides then gets two yes/no containment calls:
is the output's content contained in the reference's (precision), and the reference's in
the output's (recall). Pairs with an "N/A" are scored by rule, with no call: 1 for both
when both are N/A, else 0 for both. Per item F1 = 2PR/(P+R); the overall precision and
recall are the item means, the overall F1 their harmonic mean, and `score` = 100 * F1.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

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

__all__ = ["ClearJudge", "ClearResult", "ClearItem", "is_na", "pair_scores", "f1"]

EXTRACT = "judges/clear_extract.j2"
CONTAIN = "judges/clear_contain.j2"
CONTENT_CHARS = 300
EXTRACT_TOKENS = 110
CONTAIN_TOKENS = 12
EXTRACT_SCHEMA = {"type": "object", "properties": {"content": {"type": "string", "minLength": 1,
                                                                "maxLength": CONTENT_CHARS}},
                  "required": ["content"], "additionalProperties": False}
CONTAIN_SCHEMA = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"],
                  "additionalProperties": False}


def is_na(content: str) -> bool:
    return content.strip().strip(".\"'").strip().upper() in {"N/A", "NA", "NONE", ""}


def pair_scores(output_content: str, reference_content: str) -> tuple[float, float] | None:
    """(precision, recall) fixed by the N/A rule, or None when both sides have content and the judge must decide."""
    out_na, ref_na = is_na(output_content), is_na(reference_content)
    if out_na and ref_na:
        return 1.0, 1.0
    if out_na or ref_na:
        return 0.0, 0.0
    return None


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


class ClearItem(BaseModel):
    item: str
    output_content: str
    reference_content: str
    precision: float
    recall: float
    f1: float
    by_rule: bool


class ClearResult(JudgeResult):
    judge: str = "clear"
    precision: float
    recall: float
    f1: float
    items: list[ClearItem]


class ClearJudge(Judge):
    """Two extraction calls per rubric item, then two containment calls per item with content on both sides."""

    name = "clear"
    needs_engine = True

    def check(self, sample: JudgeInput) -> None:
        require(sample, self.name, "rubric", "reference")

    def _extract(self, kind: str, item: str, text: str, call: CallRecorder) -> ChatRequest:
        engine = call.engine
        overhead = engine.count_tokens(render(EXTRACT, kind=kind, item=item, text="")) + 64
        text, _ = fit_text(engine, text, engine.context_window - overhead - EXTRACT_TOKENS)
        return ChatRequest(messages=[Message(role="user", content=render(EXTRACT, kind=kind, item=item, text=text))],
                           max_tokens=EXTRACT_TOKENS, temperature=0.0, json_schema=EXTRACT_SCHEMA)

    @staticmethod
    def _contain(item: str, claim: str, source: str) -> ChatRequest:
        prompt = render(CONTAIN, item=item, claim=claim, source=source)
        return ChatRequest(messages=[Message(role="user", content=prompt)], max_tokens=CONTAIN_TOKENS,
                           temperature=0.0, json_schema=CONTAIN_SCHEMA)

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder) -> list[ClearResult | JudgeError]:
        # 1. extraction: (sample, item, side) -> content
        keys, requests = [], []
        for si, s in enumerate(samples):
            for ii, item in enumerate(s.rubric or []):
                for side, kind, text in (("output", "response", s.text), ("reference", "reference", s.reference)):
                    keys.append((si, ii, side))
                    requests.append(self._extract(kind, item, text or "", call))
        replies = ask_json(call, "judge:clear", requests, template=EXTRACT)
        contents: dict[tuple, str] = {}
        failed: dict[int, JudgeReplyError] = {}
        for key, reply in zip(keys, replies):
            if isinstance(reply, JudgeReplyError):
                failed.setdefault(key[0], reply)
            else:
                contents[key] = reply["content"].strip()
        # 2. containment for pairs the N/A rule does not settle
        keys, requests = [], []
        for si, s in enumerate(samples):
            if si in failed:
                continue
            for ii, item in enumerate(s.rubric or []):
                out_c, ref_c = contents[(si, ii, "output")], contents[(si, ii, "reference")]
                if pair_scores(out_c, ref_c) is None:
                    keys += [(si, ii, "precision"), (si, ii, "recall")]
                    requests += [self._contain(item, out_c, ref_c), self._contain(item, ref_c, out_c)]
        replies = ask_json(call, "judge:clear", requests, template=CONTAIN) if requests else []
        verdicts: dict[tuple, float] = {}
        for key, reply in zip(keys, replies):
            if isinstance(reply, JudgeReplyError):
                failed.setdefault(key[0], reply)
            else:
                verdicts[key] = 1.0 if reply["answer"] == "yes" else 0.0
        # 3. per item and overall
        out: list[ClearResult | JudgeError] = []
        for si, s in enumerate(samples):
            if si in failed:
                out.append(error_of(self.name, failed[si]))
                continue
            items = []
            for ii, item in enumerate(s.rubric or []):
                out_c, ref_c = contents[(si, ii, "output")], contents[(si, ii, "reference")]
                ruled = pair_scores(out_c, ref_c)
                p, r = ruled if ruled is not None else (verdicts[(si, ii, "precision")], verdicts[(si, ii, "recall")])
                items.append(ClearItem(item=item, output_content=out_c, reference_content=ref_c, precision=p,
                                       recall=r, f1=f1(p, r), by_rule=ruled is not None))
            p = sum(i.precision for i in items) / len(items)
            r = sum(i.recall for i in items) / len(items)
            out.append(ClearResult(score=round(100 * f1(p, r), 4), precision=round(p, 4), recall=round(r, 4),
                                   f1=round(f1(p, r), 4), items=items))
        return out
