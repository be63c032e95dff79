"""Test helpers: exact output distributions by enumerating every coin sequence."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

from interleave.methods.base import Randomness
from interleave.ranking import validate_rankings


class FixedCoins(Randomness):
    """Randomness that hands out the given coins (and refuses uniforms)."""

    __slots__ = ("_coins",)

    def __init__(self, coins):
        super().__init__(None, None)
        self._coins = list(coins)

    def coin_bits(self, n):
        assert n == len(self._coins), f"method drew {n} coins, expected {len(self._coins)}"
        return sum(coin << i for i, coin in enumerate(self._coins))

    def uniforms(self, n):  # pragma: no cover - only coin-driven methods are enumerated
        msg = "exact enumeration supports coin-driven methods only"
        raise AssertionError(msg)


def exact_distribution(method, rankings, n_coins):
    """{(items, teams): probability} over all 2**n_coins equally likely coin sequences."""
    lists, positions = validate_rankings(rankings, max_rankers=method.max_rankers)
    length = method.resolve_length(lists)
    counts = Counter()
    for coins in itertools.product((0, 1), repeat=n_coins):
        items, teams = method._merge(lists, positions, length, FixedCoins(coins))
        counts[(tuple(items), tuple(teams))] += 1
    total = 2**n_coins
    return {outcome: Fraction(c, total) for outcome, c in counts.items()}
