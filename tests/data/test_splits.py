"""custom_modules.data.splits.split_items."""
import pytest

from custom_modules.common.errors import DataError
from custom_modules.data.splits import split_items


def test_split_is_deterministic_disjoint_and_complete():
    items = list(range(100))
    a = split_items(items, [0.7, 0.15, 0.15], seed=3)
    b = split_items(list(reversed(items)), [0.7, 0.15, 0.15], seed=3)
    assert a == b
    assert [len(p) for p in a] == [70, 15, 15]
    assert sorted(sum(a, [])) == items
    assert split_items(items, [0.7, 0.15, 0.15], seed=4) != a


def test_split_rounding_keeps_every_item():
    parts = split_items(list('abcdefg'), [0.5, 0.5], seed=0)
    assert sum(map(len, parts)) == 7 and all(p == sorted(p) for p in parts)


def test_split_rejects_bad_fractions():
    with pytest.raises(DataError, match='must be >= 0 and sum to 1'):
        split_items([1, 2], [0.5, 0.6])
