"""Document-level passes over finished sections: stitching boundaries and the consistency pass.

Stitching (parallel mode, where each section was drafted without seeing the one before):
the model rewrites a section's opening paragraph so it follows on from the previous section's
ending. A rewrite is kept only if it keeps the opening's length and content, does not loop
and does not copy the previous ending; otherwise the original opening stays.

Consistency (every mode, last): sentences that repeat an earlier section word for word are
removed (small models restate), then the document's total length is brought within
tolerance of the target: a short document has its shortest sections continued, a long
one has its longest sections trimmed at sentence boundaries.
"""

from __future__ import annotations

import re

from prompts import render
from writer.calls import CallRecorder
from writer.context import TOKENS_PER_WORD
from writer.engines.base import ChatRequest, Message
from writer.lengths import SENTENCE_END, count_words, trim_to_words
from writer.memory.checks import copied_share
from writer.memory.summaries import grounded
from writer.repetition import MIN_SENTENCE_WORDS, loop_start

STITCH_TEMPLATE = "memory/stitch.j2"
TAIL_WORDS = 120  # how much of the previous section the stitcher sees
OPENING_WORDS = 120  # longest opening it rewrites
_WORD = re.compile(r"\w+")


def split_opening(text: str) -> tuple[str, str]:
    """The opening (first paragraph, or first sentences up to OPENING_WORDS) and the rest of `text`."""
    text = text.strip()
    first, sep, rest = text.partition("\n\n")
    if count_words(first) <= OPENING_WORDS and rest:
        return first, rest
    sentences = [s for s in SENTENCE_END.split(text) if s]
    opening: list[str] = []
    while sentences and (not opening or count_words(" ".join(opening + sentences[:1])) <= OPENING_WORDS // 2):
        opening.append(sentences.pop(0))
    return " ".join(opening), " ".join(sentences)


def tail_words(text: str, words: int = TAIL_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[-words:])


def stitch_requests(instruction: str, pairs: list[tuple[str, str, str]]) -> list[ChatRequest]:
    """One request per (previous text, title, section text) boundary."""
    requests = []
    for previous, title, text in pairs:
        opening, _ = split_opening(text)
        n = count_words(opening)
        prompt = render(STITCH_TEMPLATE, instruction=instruction, previous_tail=tail_words(previous), title=title,
                        opening=opening)
        requests.append(ChatRequest(stop_on_loop=True, messages=[Message(role="user", content=prompt)],
                                    max_tokens=int(n * TOKENS_PER_WORD * 1.6) + 32, min_tokens=int(n * TOKENS_PER_WORD * 0.7),
                                    temperature=0.5, repetition_penalty=1.05))
    return requests


def accept_stitch(opening: str, rewrite: str, previous: str) -> str | None:
    """Why `rewrite` cannot replace `opening`, or None when it can."""
    n, m = count_words(opening), count_words(rewrite)
    if not 0.7 * n <= m <= 1.8 * n + 10:
        return f"rewrite has {m} words for an opening of {n}"
    if loop_start(rewrite) is not None:
        return "rewrite loops"
    if copied_share(rewrite, tail_words(previous)) > 0.25:
        return "rewrite copies the previous ending"
    if not grounded(opening, rewrite, 0.5):
        return "rewrite drops what the opening said"
    return None


def stitch(call: CallRecorder, instruction: str, boundaries: list[tuple[int, str, str, str]]) -> list[tuple[str, str]]:
    """Rewrite the openings at `boundaries` (index, previous text, title, text) in one batch.
    Returns (new text, note) per boundary; the text is unchanged where the rewrite was rejected."""
    if not boundaries:
        return []
    requests = stitch_requests(instruction, [(p, t, x) for _, p, t, x in boundaries])
    out = []
    completions = call("stitch", requests, template=STITCH_TEMPLATE)
    for (index, previous, _, text), completion in zip(boundaries, completions):
        opening, rest = split_opening(text)
        rewrite = completion.text.strip().split("\n\n")[0].strip()
        reason = accept_stitch(opening, rewrite, previous)
        if reason is None:
            out.append(((rewrite + "\n\n" + rest).strip(), f"opening rewritten ({count_words(opening)} -> "
                                                              f"{count_words(rewrite)} words)"))
        else:
            out.append((text, f"kept original opening: {reason}"))
    return out


def _sentence_key(sentence: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(sentence))


def drop_repeated_sentences(texts: list[str]) -> tuple[list[str], int]:
    """Remove sentences (6+ words) that already appeared in an earlier section. Returns texts and count removed."""
    seen: set[tuple[str, ...]] = set()
    out, removed = [], 0
    for text in texts:
        paragraphs = []
        for para in text.split("\n\n"):
            kept = []
            for sentence in SENTENCE_END.split(para.strip()):
                key = _sentence_key(sentence)
                if len(key) >= MIN_SENTENCE_WORDS and key in seen:
                    removed += 1
                    continue
                kept.append(sentence)
            paragraphs.append(" ".join(kept).strip())
        for para in paragraphs:
            for sentence in SENTENCE_END.split(para):
                key = _sentence_key(sentence)
                if len(key) >= MIN_SENTENCE_WORDS:
                    seen.add(key)
        out.append("\n\n".join(p for p in paragraphs if p))
    return out, removed


def trim_to_total(texts: list[str], budgets: list[int], total: int) -> list[str]:
    """Trim the sections furthest over their budget until the document is at most `total` words."""
    texts = list(texts)
    excess = sum(count_words(t) for t in texts) - total
    for k in sorted(range(len(texts)), key=lambda k: budgets[k] - count_words(texts[k])):
        if excess <= 0:
            break
        over = count_words(texts[k]) - budgets[k]
        if over <= 0:
            break
        cut = min(over, excess)
        before = count_words(texts[k])
        texts[k] = trim_to_words(texts[k], before - cut)
        excess -= before - count_words(texts[k])
    return texts
