"""The statistics of a comparison report, in plain Python (checked against scipy in tests).

Methods (docs/report.md has their sources and a simulated coverage table):

- A member's mean score, with a 95 % interval:
  - scores that are all 0 or 1 (a yes/no judge, two choices): the Wilson score interval,
    which stays inside [0, 1] and keeps its coverage near 0 and 1, where the t interval
    fails (it gave [-0.126, 0.326] for 1 of 10);
  - other scores: the Student-t interval, mean ± t(0.975, n-1) · s/√n, cut to the score's
    range when the score has one (a metric in [0, 1], choices), so no interval leaves it.
- Against the baseline, on the rows both have (candidate − baseline):
  - 0/1 scores: McNemar's exact test (a two-sided binomial test on the discordant rows), and
    the Bonett-Price adjusted Wald interval for the difference of paired proportions;
  - other scores: the paired t-test and the t interval of the differences, cut to the range
    of a difference of two scores.
- p-values of a family of comparisons are Holm-corrected (step-down, family-wise error 5 %).
- Rows that share a source (``cluster_by``): the cluster-robust standard error of a mean,
  V = G/(G-1) · Σ_g (Σ_{i in g} (x_i - x̄))² / n², with Student's t on G - 1 degrees of
  freedom, for means and paired differences alike (the 0/1 methods assume independent rows);
  the design effect is V over s²/n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 0.975 quantile
Bounds = tuple[float, float] | None


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 20_000):
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


def _beta_front(a: float, b: float, x: float) -> float:
    return math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                    + a * math.log(x) + b * math.log1p(-x))


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x < (a + 1) / (a + b + 2):
        return _beta_front(a, b, x) * _beta_fraction(a, b, x) / a
    return 1.0 - _beta_front(b, a, 1 - x) * _beta_fraction(b, a, 1 - x) / b


def t_tail(t: float, df: float) -> float:
    """P(T > |t|) for Student's t with ``df`` degrees of freedom. Always from
    I_x(df/2, 1/2) with x = df/(df+t²): the small tail is computed directly, never as
    0.5 minus something close to 0.5 (which lost every digit below about 1e-16)."""
    if math.isinf(t):
        return 0.0
    square = t * t
    if square == 0:
        return 0.5
    x = df / (df + square)
    if x < (df / 2 + 1) / (df / 2 + 2.5):  # the fraction converges here: the tail is small
        return 0.5 * _beta_front(df / 2, 0.5, x) * _beta_fraction(df / 2, 0.5, x) / (df / 2)
    # Near the centre: 1 - I over 1 - x = t²/(df+t²), computed without cancellation.
    y = square / (df + square)
    return 0.5 - 0.5 * incomplete_beta(0.5, df / 2, y)


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


def normal_quantile(p: float) -> float:
    """The z with P(Z <= z) = p (bisection on erfc, to 1e-12)."""
    low, high = -40.0, 40.0
    while high - low > 1e-12:
        middle = (low + high) / 2
        if 0.5 * math.erfc(-middle / math.sqrt(2)) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def binomial_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P(X <= k) for X ~ Binomial(n, p), as I_{1-p}(n-k, k+1)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return incomplete_beta(n - k, k + 1, 1 - p)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (Wilson 1927)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At 0 and n the bounds are exactly 0 and 1 (the formula's rounding leaves 1e-17).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    low: float
    high: float
    method: str = "t"  # "t", "wilson" for 0/1 scores, "cluster" for clustered rows
    design_effect: float = math.nan  # clustered: variance over that of independent rows

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and not math.isnan(self.low)


def variance(values: Sequence[float]) -> float:
    """The sample variance (n - 1); NaN below two values."""
    n = len(values)
    if n < 2:
        return math.nan
    mean = math.fsum(values) / n
    return math.fsum((v - mean) ** 2 for v in values) / (n - 1)


def _binary(values: Sequence[float]) -> bool:
    return bool(values) and all(v in (0.0, 1.0) for v in values)


def _cut(low: float, high: float, bounds: Bounds) -> tuple[float, float]:
    if bounds is None:
        return low, high
    return max(bounds[0], low), min(bounds[1], high)


def summarize(values: Sequence[float], bounds: Bounds = None, level: float = 0.95) -> Summary:
    """The mean and its interval (95 % unless ``level`` says otherwise); ``bounds``: the
    score's range, when it has one."""
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    mean = math.fsum(values) / n
    if n < 2:
        return Summary(n, mean, mean, mean)
    if _binary(values):
        low, high = wilson(round(mean * n), n, _z(level))
        return Summary(n, mean, low, high, "wilson")
    return Summary(n, mean, *_t_interval(values, bounds, level))


