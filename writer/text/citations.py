"""Inline citations, `[n]`: finding them, checking that their passages support their sentences, dropping those
that do not.

A citation holds when its number is one of the run's passages and the passage supports the
sentence it is in. Support is lexical: at least half of the sentence's content words
(`writer.text.words.content_words`, matched on their stems, so "traded" meets "trade") occur
in the passage. It needs no model and catches what a small model does wrong with sources: a
number copied from the prompt onto a sentence the passage never said, or one that is no passage at
all. A marker after a sentence's full stop ("... in 1610. [2]") belongs to that sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from writer.text.words import content_words, stem, tokens

__all__ = ["Citation", "SUPPORT_SHARE", "check_citations", "cited_numbers", "failed_share", "supports", "strip_citations"]

SUPPORT_SHARE = 0.5  # share of a sentence's content words its passage must contain
MARKER = re.compile(r"\[(\d{1,4}(?:\s*[,;]\s*\d{1,4})*)\]")
# a sentence ends at .!? followed by space or the end; a dot inside a token ("notes.md", "3.5") is no end
_SENTENCE = re.compile(r"(?:[^.!?。！？\n]|[.!?](?=[^\s.!?]))+(?:[.!?。！？]+[\"”’)\]]*|$)")


@dataclass(frozen=True)
class Citation:
    """One `[n]` in a text and the verdict on it."""

    sentence: str  # the sentence it is in, markers removed
    number: int
    supported: bool
    reason: str = ""  # why it does not hold: "not a source" or "passage does not support the sentence"


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.split(r"\s*[,;]\s*", group)]


def cited_numbers(text: str) -> list[int]:
    """The passage numbers `text` cites, in order of first citation."""
    seen: list[int] = []
    for m in MARKER.finditer(text):
        seen += [n for n in _numbers(m.group(1)) if n not in seen]
    return seen


def strip_citations(text: str) -> str:
    """`text` without its citation markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).replace("  ", " ").strip()


def supports(passage: str, sentence: str, share: float = SUPPORT_SHARE) -> bool:
    """Whether `passage` contains at least `share` of the content words of `sentence` (markers left out)."""
    words = [w for w in content_words(strip_citations(sentence)) if not w.isdigit() or len(w) >= 3]
    if not words:
        return False
    found = {stem(w) for w in tokens(passage)}
    return sum(stem(w) in found for w in words) / len(words) >= share


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _owner(spans: list[tuple[int, int]], text: str, position: int) -> tuple[int, int]:
    """The sentence a marker at `position` belongs to: the one it is in, or the one before when nothing but
    space and other markers stands between that sentence's end and the marker."""
    for k, (s, e) in enumerate(spans):
        if s <= position < e:
            if k > 0 and not MARKER.sub("", text[s:position]).strip():
                return spans[k - 1]
            return s, e
    return spans[-1] if spans else (0, len(text))


def check_citations(text: str, passages: Mapping[int, str]) -> tuple[str, list[Citation]]:
    """Check every citation in `text` against `passages` (number -> passage text). Returns the text with the
    citations that do not hold removed (a marker citing several keeps the numbers that hold) and the verdict on
    each citation, in order."""
    spans = _sentences(text)
    verdicts: list[Citation] = []
    edits: list[tuple[int, int, str]] = []
    for m in MARKER.finditer(text):
        s, e = _owner(spans, text, m.start())
        sentence = strip_citations(text[s:e])
        kept = []
        for n in _numbers(m.group(1)):
            if n not in passages:
                verdicts.append(Citation(sentence, n, False, "not a source"))
            elif not supports(passages[n], sentence):
                verdicts.append(Citation(sentence, n, False, "passage does not support the sentence"))
            else:
                verdicts.append(Citation(sentence, n, True))
                kept.append(n)
        if len(kept) < len(_numbers(m.group(1))):
            start = m.start()
            if not kept:
                while start > 0 and text[start - 1] in " \t":  # the space before a dropped marker goes too
                    start -= 1
            edits.append((start, m.end(), f"[{', '.join(map(str, kept))}]" if kept else ""))
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    return text, verdicts


def failed_share(verdicts: Iterable[Citation]) -> float:
    """Share of `verdicts` that do not hold (0 when there are none)."""
    verdicts = list(verdicts)
    return sum(not v.supported for v in verdicts) / len(verdicts) if verdicts else 0.0
