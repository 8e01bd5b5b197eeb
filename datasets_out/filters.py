"""Which documents are good enough to train on: length-ratio window, minimum score, duplicates.

Each check returns the reason a document is dropped (the key counted in the export report and
the dataset card), so every removal is accounted for.
"""

from __future__ import annotations

from collections.abc import Sequence

from datasets_out.dedupe import duplicates
from datasets_out.records import Document

DEDUPE_THRESHOLD = 0.8  # estimated Jaccard similarity of word 5-grams at which two texts are near-duplicates
DEDUPE_NGRAM = 5


def filter_reason(doc: Document, min_score: float | None = None,
                  length_ratio: tuple[float, float] | None = None) -> str | None:
    """Why `doc` fails the filters ("length_ratio" or "min_score"), or None if it passes.

    The ratio window is inclusive on both ends; a document with no required length fails any window.
    An unscored document fails any minimum score: nothing says it is good enough.
    """
    if length_ratio is not None:
        low, high = length_ratio
        if doc.length_ratio is None or not (low <= doc.length_ratio <= high):
            return "length_ratio"
    if min_score is not None and (doc.score is None or doc.score < min_score):
        return "min_score"
    return None


def duplicate_reasons(texts: Sequence[str], scores: Sequence[float | None],
                      threshold: float = DEDUPE_THRESHOLD) -> dict[int, str]:
    """{index: "exact_duplicate" | "near_duplicate"} for the texts to drop.

    Texts are compared best score first (unscored last, then in the given order), so of each
    duplicate group the better-scored copy is the one that survives.
    """
    order = sorted(range(len(texts)), key=lambda i: (scores[i] is None, -(scores[i] or 0.0), i))
    found = duplicates([texts[i] for i in order], threshold=threshold, n=DEDUPE_NGRAM)
    return {order[k]: f"{kind}_duplicate" for k, (kind, _) in found.items()}
