"""The seeded random numbers of panel selection: SHA-256 in counter mode, so that anyone can
re-run a draw in any language from the seed alone (docs/ARCHITECTURE.md, "Sortition: panel
selection").

Number i (i = 0, 1, 2, ...) of the stream named LABEL for seed SEED is the first 8 bytes, read as
a big-endian unsigned integer, of SHA-256 of the UTF-8 text "civicnode-sortition:LABEL:SEED:i".
"""
from __future__ import annotations

import hashlib

TWO_64 = 1 << 64


class SeededStream:
    def __init__(self, seed: str, label: str):
        self._prefix = f"civicnode-sortition:{label}:{seed}:"
        self._counter = 0

    def next64(self) -> int:
        digest = hashlib.sha256(f"{self._prefix}{self._counter}".encode("utf-8")).digest()
        self._counter += 1
        return int.from_bytes(digest[:8], "big")

    def below(self, m: int) -> int:
        """A uniform integer in [0, m): numbers at or above the largest multiple of m that fits
        in 64 bits are skipped (rejection), so there is no modulo bias."""
        if m <= 0:
            raise ValueError("below() needs a positive bound")
        limit = TWO_64 - TWO_64 % m
        while True:
            value = self.next64()
            if value < limit:
                return value % m

    def uniform(self) -> float:
        """A float in [0, 1): the top 53 bits of the next number, divided by 2**53 (exact)."""
        return (self.next64() >> 11) / float(1 << 53)


def choose_members(stream: SeededStream, members: list[int], count: int) -> list[int]:
    """`count` of `members` chosen uniformly: the first `count` steps of a Fisher–Yates shuffle
    (step j swaps position j with position j + below(len - j))."""
    pool = list(members)
    for j in range(count):
        k = j + stream.below(len(pool) - j)
        pool[j], pool[k] = pool[k], pool[j]
    return pool[:count]
