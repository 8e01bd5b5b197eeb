"""Exact and near-duplicate removal for generated texts (documents, instructions).

Exact: the same text after lower-casing and collapsing white space. Near: MinHash over word
n-gram shingles with LSH banding (the usual recipe for deduplicating training corpora), then
the candidate pairs' estimated Jaccard similarity checked against a threshold. The first text
of a duplicate group is kept, so callers order texts best first.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from writer.text.words import tokens

NUM_PERM = 64
BANDS = 16  # 16 bands x 4 rows: pairs above ~0.5 Jaccard almost always share a band
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20240601)
_A = _rng.integers(1, _PRIME, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, NUM_PERM, dtype=np.uint64)


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def shingles(text: str, n: int) -> set[str]:
    words = tokens(text)
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def minhash(text: str, n: int = 5) -> np.ndarray:
    """A NUM_PERM-value MinHash signature of `text`'s word n-grams."""
    items = shingles(text, n)
    if not items:
        return np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    hashes = np.array([int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") >> 3
                       for s in items], dtype=np.uint64)
    # (a*h + b) mod p, in uint64 arithmetic that wraps; good enough as a permutation family here
    values = (hashes[:, None] * _A[None, :] + _B[None, :]) % np.uint64(_PRIME)
    return values.min(axis=0)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def duplicates(texts: Sequence[str], threshold: float = 0.8, n: int = 5) -> dict[int, tuple[str, int]]:
    """Which texts duplicate an earlier one: {index: ("exact"|"near", index of the kept text)}."""
    found: dict[int, tuple[str, int]] = {}
    first_of: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = normalize(text)
        if key in first_of:
            found[i] = ("exact", first_of[key])
        else:
            first_of[key] = i
    signatures = {i: minhash(texts[i], n) for i in range(len(texts)) if i not in found}
    rows = NUM_PERM // BANDS
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for i, sig in signatures.items():  # dict order is index order: earlier texts are kept
        candidates = set()
        for band in range(BANDS):
            key = (band, sig[band * rows:(band + 1) * rows].tobytes())
            candidates.update(buckets[key])
        match = next((j for j in sorted(candidates) if similarity(sig, signatures[j]) >= threshold), None)
        if match is not None:
            found[i] = ("near", match)
            continue
        for band in range(BANDS):
            buckets[(band, sig[band * rows:(band + 1) * rows].tobytes())].append(i)
    return found


def keep_unique(texts: Sequence[str], threshold: float = 0.8, n: int = 5) -> list[int]:
    """Indices of the texts to keep: each exact or near-duplicate group keeps its first member."""
    dropped = duplicates(texts, threshold, n)
    return [i for i in range(len(texts)) if i not in dropped]
