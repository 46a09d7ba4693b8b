"""Deterministic random splits (one function, reused by every importer)."""
from __future__ import annotations

import random
from typing import Sequence, TypeVar

from ..common.errors import DataError

T = TypeVar('T')


def split_items(items: Sequence[T], fractions: Sequence[float],
                seed: int = 0) -> list[list[T]]:
    """Split ``items`` into ``len(fractions)`` disjoint lists.

    The items are sorted, shuffled with ``random.Random(seed)`` and cut in
    order; part ``i`` gets ``round(cumsum(fractions)[i] * n)`` minus the
    previous cut, so sizes add up to ``n`` exactly and the same items, seed
    and fractions always give the same split. Fractions must be >= 0 and sum
    to 1 (within 1e-6). Each returned list is sorted.
    """
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f'split fractions {list(fractions)} must be >= 0 and '
                        'sum to 1; fix --split')
    order = sorted(items)  # type: ignore[type-var]
    random.Random(seed).shuffle(order)
    parts: list[list[T]] = []
    start, acc = 0, 0.0
    for frac in fractions:
        acc += frac
        stop = round(acc * len(order))
        parts.append(sorted(order[start:stop]))  # type: ignore[type-var]
        start = stop
    if start < len(order):  # float rounding leftovers, normally none
        parts[-1] = sorted(parts[-1] + order[start:])  # type: ignore[type-var]
    return parts
