"""Which of the user's passages a section should be written from: BM25 (the `bm25s` library) over the passages.

Passages and queries are tokenized the way every lexical check here is (`writer.text.words`:
content words, on their five-letter stems), so "trading" finds "trade". No model, no download;
indexing a few hundred passages takes milliseconds, so the index is rebuilt from the stored
passages whenever a run needs it rather than stored itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from writer.artifacts import Passage
from writer.text.words import content_words, stem

__all__ = ["SourceIndex", "terms"]


def terms(text: str) -> list[str]:
    """The index terms of `text`: the stems of its content words."""
    return [stem(w) for w in content_words(text)]


class SourceIndex:
    """A BM25 index over a run's passages."""

    def __init__(self, passages: Sequence[Passage]):
        import bm25s  # imported only for runs with sources

        self.passages = list(passages)
        self._vocabulary = {t for p in self.passages for t in terms(p.text)}
        self._bm25 = bm25s.BM25()
        if self.passages:
            self._bm25.index([terms(p.text) or ["_"] for p in self.passages], show_progress=False)

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every passage for `query`, in passage order."""
        words = [t for t in dict.fromkeys(terms(query)) if t in self._vocabulary]
        if not words or not self.passages:
            return [0.0] * len(self.passages)
        return [float(s) for s in self._bm25.get_scores(words)]

    def search(self, query: str, k: int = 6) -> list[Passage]:
        """The (at most) `k` passages that match `query` best, best first; passages sharing no term with it are
        left out. Ties go to the earlier passage."""
        scored = sorted(((-s, n) for n, s in enumerate(self.scores(query)) if s > 0))
        return [self.passages[n] for _, n in scored[:k]]
