"""Length: LongBench-Write's S_l, how close the output's length is to the required one.

For required length x and output length y (in words):
    S_l = 100 * max(0, 1 - (y/x - 1) / 3)   if y > x
    S_l = 100 * max(0, 1 - (x/y - 1) / 2)   if y <= x   (and 0 when y = 0)
so writing too little is punished harder than writing too much: at x = 1000, 2500 words and
500 words both score 50, 4000 words scores 0. Words are counted as LongBench-Write counts
them (`writer.text.lengths.count_words`): each CJK character is one word, plus every
whitespace-separated run of other text holding a letter or digit (English words, numbers).
The required length is `words`, else the length the instruction states.
"""

from __future__ import annotations

from collections.abc import Sequence

from judges.base import Judge, JudgeInput, JudgeResult
from writer.calls import CallRecorder
from writer.errors import UsageError
from writer.text.lengths import count_words, parse_target_words

__all__ = ["LengthJudge", "LengthResult", "length_score"]


def length_score(required: int, words: int) -> float:
    """S_l on 0-100 for `required` words asked (x) and `words` written (y)."""
    if required <= 0:
        raise UsageError(f"the required length must be positive, got {required}")
    if words <= 0:
        return 0.0
    if words > required:
        return 100 * max(0.0, 1 - (words / required - 1) / 3)
    return 100 * max(0.0, 1 - (required / words - 1) / 2)


class LengthResult(JudgeResult):
    judge: str = "length"
    required_words: int
    words: int


def required_words(sample: JudgeInput) -> int | None:
    if sample.words:
        return sample.words
    found = parse_target_words(sample.instruction or "")
    return found.words if found else None


class LengthJudge(Judge):
    """LongBench-Write S_l; no model involved."""

    name = "length"

    def check(self, sample: JudgeInput) -> None:
        if required_words(sample) is None:
            raise UsageError("the length judge needs --words or an instruction that states a length")

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder | None = None) -> list[LengthResult]:
        out = []
        for s in samples:
            x, y = required_words(s), count_words(s.text)
            out.append(LengthResult(score=round(length_score(x, y), 4), required_words=x, words=y))
        return out