def _z(level: float) -> float:
    return Z95 if level == 0.95 else normal_quantile(1 - (1 - level) / 2)


@dataclass(frozen=True)
class Paired:
    summary: Summary  # of the differences, candidate - baseline
    p_value: float
    wins: int
    ties: int
    losses: int
    differences: tuple[float, ...] = ()  # per row, for the report's histogram
    method: str = "paired t"  # or "McNemar" for 0/1 scores
    cluster_keys: tuple[str, ...] = ()  # clustered rows: each difference's cluster

    @property
    def sd(self) -> float:
        """The standard deviation of the differences (NaN below two rows)."""
        return math.sqrt(variance(self.differences))

    @property
    def standard_error(self) -> tuple[float, float]:
        """(standard error of the mean difference, its degrees of freedom): cluster-robust
        with G - 1 when the rows are clustered."""
        n = len(self.differences)
        if self.cluster_keys:
            _, var_mean, groups = _clustered_parts(self.differences, self.cluster_keys)
            return math.sqrt(var_mean), groups - 1
        return (self.sd / math.sqrt(n) if n else math.nan), n - 1


def mde(pair: Paired, alpha: float = 0.05, power: float = 0.8, sides: int = 2) -> float:
    """The minimum detectable difference: the smallest true mean difference a test at
    ``alpha`` (two-sided, or one-sided with ``sides=1``) finds with probability ``power``
    on these rows: (t(1 - alpha/sides, df) + t(power, df)) · SE, with SE = sd/√n and
    df = n - 1 (cluster-robust SE and G - 1 for clustered rows)."""
    se, df = pair.standard_error
    if df < 1 or math.isnan(se):
        return math.nan
    return (t_quantile(1 - alpha / sides, df) + t_quantile(power, df)) * se


def rows_needed(sd: float, distance: float, alpha: float, power: float = 0.8) -> float:
    """Rows a one-sided test at ``alpha`` needs to show a difference ``distance`` away from
    its bound with probability ``power``: ((z(1-alpha) + z(power)) · sd / distance)²
    (normal approximation; infinite when the distance is not positive)."""
    if distance <= 0 or math.isnan(sd):
        return math.inf
    return ((normal_quantile(1 - alpha) + normal_quantile(power)) * sd / distance) ** 2


def _differences(candidate: Sequence[float], baseline: Sequence[float]
                 ) -> tuple[tuple[float, ...], int, int, int]:
    """(candidate - baseline per row, wins, ties, losses)."""
    diffs = tuple(c - b for c, b in zip(candidate, baseline, strict=True))
    wins = sum(1 for d in diffs if d > 0)
    losses = sum(1 for d in diffs if d < 0)
    return diffs, wins, len(diffs) - wins - losses, losses


def _spread(bounds: Bounds) -> Bounds:
    """The range of a difference of two scores in ``bounds``."""
    return None if bounds is None else (bounds[0] - bounds[1], bounds[1] - bounds[0])


def _two_sided(mean: float, var_mean: float, df: float) -> float:
    """The two-sided t-test of a mean against 0, given the variance of the mean."""
    if var_mean == 0:
        return 1.0 if mean == 0 else 0.0
    return min(1.0, 2 * t_tail(mean / math.sqrt(var_mean), df))


