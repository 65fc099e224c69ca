"""The study's statistics: t quantiles, sample sd, paired t-intervals that cover as stated."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detaug.study.stats import paired_difference, summarize, t_quantile

# Two-sided 95 % critical values t_{0.975, df} from a printed Student-t table.
T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 29: 2.045}


@pytest.mark.parametrize("df,value", sorted(T_TABLE.items()))
def test_t_quantile_matches_the_printed_table(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)


def test_sample_sd_is_ddof_1():
    # the textbook set 2,4,4,4,5,5,7,9: population sd 2, sample sd sqrt(32/7)
    s = summarize([2, 4, 4, 4, 5, 5, 7, 9])
    assert (s.mean, s.n) == (5.0, 8) and s.sd == pytest.approx(math.sqrt(32 / 7))
    assert math.isnan(summarize([1.0]).sd) and summarize([]).n == 0


def test_pairing_uses_common_seeds_only_and_cancels_the_seed_effect():
    # a seed effect of +-10 points shared by both schemes, and a constant +1 for the scheme
    base = {0: 0.40, 1: 0.60, 2: 0.50, 3: 0.45}
    scheme = {s: v + 0.01 for s, v in base.items() if s != 3}
    d = paired_difference(scheme, base)
    assert d.n == 3 and d.mean == pytest.approx(0.01) and d.sd == pytest.approx(0.0, abs=1e-12)
    assert d.lo == pytest.approx(0.01) and d.excludes_zero
    one = paired_difference({0: 0.5}, {0: 0.4})
    assert one.n == 1 and math.isnan(one.lo) and not one.excludes_zero


def test_paired_interval_covers_the_true_difference_95_percent_of_the_time():
    """Simulated studies with 5 seeds: seed effect N(0, 5 points) shared, scheme effect 1 point,
    noise N(0, 1 point) per run. 4000 studies: the coverage is 0.95 within 4 binomial sds."""
    rng = np.random.default_rng(0)
    trials, hits = 4000, 0
    for _ in range(trials):
        seed_effect = rng.normal(0, 0.05, 5)
        base = {s: 0.5 + seed_effect[s] + rng.normal(0, 0.01) for s in range(5)}
        scheme = {s: 0.51 + seed_effect[s] + rng.normal(0, 0.01) for s in range(5)}
        d = paired_difference(scheme, base)
        hits += d.lo <= 0.01 <= d.hi
    assert abs(hits / trials - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / trials)
