"""The only source of randomness of the secrets provider: the kernel's CSPRNG via `os.urandom`.

Every generator draws through `random_bytes`, so one place decides where entropy comes from (and a
test can check that nothing else is used).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def random_bytes(count: int) -> bytes:
    """`count` bytes from the operating system's cryptographically secure generator."""
    return os.urandom(count)


def random_below(bound: int) -> int:
    """A uniformly distributed integer in `[0, bound)`, by rejection sampling (no modulo bias)."""
    if bound < 1:
        raise ValueError("bound must be positive")
    bits = (bound - 1).bit_length()
    mask = (1 << bits) - 1
    size = max(1, (bits + 7) // 8)
    while True:
        candidate = int.from_bytes(random_bytes(size), "big") & mask
        if candidate < bound:
            return candidate


def choice(items: Sequence[T]) -> T:
    """One element of `items`, chosen uniformly."""
    return items[random_below(len(items))]


def shuffle(items: list[T]) -> None:
    """Shuffle `items` in place uniformly (Fisher-Yates)."""
    for last in range(len(items) - 1, 0, -1):
        other = random_below(last + 1)
        items[last], items[other] = items[other], items[last]