def _mcnemar(n: int, wins: int, losses: int, mean: float,
             diffs: tuple[float, ...], level: float) -> Paired:
    """McNemar's exact test and the Bonett-Price (2012) adjusted Wald interval."""
    discordant = wins + losses
    p_value = 1.0 if discordant == 0 else min(
        1.0, 2 * binomial_cdf(min(wins, losses), discordant))
    up, down = (wins + 1) / (n + 2), (losses + 1) / (n + 2)
    centre = up - down
    half = _z(level) * math.sqrt(max(0.0, up + down - centre * centre) / (n + 2))
    low, high = max(-1.0, centre - half), min(1.0, centre + half)
    return Paired(Summary(n, mean, low, high, "bonett-price"), p_value, wins, n - discordant,
                  losses, diffs, "McNemar")


def paired(candidate: Sequence[float], baseline: Sequence[float],
           bounds: Bounds = None, level: float = 0.95) -> Paired:
    """The paired comparison of two members on the same rows (same order), with an interval
    of the mean difference at ``level``."""
    diffs, wins, ties, losses = _differences(candidate, baseline)
    n = len(diffs)
    if n >= 2 and _binary(candidate) and _binary(baseline):
        return _mcnemar(n, wins, losses, math.fsum(diffs) / n, diffs, level)
    if n < 2:
        return Paired(summarize(diffs), math.nan, wins, ties, losses, diffs)
    # Differences are never proportions: the t interval, whatever values they take.
    summary = Summary(n, math.fsum(diffs) / n, *_t_interval(diffs, _spread(bounds), level))
    p_value = _two_sided(summary.mean, variance(diffs) / n, n - 1)
    return Paired(summary, p_value, wins, ties, losses, diffs)


def _t_interval(values: Sequence[float], bounds: Bounds, level: float = 0.95
                ) -> tuple[float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    half = t_quantile(1 - (1 - level) / 2, n - 1) * math.sqrt(variance(values) / n)
    return _cut(mean - half, mean + half, bounds)


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


def _clustered_parts(values: Sequence[float], clusters: Sequence[str]
                     ) -> tuple[float, float, int]:
    """(mean, cluster-robust variance of the mean, clusters)."""
    n = len(values)
    mean = math.fsum(values) / n
    residuals: dict[str, float] = {}
    for value, cluster in zip(values, clusters, strict=True):
        residuals[cluster] = residuals.get(cluster, 0.0) + (value - mean)
    groups = len(residuals)
    if groups < 2:
        return mean, math.nan, groups
    var_mean = groups / (groups - 1) * math.fsum(e * e for e in residuals.values()) / (n * n)
    return mean, var_mean, groups


def _clustered_summary(values: Sequence[float], parts: tuple[float, float, int],
                       bounds: Bounds, level: float) -> Summary:
    mean, var_mean, groups = parts
    if math.isnan(var_mean):
        return Summary(len(values), mean, math.nan, math.nan, "cluster")
    half = t_quantile(1 - (1 - level) / 2, groups - 1) * math.sqrt(var_mean)
    low, high = _cut(mean - half, mean + half, bounds)
    independent = variance(values) / len(values)  # the design effect's denominator
    return Summary(len(values), mean, low, high, "cluster",
                   var_mean / independent if independent > 0 else math.nan)


def summarize_clustered(values: Sequence[float], clusters: Sequence[str], bounds: Bounds = None,
                        level: float = 0.95) -> Summary:
    """The mean with a cluster-robust interval (t on G - 1 degrees of freedom)."""
    if not values:
        return Summary(0, math.nan, math.nan, math.nan, "cluster")
    return _clustered_summary(values, _clustered_parts(values, clusters), bounds, level)


def paired_clustered(candidate: Sequence[float], baseline: Sequence[float],
                     clusters: Sequence[str], bounds: Bounds = None,
                     level: float = 0.95) -> Paired:
    """The paired comparison with rows clustered: the differences' cluster-robust t test."""
    diffs, wins, ties, losses = _differences(candidate, baseline)
    if not diffs:
        return Paired(summarize_clustered(diffs, clusters), math.nan, wins, ties, losses, diffs,
                      "clustered t", tuple(clusters))
    parts = _clustered_parts(diffs, clusters)
    summary = _clustered_summary(diffs, parts, _spread(bounds), level)
    mean, var_mean, groups = parts
    p_value = math.nan if not summary.has_interval else _two_sided(mean, var_mean, groups - 1)
    return Paired(summary, p_value, wins, ties, losses, diffs, "clustered t", tuple(clusters))
