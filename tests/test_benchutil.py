"""The one percentile definition of the benchmarks (benchmarks/benchutil.py): nearest rank."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from benchutil import percentile, summary_ms  # noqa: E402


def test_nearest_rank_on_hand_computed_cases():
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 21)), 95) == 19  # 95% of 20 is exactly the 19th value
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([10, 30, 20], 0) == 10 and percentile([10, 30, 20], 100) == 30
    assert percentile([7.5], 95) == 7.5 and math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_a_percentile_is_a_measured_value_with_at_least_q_percent_at_or_below():
    rng = random.Random(0)
    for _ in range(200):
        xs = [rng.random() for _ in range(rng.randint(1, 50))]
        q = rng.choice([50, 90, 95, 99, 99.9])
        value = percentile(xs, q)
        assert value in xs
        assert sum(x <= value for x in xs) >= q / 100 * len(xs)
        assert sum(x < value for x in xs) < q / 100 * len(xs)  # and it is the smallest such value


def test_summary_uses_it():
    s = summary_ms([0.001 * k for k in range(1, 21)])
    assert (s["n"], s["p50"], s["p95"], s["max"]) == (20, pytest.approx(10), pytest.approx(19), pytest.approx(20))
