"""Reuse the token ids the engine generated when a later prompt repeats that text.

The Extender and continuations follow up earlier calls: their prompt is an earlier prompt plus the
model's own output (see `writer.pipeline.lengthen`). vLLM's prefix cache matches token ids, not text, and a
sampled sequence is not always the tokenizer's own encoding of its text: the model may write
".\\n\\n1." as other tokens than the tokenizer would. Rendering the follow-up from text then misses the
cache from the first such token on, and the engine prefills the rest of the draft again.

`TokenReuse` keeps the last sequences the engine produced (prompt ids + output ids). A new prompt
whose text starts with one of them is given that sequence's ids for the shared text and the
tokenizer's ids for the rest; the model reads the same text either way (checked by decoding).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

KEEP = 512  # sequences remembered: a batch job has a few dozen calls in flight
PREFIX_CHECK = 64  # prompt ids a candidate must share with a new prompt before their texts are compared


@dataclass(frozen=True)
class _Sequence:
    ids: list[int]
    text: str  # the ids decoded, special tokens included
    prompt_len: int


def _common_chars(a: str, b: str) -> int:
    """Length of the common prefix of two strings (binary search over C-speed slice comparisons)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class TokenReuse:
    def __init__(self, tokenizer, keep: int = KEEP):
        self.tokenizer = tokenizer
        self.sequences: deque[_Sequence] = deque(maxlen=keep)
        self.lock = threading.Lock()

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def remember(self, prompt_ids: list[int], output_ids: list[int]) -> None:
        ids = list(prompt_ids) + list(output_ids)
        sequence = _Sequence(ids=ids, text=self.decode(ids), prompt_len=len(prompt_ids))
        with self.lock:
            self.sequences.append(sequence)

    def ids_for(self, ids: list[int]) -> list[int]:
        """`ids` (a rendered prompt), with its longest text prefix shared with a remembered sequence taken
        as that sequence's ids. Returns `ids` unchanged when no sequence shares more than its ids already do."""
        with self.lock:
            candidates = [s for s in self.sequences
                          if s.ids[:min(PREFIX_CHECK, s.prompt_len)] == ids[:min(PREFIX_CHECK, s.prompt_len)]]
        if not candidates:
            return ids
        text = self.decode(ids)
        best = max(candidates, key=lambda s: _common_chars(s.text, text))
        # the most of best's ids whose text is a prefix of the new prompt's text
        lo, hi = 0, len(best.ids)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if text.startswith(self.decode(best.ids[:mid])):
                lo = mid
            else:
                hi = mid - 1
        same = 0
        while same < min(lo, len(ids)) and best.ids[same] == ids[same]:
            same += 1
        if lo <= same:
            return ids  # the rendering already starts with those ids
        head = best.ids[:lo]
        rest = text[len(self.decode(head)):]
        spliced = head + (self.tokenizer.encode(rest, add_special_tokens=False) if rest else [])
        return spliced if self.decode(spliced) == text else ids
