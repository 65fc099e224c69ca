"""Statistics the study's conclusions rest on: mean, sample sd, and paired t-intervals over seeds.

Every scheme is trained with the same training seeds as its reference (the baseline), and
runs of one seed share their initial weights and data order (see
:mod:`detaug.study.schemes`). The effect of a scheme is therefore estimated from the
per-seed differences ``d_s = scheme_s - reference_s``: mean, sample sd (ddof=1) and a
Student-t confidence interval ``mean +- t_{1-a/2, n-1} * sd / sqrt(n)``. An effect is
stated only where the interval excludes 0.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterable, List, Mapping, Sequence

import numpy as np

__all__ = ["Difference", "Summary", "benjamini_hochberg", "holm", "paired_difference", "paired_p_value", "summarize",
           "t_quantile"]


def t_quantile(q: float, df: int) -> float:
    """The ``q`` quantile of Student's t distribution with ``df`` degrees of freedom
    (``scipy.stats.t.ppf``; scipy comes with albumentations).

    Examples:
        >>> round(t_quantile(0.975, 4), 3)  # the familiar table value
        2.776
    """
    from scipy.stats import t

    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0.0 < q < 1.0:  # also refuses NaN
        raise ValueError(f"q must be a probability strictly between 0 and 1, got {q!r}")
    if isinstance(df, bool) or not isinstance(df, numbers.Integral) or df < 1:
        raise ValueError(f"df must be an integer >= 1, got {df!r}")
    return float(t.ppf(q, df))


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof=1; NaN for one value) and count."""

    mean: float
    sd: float
    n: int


def summarize(values: Iterable[float]) -> Summary:
    """Mean, sample sd and count of ``values``.

    Examples:
        >>> summarize([1.0, 2.0, 3.0])
        Summary(mean=2.0, sd=1.0, n=3)
    """
    v = np.asarray(list(values), np.float64)
    if v.size == 0:
        return Summary(math.nan, math.nan, 0)
    return Summary(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan, int(v.size))


@dataclass(frozen=True)
class Difference:
    """A paired difference ``scheme - reference`` over seeds, with its confidence interval.

    Attributes:
        mean: mean of the per-seed differences.
        sd: their sample sd (ddof=1).
        n: number of seeds both have.
        lo: lower end of the interval (NaN for n < 2).
        hi: upper end.
        confidence: the interval's level, e.g. 0.95.
    """

    mean: float
    sd: float
    n: int
    lo: float
    hi: float
    confidence: float = 0.95

    @property
    def excludes_zero(self) -> bool:
        """True where the interval lies entirely above or below 0 (an effect may be stated)."""
        return self.n >= 2 and (self.lo > 0 or self.hi < 0)


def paired_difference(scheme: Mapping[int, float], reference: Mapping[int, float],
                      confidence: float = 0.95) -> Difference:
    """Paired difference over the seeds both have, with a t-interval.

    Args:
        scheme: seed -> value.
        reference: seed -> value (the baseline of the same schedule).
        confidence: interval level, strictly between 0 and 1 (0.95, not 95). Default 0.95.

    Returns:
        A :class:`Difference` (NaN interval when fewer than 2 seeds are paired).

    Raises:
        ValueError: ``confidence`` not a finite number strictly between 0 and 1.

    Examples:
        >>> d = paired_difference({0: 0.52, 1: 0.50, 2: 0.55}, {0: 0.50, 1: 0.49, 2: 0.52, 3: 0.6})
        >>> d.n, round(d.mean, 4), round(d.sd, 4)  # differences 0.02, 0.01, 0.03
        (3, 0.02, 0.01)
        >>> round(d.lo, 4), round(d.hi, 4), d.excludes_zero  # 0.02 -+ 4.303 * 0.01 / sqrt(3)
        (-0.0048, 0.0448, False)
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a level strictly between 0 and 1 (e.g. 0.95 for 95%), got {confidence!r}")
    confidence = float(confidence)
    seeds = sorted(set(scheme) & set(reference))
    d = np.array([scheme[s] - reference[s] for s in seeds], np.float64)
    s = summarize(d)
    if s.n < 2:
        return Difference(s.mean, s.sd, s.n, math.nan, math.nan, confidence)
    half = t_quantile(0.5 + confidence / 2, s.n - 1) * s.sd / math.sqrt(s.n)
    return Difference(s.mean, s.sd, s.n, s.mean - half, s.mean + half, confidence)


def paired_p_value(d: Difference) -> float:
    """Two-sided p-value of the paired t test of ``d`` (H0: mean difference 0).

    ``t = mean / (sd / sqrt(n))`` with ``n - 1`` degrees of freedom; NaN for fewer than 2
    seeds; 0 or 1 when every seed differs by the same amount (sd 0).

    Examples:
        >>> d = paired_difference({0: 0.52, 1: 0.50, 2: 0.55}, {0: 0.50, 1: 0.49, 2: 0.52})
        >>> round(paired_p_value(d), 4)  # t = 0.02 / (0.01 / sqrt 3) = 3.46, df 2
        0.0742
    """
    from scipy.stats import t

    if d.n < 2 or math.isnan(d.sd):
        return math.nan
    if d.sd == 0:
        return 0.0 if d.mean != 0 else 1.0
    return float(2 * t.sf(abs(d.mean) / (d.sd / math.sqrt(d.n)), d.n - 1))


def benjamini_hochberg(p_values: Sequence[float]) -> List[float]:
    """Benjamini-Hochberg adjusted p-values (the false discovery rate's step-up rule;
    ``scipy.stats.false_discovery_control``), in the input order: a test is a discovery at
    level ``q`` where its adjusted value is <= q. NaN values are left out of the family and
    stay NaN.

    Examples:
        >>> [round(p, 3) for p in benjamini_hochberg([0.01, 0.04, 0.03, 0.5])]
        [0.04, 0.053, 0.053, 0.5]
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, np.float64)
    out = np.full(p.shape, np.nan)
    keep = ~np.isnan(p)
    if keep.any():
        out[keep] = false_discovery_control(p[keep], method="bh")
    return out.tolist()


def holm(p_values: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order; NaN
    values are left out of the family and stay NaN.

    Examples:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03, 0.5])]
        [0.04, 0.09, 0.09, 0.5]
    """
    p = np.asarray(p_values, np.float64)
    out = np.full(p.shape, np.nan)
    keep = np.flatnonzero(~np.isnan(p))
    m = keep.size
    if m:
        order = keep[np.argsort(p[keep], kind="stable")]
        scaled = p[order] * (m - np.arange(m))
        out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out.tolist()
