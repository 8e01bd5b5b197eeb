"""Repetition guard: find where a draft starts looping, so it can be cut there and continued.

Small models fall into loops: the same sentence again and again, or one phrase cycling inside
an endless sentence. Padding a section with a loop would meet the word budget and ruin the
text, so drafts are cut at the first sign of a loop and the pipeline writes on from there.

Two signals, both rare in normal prose:
- a sentence of at least `MIN_SENTENCE_WORDS` words that already appeared earlier in the draft;
- an 8-word sequence occurring for the third time (emoji and other symbols count as words).
"""

from __future__ import annotations

import re

MIN_SENTENCE_WORDS = 6
NGRAM = 8
MAX_NGRAM_SEEN = 2
LOOP_CHECK_TOKENS = 48  # engines watching a generation (`stop_on_loop`) check it this often, in tokens
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
# words, and symbols that are not punctuation (emoji): "🌍 🌍 🌍 ..." is a loop too (the 0.5B wrote 900 tokens of
# it after a refusal, unseen by a guard that counted only words). With offsets: loop_start says where it begins.
_WORD = re.compile(r"\w+|[^\w\s\x00-\x7f\u2000-\u206f\u3000-\u303f\uff00-\uffef]", re.UNICODE)


def _norm(sentence: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD.findall(sentence))


def loop_start(text: str) -> int | None:
    """Character offset where `text` starts repeating itself, or None when it does not."""
    seen_sentences: set[tuple[str, ...]] = set()
    for m in _SENTENCE.finditer(text):
        words = _norm(m.group(0))
        if len(words) < MIN_SENTENCE_WORDS:
            continue
        if words in seen_sentences:
            return m.start()
        seen_sentences.add(words)
    counts: dict[tuple[str, ...], int] = {}
    words = [(w.group(0).lower(), w.start()) for w in _WORD.finditer(text)]
    for i in range(len(words) - NGRAM + 1):
        gram = tuple(w for w, _ in words[i:i + NGRAM])
        counts[gram] = counts.get(gram, 0) + 1
        if counts[gram] > MAX_NGRAM_SEEN:
            return words[i][1]
    return None


def cut_loop(text: str) -> str:
    """`text` up to where it starts looping (all of it when it does not loop)."""
    start = loop_start(text)
    return text if start is None else text[:start].rstrip()
