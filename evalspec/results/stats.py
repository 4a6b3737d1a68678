"""The statistics of a comparison report, in plain Python (checked against scipy in tests).

- A member's score: the mean, with a Student-t 95 % interval (mean ± t(0.975, n-1) · s/√n).
  t rather than bootstrap: it is exact for normal scores, close for bounded ones at the sizes
  evaluations have (tens to thousands of rows), deterministic, and cheap for 10,000 rows ×
  10 members; for a proportion near 0 or 1 with few rows it can reach past [0, 1], which the
  report shows as it is rather than hiding.
- Against the baseline: the paired difference on the rows both have (candidate − baseline), its
  mean with a t interval, and the two-sided paired t-test's p-value; wins, ties and losses.
- Across members, p-values of one score are Holm-corrected (step-down, family-wise error 5 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 400):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1 - x) / b


def t_tail(t: float, df: float) -> float:
    """P(T > |t|) for Student's t with ``df`` degrees of freedom, accurate in both regimes:
    near the centre from I over t²/(df+t²), far out from I over df/(df+t²)."""
    if math.isinf(t):
        return 0.0
    square = t * t
    if square < df:
        return 0.5 - 0.5 * incomplete_beta(0.5, df / 2, square / (df + square))
    return 0.5 * incomplete_beta(df / 2, 0.5, df / (df + square))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t)."""
    tail = t_tail(t, df)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (bisection on t_cdf, to 1e-12)."""
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1e3
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    low: float
    high: float

    @property
    def has_interval(self) -> bool:
        return self.n >= 2


def summarize(values: Sequence[float]) -> Summary:
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    mean = math.fsum(values) / n
    if n < 2:
        return Summary(n, mean, mean, mean)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, mean - half, mean + half)


@dataclass(frozen=True)
class Paired:
    summary: Summary  # of the differences, candidate - baseline
    p_value: float
    wins: int
    ties: int
    losses: int
    differences: tuple[float, ...] = ()  # per row, for the report's histogram


def paired(candidate: Sequence[float], baseline: Sequence[float]) -> Paired:
    """The paired comparison of two members on the same rows (same order)."""
    diffs = [c - b for c, b in zip(candidate, baseline, strict=True)]
    summary = summarize(diffs)
    wins = sum(1 for d in diffs if d > 0)
    losses = sum(1 for d in diffs if d < 0)
    ties = len(diffs) - wins - losses
    if summary.n < 2:
        return Paired(summary, math.nan, wins, ties, losses, tuple(diffs))
    sd = math.sqrt(math.fsum((d - summary.mean) ** 2 for d in diffs) / (summary.n - 1))
    if sd == 0:
        p_value = 1.0 if summary.mean == 0 else 0.0
    else:
        t = summary.mean / (sd / math.sqrt(summary.n))
        p_value = min(1.0, 2 * t_tail(t, summary.n - 1))
    return Paired(summary, p_value, wins, ties, losses, tuple(diffs))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment; NaN (no test) stays NaN and does not count."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    m = len(tested)
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted
