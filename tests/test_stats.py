"""The report's statistics against reference implementations (scipy), on random data."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalspec.results.stats import (
    binomial_cdf,
    holm,
    normal_quantile,
    paired,
    summarize,
    t_tail,
    wilson,
)

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("df", [1, 3, 10, 59, 1_000, 100_000, 999_999])
def test_t_tail_is_accurate_far_into_the_tail(df: int) -> None:
    """Relative error under 1e-6 for every p-value down to 1e-300 (it was 100 % below
    about 1e-16: 0.5 minus a number close to 0.5)."""
    for t in (1e-3, 0.5, 1.0, 2.0, 5.0, 10.8, 20.0, 50.0, 200.0, 1e4):
        reference = stats.t.sf(t, df)
        if reference < 1e-300:
            continue
        assert t_tail(t, df) == pytest.approx(reference, rel=1e-6), (df, t)


def test_a_huge_paired_test_keeps_its_p_value() -> None:
    rng = random.Random(3)
    base = [rng.gauss(0, 1) for _ in range(200_000)]
    other = [b + 0.02 + rng.gauss(0, 1) for b in base]
    got = paired(other, base).p_value
    reference = stats.ttest_rel(other, base).pvalue
    assert 0 < got < 1e-10 and got == pytest.approx(reference, rel=1e-6)


@given(st.integers(0, 400), st.integers(1, 400))
def test_wilson_matches_scipy_and_stays_in_range(successes: int, n: int) -> None:
    successes = min(successes, n)
    low, high = wilson(successes, n)
    reference = stats.binomtest(successes, n).proportion_ci(method="wilson")
    assert (low, high) == (pytest.approx(reference.low, abs=1e-12),
                           pytest.approx(reference.high, abs=1e-12))
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_zero_one_scores_get_wilson_intervals_inside_zero_and_one() -> None:
    for successes, n in [(1, 10), (59, 60), (10, 10), (0, 20)]:
        summary = summarize([1.0] * successes + [0.0] * (n - successes), (0.0, 1.0))
        assert summary.method == "wilson"
        assert 0.0 <= summary.low <= summary.mean <= summary.high <= 1.0
    assert summarize([1.0] * 10).high == 1.0 and summarize([1.0] * 10).low < 1.0


def test_bounded_scores_never_get_an_interval_outside_their_range() -> None:
    values = [1.0, 1.0, 1.0, 0.9, 1.0, 0.5]
    assert summarize(values).high > 1.0  # the plain t interval would leave [0, 1]
    bounded = summarize(values, (0.0, 1.0))
    assert bounded.high == 1.0 and bounded.low == summarize(values).low
    difference = paired([1.0, 0.0, 0.5, 1.0], [0.0, 1.0, 0.0, 0.0], (0.0, 1.0))
    assert -1.0 <= difference.summary.low <= difference.summary.high <= 1.0


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=300))
@settings(max_examples=200)
def test_mcnemar_is_the_exact_binomial_test_on_discordant_rows(pairs) -> None:
    candidate = [float(c) for c, _ in pairs]
    baseline = [float(b) for _, b in pairs]
    compared = paired(candidate, baseline)
    wins = sum(1 for c, b in pairs if c and not b)
    losses = sum(1 for c, b in pairs if b and not c)
    assert (compared.method, compared.wins, compared.losses) == ("McNemar", wins, losses)
    reference = 1.0 if wins + losses == 0 else stats.binomtest(wins, wins + losses).pvalue
    assert compared.p_value == pytest.approx(reference, rel=1e-9, abs=1e-300)
    assert -1.0 <= compared.summary.low <= compared.summary.high <= 1.0


def test_bonett_price_interval_by_hand() -> None:
    """Bonett & Price (2012): adjusted counts (+1 to each discordant cell, +2 to n)."""
    candidate = [1.0] * 12 + [0.0] * 3 + [1.0] * 20 + [0.0] * 25
    baseline = [0.0] * 12 + [1.0] * 3 + [1.0] * 20 + [0.0] * 25
    compared = paired(candidate, baseline)
    up, down = 13 / 62, 4 / 62
    half = 1.959963984540054 * math.sqrt((up + down - (up - down) ** 2) / 62)
    assert (compared.summary.low, compared.summary.high) == (
        pytest.approx(up - down - half), pytest.approx(up - down + half))
    assert compared.summary.mean == pytest.approx(9 / 60)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_matches_its_definition(p_values) -> None:
    """Holm (1979) by definition: the adjusted p of the i-th smallest is the running maximum
    of (m - j) · p_(j) over j <= i, capped at 1; checked against every subset rule."""
    adjusted = holm(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (p_values[i], i))
    for rank, index in enumerate(order):
        expected = max(min(1.0, (m - j) * p_values[order[j]]) for j in range(rank + 1))
        assert adjusted[index] == pytest.approx(expected)
    # Rejections at 0.05 are Holm's: step down while p_(i) <= alpha / (m - i).
    rejected = set()
    for rank, index in enumerate(order):
        if p_values[index] > 0.05 / (m - rank):
            break
        rejected.add(index)
    assert {i for i in range(m) if adjusted[i] <= 0.05} == rejected


def test_binomial_and_normal_against_scipy() -> None:
    for k, n in itertools.product([0, 1, 5, 30], [1, 10, 60, 1000]):
        if k <= n:
            assert binomial_cdf(k, n) == pytest.approx(stats.binom.cdf(k, n, 0.5), rel=1e-9)
    for p in (0.5, 0.975, 0.99, 0.999, 0.9999):
        assert normal_quantile(p) == pytest.approx(stats.norm.ppf(p), abs=1e-9)


def test_simulated_coverage_of_the_intervals_reaches_nominal() -> None:
    """The coverage table in docs/report.md (seed 1, 2,000 samples each): the Wilson
    interval covers the true proportion about 95 % of the time, where the t interval
    covered 33 % at p = 0.02 and n = 20."""
    rng = random.Random(1)
    for n, p in itertools.product((20, 60, 200), (0.02, 0.5, 0.97)):
        covered = 0
        for _ in range(2_000):
            values = [1.0 if rng.random() < p else 0.0 for _ in range(n)]
            summary = summarize(values, (0.0, 1.0))
            covered += summary.low <= p <= summary.high
        assert covered / 2_000 >= 0.90, (n, p, covered)


@settings(deadline=None)  # the first example imports statsmodels
@given(st.lists(st.floats(0, 1), min_size=1, max_size=15))
def test_holm_matches_statsmodels(p_values) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    _, reference, _, _ = multitest.multipletests(p_values, alpha=0.05, method="holm")
    assert holm(p_values) == pytest.approx(list(reference), abs=1e-12)


@settings(deadline=None)  # the first example imports statsmodels
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_mcnemar_matches_statsmodels(wins: int, losses: int, ties: int) -> None:
    tables = pytest.importorskip("statsmodels.stats.contingency_tables")
    n = wins + losses + ties
    if n < 2:
        return
    candidate = [1.0] * wins + [0.0] * losses + [1.0] * ties
    baseline = [0.0] * wins + [1.0] * losses + [1.0] * ties
    reference = tables.mcnemar([[ties, wins], [losses, 0]], exact=True).pvalue
    assert paired(candidate, baseline).p_value == pytest.approx(min(1.0, reference),
                                                                rel=1e-9, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 25), st.integers(1, 6), st.integers(0, 10_000))
def test_clustered_intervals_and_tests_match_statsmodels(groups: int, size: int,
                                                         seed: int) -> None:
    """The cluster-robust standard error of OLS on a constant (statsmodels' cov_type
    'cluster', its default small-sample correction, t on G - 1 degrees of freedom)."""
    np = pytest.importorskip("numpy")
    sm = pytest.importorskip("statsmodels.api")
    from evalspec.results.stats import paired_clustered, summarize_clustered

    rng = random.Random(seed)
    clusters = [str(g) for g in range(groups) for _ in range(rng.randint(1, size))]
    shift = {g: rng.gauss(0, 1) for g in set(clusters)}
    values = [shift[c] + rng.gauss(0, 0.5) for c in clusters]
    baseline = [rng.gauss(0, 1) for _ in clusters]
    labels = np.array([int(c) for c in clusters])
    fit = sm.OLS(np.array(values), np.ones(len(values))).fit(
        cov_type="cluster", cov_kwds={"groups": labels}, use_t=True)
    summary = summarize_clustered(values, clusters)
    low, high = fit.conf_int()[0]
    assert (summary.low, summary.high) == (pytest.approx(low, abs=1e-9),
                                           pytest.approx(high, abs=1e-9))
    differences = np.array(values) - np.array(baseline)
    fit = sm.OLS(differences, np.ones(len(values))).fit(
        cov_type="cluster", cov_kwds={"groups": labels}, use_t=True)
    compared = paired_clustered(values, baseline, clusters)
    assert compared.p_value == pytest.approx(fit.pvalues[0], rel=1e-7, abs=1e-12)
    independent = np.var(values, ddof=1) / len(values)
    se = sm.OLS(np.array(values), np.ones(len(values))).fit(
        cov_type="cluster", cov_kwds={"groups": labels}).bse[0]
    assert summary.design_effect == pytest.approx(se ** 2 / independent, rel=1e-9)
