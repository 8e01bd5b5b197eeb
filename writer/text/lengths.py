"""Word counting, trimming to a word count, and target-length parsing.

Words are counted the way LongBench-Write counts them: every CJK character counts as one
word, plus every run of other letters/digits (English words, numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_WORDS = 1000
MAX_WORDS = 100_000
TOLERANCE = 0.1  # a text within this share of its word budget has the right length (drafting, checks, judges)
SHORT = 1 - TOLERANCE
LONG = 1 + TOLERANCE

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_WORD_RE = re.compile(rf"[{_CJK}]|[^\s{_CJK}]*[A-Za-z0-9\u00c0-\u024f][^\s{_CJK}]*")


def count_words(text: str) -> int:
    """Number of words in `text`: CJK characters one each, plus whitespace-separated tokens with a letter or digit."""
    return len(_WORD_RE.findall(text))


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "a": 1,
}
_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k|thousand|hundred)?"
_WORD_UNIT = r"(?:-|\s)?(?:words?|字)"
_PAGE_WORDS = 200  # a typical manuscript page, used for "a 50-page novel"


@dataclass(frozen=True)
class TargetLength:
    """How many words to write and where that number came from."""

    words: int
    source: str  # "option", "instruction", "estimate" or "default"
    phrase: str = ""


def _to_number(digits: str, scale: str | None) -> float:
    value = float(digits.replace(",", ""))
    if scale in ("k", "thousand"):
        value *= 1000
    elif scale == "hundred":
        value *= 100
    return value


def _spelled_number(text: str) -> str:
    """Turn spelled-out amounts like 'two thousand' or 'five hundred' into digits."""
    def repl(m: re.Match) -> str:
        return str(_NUMBER_WORDS[m.group(1).lower()] * (1000 if m.group(2).lower() == "thousand" else 100))

    return re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|a)\s+(thousand|hundred)\b",
                  repl, text, flags=re.IGNORECASE)


def parse_target_words(instruction: str) -> TargetLength | None:
    """Find the required length in an instruction, or None.

    Handles "a 3000-word essay", "3,000 words", "about 1200 words", "300 words or less",
    "no less than 200 words", "between 800 and 1000 words" (midpoint), "1.5k words",
    "two thousand words", "不少于4000字" and "a 50-page novel" (200 words a page).
    Bounds ("at least", "or less") are taken as the target itself, as LongBench-Write does.
    """
    text = _spelled_number(instruction)
    rng = re.search(rf"(?:between\s+)?{_NUM}\s*(?:-|–|to|and)\s*{_NUM}{_WORD_UNIT}", text, re.IGNORECASE)
    if rng:
        lo = _to_number(rng.group(1), rng.group(2) or rng.group(4))
        hi = _to_number(rng.group(3), rng.group(4))
        if 0 < lo < hi:
            return TargetLength(int(round((lo + hi) / 2)), "instruction", rng.group(0).strip())
    m = re.search(rf"{_NUM}{_WORD_UNIT}", text, re.IGNORECASE)
    if m:
        value = _to_number(m.group(1), m.group(2))
        if value >= 1:
            return TargetLength(int(round(value)), "instruction", m.group(0).strip())
    m = re.search(r"(\d+)(?:-|\s)pages?\b", text, re.IGNORECASE)
    if m:
        return TargetLength(int(m.group(1)) * _PAGE_WORDS, "instruction", m.group(0).strip())
    return None


# Typical lengths of the forms an instruction names, most specific first: what a reader of each expects.
_FORMS: list[tuple[str, int]] = [
    (r"haiku", 20), (r"slogan|tagline|headline|motto", 15), (r"tweet|x post|toot", 45), (r"limerick", 40),
    (r"sonnet", 120), (r"text message|sms", 40), (r"caption", 30),
    (r"novella", 20000), (r"novel\b", 30000), (r"screenplay|script for a (?:film|movie)", 6000),
    (r"handbook|manual|white ?paper", 5000), (r"thesis|dissertation", 8000),
    (r"cover letter|letter of (?:recommendation|application)", 350), (r"resume|cv\b", 400),
    (r"product description|bio\b|biography of|abstract|synopsis|summary", 200),
    (r"poem|song|lyrics|rap|verse", 200), (r"email|e-mail|memo|note\b|message", 150), (r"letter", 350),
    (r"speech|toast|eulogy|sermon|monologue", 700), (r"dialog(?:ue)?|conversation|skit|scene", 500),
    (r"report|guide|tutorial|case study|proposal", 2000), (r"chapter", 3000),
    (r"short story|fable|fairy tale|bedtime story", 1200), (r"story|tale", 1500),
    (r"essay|article|blog|post|op-ed|column|review|analysis|feature", 1000),
]
_ITEMS = re.compile(r"\b(\d{1,3}|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|fifty)\s+"
                    r"(?:[\w'-]+\s+){0,3}?(items|emojis?|tips|ideas|reasons|ways|steps|examples|questions|names|facts|"
                    r"quotes|jokes|lines|sentences|points|rules|words|titles|slogans|taglines|headlines|bullet points|"
                    r"things|recipes|poems|haikus|riddles|prompts|options|suggestions|mistakes|lessons|benefits|myths)\b",
                    re.IGNORECASE)
_SHORT_ITEM = re.compile(r"\b(?:a|one) (?:line|sentence)\b|\bone-liners?\b|\bshort\b|\bbrief\b|\bemojis?\b",
                         re.IGNORECASE)
_SHORTER = re.compile(r"\b(?:short|brief|quick|concise|little|tiny)\b", re.IGNORECASE)
_LONGER = re.compile(r"\b(?:detailed|comprehensive|in-depth|thorough|extensive|long|lengthy|exhaustive|complete)\b",
                     re.IGNORECASE)


def estimate_target(instruction: str) -> TargetLength:
    """A length for an instruction that states none, from what it asks for (as LongWriter-Zero predicts a
    target range before writing, rather than writing every unstated length at one fixed size): a number of
    items (about 20 words each when each is a line, 80 otherwise), else the typical length of the form it
    names, halved for "short", doubled for "detailed"; DEFAULT_WORDS when it names no form. The reason is in
    `phrase`, so the caller can say what it assumed."""
    text = _spelled_number(instruction)
    items = _ITEMS.search(text)
    if items:
        count = items.group(1).lower()
        n = int(count) if count.isdigit() else _NUMBER_WORDS.get(count, 0) or {"twelve": 12, "fifteen": 15,
                                                                              "thirty": 30, "fifty": 50}.get(count, 0)
        if n:
            each = 20 if _SHORT_ITEM.search(text) else 80
            return TargetLength(max(50, n * each), "estimate", f"{n} {items.group(2).lower()}, ~{each} words each")
    for pattern, words in _FORMS:
        m = re.search(rf"\b(?:{pattern})", text, re.IGNORECASE)
        if m:
            rest = text[:m.start()] + text[m.end():]  # "short story" is already short
            scale = 0.5 if _SHORTER.search(rest) else 2.0 if _LONGER.search(rest) else 1.0
            words = int(round(words * scale / 10)) * 10 or words
            return TargetLength(min(MAX_WORDS, max(20, words)), "estimate", f"a typical {m.group(0).lower()}"
                                + (" (short)" if scale < 1 else " (detailed)" if scale > 1 else ""))
    return TargetLength(DEFAULT_WORDS, "default")


def resolve_target(instruction: str, words: int | None) -> TargetLength:
    """The target: `words` if given, else the instruction's own, else an estimate from the task
    (`estimate_target`, source "estimate"; "default" when nothing in the instruction suggests a length)."""
    if words is not None:
        return TargetLength(words, "option")
    return parse_target_words(instruction) or estimate_target(instruction)


SENTENCE_END = re.compile(r"(?<=[.!?。！？\"”])\s+")


PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _unit_ends(text: str) -> list[int]:
    """Offsets in `text` where a sentence or paragraph ends (before the whitespace that follows it), in order."""
    ends = {m.start() for m in SENTENCE_END.finditer(text)} | {m.start() for m in PARAGRAPH_BREAK.finditer(text)}
    return sorted(e for e in ends if e > 0)


def trim_to_words(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` words, at the last sentence end that fits (never mid-sentence if avoidable).
    The result is a prefix of `text`, line breaks included, so a cut list stays a list."""
    if count_words(text) <= limit:
        return text
    kept, used, start = 0, 0, 0
    for end in _unit_ends(text):
        used += count_words(text[start:end])
        if used > limit:
            break
        kept, start = end, end
    if not kept:  # a single endless sentence: cut by words
        return " ".join(text.split()[:limit])
    return text[:kept].rstrip()


