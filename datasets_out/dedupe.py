"""Exact and near-duplicate removal for generated texts (documents, instructions).

Exact: the same text after lower-casing and collapsing white space. Near: MinHash signatures of
word n-gram shingles indexed with LSH (datasketch's `MinHash` and `MinHashLSH`, as distilabel
deduplicates), then each candidate's estimated Jaccard similarity checked against the
threshold. The first text of a duplicate group is kept, so callers order texts best first.
"""

from __future__ import annotations

from collections.abc import Sequence

from datasketch import MinHash, MinHashLSH

from writer.text.words import tokens

NUM_PERM = 64
SEED = 20240601  # fixed, so the same texts are always judged the same way


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def shingles(text: str, n: int) -> set[str]:
    words = tokens(text)
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def minhash(text: str, n: int = 5) -> MinHash:
    """The MinHash signature of `text`'s word n-grams."""
    signature = MinHash(num_perm=NUM_PERM, seed=SEED)
    signature.update_batch([s.encode() for s in shingles(text, n)])
    return signature


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
    # LSH finds candidates near the threshold; the estimated Jaccard of each decides
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.1), num_perm=NUM_PERM)
    signatures: dict[int, MinHash] = {}
    for i in range(len(texts)):
        if i in found:
            continue
        sig = minhash(texts[i], n)
        match = next((j for j in sorted(int(k) for k in lsh.query(sig)) if sig.jaccard(signatures[j]) >= threshold),
                     None)
        if match is not None:
            found[i] = ("near", match)
            continue
        signatures[i] = sig
        lsh.insert(str(i), sig)
    return found


def keep_unique(texts: Sequence[str], threshold: float = 0.8, n: int = 5) -> list[int]:
    """Indices of the texts to keep: each exact or near-duplicate group keeps its first member."""
    dropped = duplicates(texts, threshold, n)
    return [i for i in range(len(texts)) if i not in dropped]
