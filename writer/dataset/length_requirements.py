"""Length requirements for synthesized instructions: which lengths, and how they are phrased.

`length_schedule` spreads lengths over LongBench-Write's buckets (<500, 500-2k, 2k-4k, >4k words),
log-uniform inside each and rounded to natural numbers; `with_length` adds one in a varied
phrasing that `writer.text.lengths.parse_target_words` reads back exactly; `strip_length` removes one
a model wrote itself, so the code, not the model, decides every length.
"""

from __future__ import annotations

import math
import random
import re

from writer.text.lengths import parse_target_words

# LongBench-Write's length buckets, [low, high) in words; None: no upper bound.
BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 500), (500, 2000), (2000, 4000), (4000, None))

# Qualifiers around a stated length, removed with it ("in about 500 words", "no more than 3 pages").
_BEFORE = (r"(?:(?:,\s*)?(?:in|of|with|within|using|to|for|around)\s+)?"
           r"(?:(?:about|around|approximately|approx\.?|roughly|exactly|some|~|at\s+least|at\s+most|"
           r"no\s+(?:less|more|fewer|longer|shorter)\s+than|not\s+(?:less|more|fewer)\s+than|"
           r"more\s+than|less\s+than|fewer\s+than|over|under|up\s+to|not\s+exceeding)\s+)?")
_AFTER = r"(?:\s+(?:long|in\s+length|or\s+(?:less|more|fewer|so)|maximum|minimum|max|min)\b)?"
_VERB_ARTICLE = re.compile(r"^(Write|Compose|Draft|Create|Prepare|Produce|Craft|Pen|Deliver|Give)\s+(a|an)\s+", re.I)


def _step(value: float) -> int:
    return 50 if value < 1000 else 100 if value < 5000 else 500


def _spans(lengths: tuple[int, int]) -> list[tuple[int, int, bool]]:
    """The LongBench-Write buckets cut to `lengths`: (low, high, high_inclusive)."""
    lo, hi = lengths
    spans = []
    for a, b in BUCKETS:
        s, e = max(lo, a), hi if b is None or b > hi else b
        inclusive = e == hi
        if s < e or (s == e and inclusive):
            spans.append((s, e, inclusive))
    return spans


def _natural(x: float, s: int, e: int, inclusive: bool) -> int:
    """`x` rounded to a natural number (nearest 50 below 1000, 100 below 5000, else 500), kept in the span."""
    def inside(v: int) -> bool:
        return s <= v < e or (inclusive and v == e)

    step = _step(x)
    r = int(round(x / step) * step)
    for v in (r, r - step, r + step, (int(x) // step) * step):
        if inside(v) and v > 0:
            return v
    return min(max(int(round(x)), s), e if inclusive else e - 1)


def length_schedule(n: int, lengths: tuple[int, int], rng: random.Random) -> list[int]:
    """`n` lengths: each cycle visits every bucket once (in a shuffled order), log-uniform inside it.

    Cycling guarantees that any n >= number of buckets covers all of them, which plain
    log-uniform sampling over 300..20000 would not for small n.
    """
    spans = _spans(lengths)
    out: list[int] = []
    while len(out) < n:
        order = list(range(len(spans)))
        rng.shuffle(order)
        for i in order:
            s, e, inclusive = spans[i]
            x = math.exp(rng.uniform(math.log(s), math.log(e))) if e > s else float(s)
            out.append(_natural(x, s, e, inclusive))
    return out[:n]


def bucket_of(words: int) -> int:
    """Index of the LongBench-Write bucket `words` falls in."""
    return next(i for i, (a, b) in enumerate(BUCKETS) if a <= words and (b is None or words < b))


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def noun_phrase(category: str, adjective: str = "") -> str:
    """'an essay', 'a detailed report', 'lecture notes' (plural categories take no article)."""
    words = f"{adjective} {category}".strip()
    if category.endswith("s") and not category.endswith(("ss", "is", "us")):
        return words
    return f"{_article(words)} {words}"


def _number_article(words: int) -> str:
    """'an' before numbers said with a vowel sound: 8.., 11 / 18 (thousand)."""
    digits = str(words)
    return "an" if digits[0] == "8" or (len(digits) % 3 == 2 and digits[:2] in ("11", "18")) else "a"


def _fmt(words: int, commas: bool) -> str:
    return f"{words:,}" if commas else str(words)


def _end_sentence(text: str) -> str:
    return text if text[-1:] in ".!?" else text + "."


def _open_sentence(text: str) -> str | None:
    """`text` without its final period, ready for a clause; None if it ends as a question or exclamation."""
    if text[-1:] in "?!":
        return None
    return text[:-1] if text.endswith(".") else text


LENGTH_STYLES = ("adjective", "in_about", "at_least", "around", "aim", "label")


def add_length(base: str, words: int, style: str) -> str | None:
    """`base` with a length requirement in the given phrasing, or None where that phrasing does not fit."""
    commas = words >= 10_000
    if style == "adjective":
        m = _VERB_ARTICLE.match(base)
        if not m:
            return None
        article = _number_article(words)
        return f"{m.group(1)} {article} {_fmt(words, commas)}-word {base[m.end():]}"
    if style == "in_about":
        open_ = _open_sentence(base)
        return None if open_ is None else f"{open_} in about {_fmt(words, commas)} words."
    if style == "around":
        open_ = _open_sentence(base)
        return None if open_ is None else f"{open_} (around {words:,} words)."
    if style == "at_least":
        return f"{_end_sentence(base)} The text should be at least {_fmt(words, commas)} words long."
    if style == "aim":
        return f"{_end_sentence(base)} Aim for roughly {words:,} words."
    if style == "label":
        return f"{_end_sentence(base)} Length: about {_fmt(words, commas)} words."
    raise ValueError(f"unknown length style {style!r}")


def with_length(base: str, words: int, first_style: str) -> str | None:
    """`base` with the length added, trying `first_style` then the others; None if no phrasing reads back exactly."""
    start = LENGTH_STYLES.index(first_style)
    for style in LENGTH_STYLES[start:] + LENGTH_STYLES[:start]:
        text = add_length(base, words, style)
        found = parse_target_words(text) if text else None
        if found is not None and found.words == words:
            return text
    return None


def strip_length(text: str) -> str | None:
    """`text` without any length it states ("a 500-word essay" -> "an essay"); None if one cannot be removed."""
    for _ in range(3):
        found = parse_target_words(text)
        if found is None:
            return text
        m = re.search(_BEFORE + re.escape(found.phrase) + _AFTER, text, re.I)
        if m is None:  # e.g. "two thousand words": the phrase is in parse_target_words' rewritten text
            return None
        left, right = text[:m.start()].rstrip(), text[m.end():].lstrip()
        art = re.search(r"\b(a|an)$", left, re.I)
        if art and right:
            fixed = _article(right)
            fixed = fixed.capitalize() if art.group(1)[0].isupper() else fixed
            left = left[:art.start()] + fixed
        text = f"{left} {right}".strip()
        text = re.sub(r"\(\s*\)", "", text)
        text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
        text = re.sub(r",\s*([,.;:!?])", r"\1", text)
        text = re.sub(r"\s{2,}", " ", text).strip(" ,;:")
    return text if parse_target_words(text) is None else None