def trim_to_paragraph(text: str, limit: int, floor: int) -> str:
    """Cut `text` to at most `limit` words at the last paragraph end that keeps at least `floor` words, so a
    long draft loses its last paragraphs whole; else at a sentence end (`trim_to_words`)."""
    if count_words(text) <= limit:
        return text
    best = None
    for m in PARAGRAPH_BREAK.finditer(text):
        n = count_words(text[:m.start()])
        if n > limit:
            break
        if n >= floor:
            best = m.start()
    return text[:best].rstrip() if best is not None else trim_to_words(text, limit)


_LAST_END = re.compile(r"[.!?。！？\"”](?=[^.!?。！？\"”]*$)")


def end_at_sentence(text: str, min_words: int) -> str:
    """`text` cut back to its last sentence end, if it stops mid-sentence and at least `min_words` remain."""
    text = _without_bare_marker(text)
    if not text or text[-1] in ".!?。！？\"”":
        return text
    m = _LAST_END.search(text)
    if m is None or count_words(text[:m.end()]) < min_words:
        return text
    return _without_bare_marker(text[:m.end()])


_BARE_MARKER_END = re.compile(r"(?:\n[ \t]*(?:[-*+]|\d{1,3}[.)]))+\s*$")


def _without_bare_marker(text: str) -> str:
    """`text` without a list marker left alone on its last line ("...resources.\n\n2."): the "." of "2." is no
    sentence end."""
    return _BARE_MARKER_END.sub("", text.rstrip()).rstrip()


def join_text(text: str, addition: str) -> str:
    """`text` followed by a continuation, with a space between them unless the continuation brings its own."""
    return text + addition if addition[:1].isspace() or not text else text + " " + addition
