"""Rule metrics: no model, fast enough to run on every section while composing.

Tokens are lower-cased words (runs of letters/digits) with each CJK character a token of
its own; `words` is `writer.text.lengths.count_words` (LongBench-Write's count).

- distinct-n: distinct n-grams / all n-grams (1.0 when the text has no n-grams).
- repeated_4gram_share: share of 4-gram occurrences whose 4-gram occurs more than once.
- longest_repeated_span: the longest run of tokens that occurs twice (occurrences may overlap).
- duplicated_paragraphs: paragraphs (blank-line separated, of 5+ tokens) equal, after
  normalising case and spacing, to an earlier one.
- compression_ratio: UTF-8 bytes / zlib-compressed bytes; higher means more repetitive
  (ordinary prose is about 2-3 at these sizes, a looping text far more).
- plan coverage: the share of planned section titles found in the text in plan order.
- defects: what the compose checks cut from a section (`writer.text.defects`): headings inside a
  section, conclusions before the last one, chatter about the text, echoes of our prompts,
  off-task paragraphs, sentences repeated from earlier sections, restarts of the topic; counted
  per `## ` section of the document.

The single `score` is 100 * (1 - repeated_4gram_share), times plan coverage when titles are given,
times (1 - 0.05 per defect).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence

from judges.base import Judge, JudgeInput, JudgeResult
from writer.calls import CallRecorder
from writer.text.defects import count_document
from writer.text.lengths import count_words
from writer.text.words import tokens

__all__ = ["RulesJudge", "RulesResult", "rule_metrics", "tokens", "distinct_n", "repeated_ngram_share",
           "longest_repeated_span", "duplicated_paragraphs", "compression_ratio", "plan_coverage"]

def _ngrams(toks: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]


def distinct_n(toks: list[str], n: int) -> float:
    grams = _ngrams(toks, n)
    return len(set(grams)) / len(grams) if grams else 1.0


def repeated_ngram_share(toks: list[str], n: int = 4) -> float:
    grams = _ngrams(toks, n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c for c in counts.values() if c > 1) / len(grams)


def _has_repeat(ids: list[int], length: int) -> bool:
    """Whether some run of `length` ids occurs twice (rolling hash, then exact comparison)."""
    mod, base = (1 << 61) - 1, 1_000_003
    power = pow(base, length, mod)
    h = 0
    seen: dict[int, list[int]] = {}
    for i, x in enumerate(ids):
        h = (h * base + x + 1) % mod
        if i >= length:
            h = (h - (ids[i - length] + 1) * power) % mod
        if i >= length - 1:
            start = i - length + 1
            for other in seen.get(h, ()):
                if ids[other:other + length] == ids[start:start + length]:
                    return True
            seen.setdefault(h, []).append(start)
    return False


def longest_repeated_span(toks: list[str]) -> int:
    """Length in tokens of the longest span that occurs at least twice (0 if no token repeats)."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(t, len(vocab)) for t in toks]
    lo, hi = 0, max(0, len(ids) - 1)
    while lo < hi:  # repeats of length L imply repeats of every shorter length: binary search
        mid = (lo + hi + 1) // 2
        if _has_repeat(ids, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def duplicated_paragraphs(text: str, min_tokens: int = 5) -> int:
    seen: set[str] = set()
    dupes = 0
    for para in re.split(r"\n\s*\n", text):
        toks = tokens(para)
        if len(toks) < min_tokens:
            continue
        key = " ".join(toks)
        dupes += key in seen
        seen.add(key)
    return dupes


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw, 9)) if raw else 0.0


def plan_coverage(text: str, titles: list[str]) -> tuple[float, list[str]]:
    """Share of `titles` found in `text` in order (each searched after the previous match), and the missing ones."""
    flat = " ".join(tokens(text))
    pos, missing = 0, []
    for title in titles:
        key = " ".join(tokens(title))
        at = flat.find(key, pos) if key else -1
        if at < 0:
            missing.append(title)
        else:
            pos = at + len(key)
    return (1 - len(missing) / len(titles) if titles else 1.0), missing


class RulesResult(JudgeResult):
    judge: str = "rules"
    words: int
    distinct_1: float
    distinct_2: float
    distinct_4: float
    repeated_4gram_share: float
    longest_repeated_span: int
    duplicated_paragraphs: int
    compression_ratio: float
    plan_coverage: float | None = None
    missing_sections: list[str] = []
    defects: dict[str, int] = {}  # what the compose checks find, by kind (writer.text.defects): headings, ...
    defect_count: int = 0


DEFECT_PENALTY = 0.05  # share of the score each defect takes off: 20 defects zero it


def rule_metrics(text: str, plan_titles: list[str] | None = None, instruction: str = "") -> RulesResult:
    """Every rule metric of `text` (plan coverage only when `plan_titles` is given), and the defects the compose
    checks look for (inner headings, early conclusions, chatter, prompt echoes, off-task and repeated text), per
    section of the document, so that exports can filter on them. Each defect lowers the score."""
    toks = tokens(text)
    share = repeated_ngram_share(toks, 4)
    coverage, missing = plan_coverage(text, plan_titles) if plan_titles else (None, [])
    defects = count_document(text, plan_titles or (), instruction)
    total = sum(defects.values())
    score = 100 * (1 - share) * (coverage if coverage is not None else 1.0) * max(0.0, 1 - DEFECT_PENALTY * total)
    return RulesResult(
        score=round(score, 4), words=count_words(text), distinct_1=round(distinct_n(toks, 1), 4),
        distinct_2=round(distinct_n(toks, 2), 4), distinct_4=round(distinct_n(toks, 4), 4),
        repeated_4gram_share=round(share, 4), longest_repeated_span=longest_repeated_span(toks),
        duplicated_paragraphs=duplicated_paragraphs(text), compression_ratio=round(compression_ratio(text), 4),
        plan_coverage=None if coverage is None else round(coverage, 4), missing_sections=missing,
        defects=dict(sorted(defects.items())), defect_count=total,
    )


class RulesJudge(Judge):
    """Repetition, diversity and plan-coverage metrics; no model involved."""

    name = "rules"

    def score(self, samples: Sequence[JudgeInput], call: CallRecorder | None = None) -> list[RulesResult]:
        return [rule_metrics(s.text, s.plan_titles, s.instruction or "") for s in samples]
