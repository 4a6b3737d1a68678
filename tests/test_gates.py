"""Gates judged on hand-made scores: every rule on both sides of its threshold, and every way
a gate must fail for lack of evidence."""

from __future__ import annotations

import json
import math

import pytest

from evalspec.results.columns import Column, normalise
from evalspec.results.gates import evaluate
from evalspec.results.report import Scores
from evalspec.spec.models import Gate

JUDGE = Column("judge", "auto_evaluation.guided_decoding", "correct > wrong",
               ("correct", "wrong"), (0.0, 1.0))
ROUGE = Column("rouge", "metric", "rougeL", bounds=(0.0, 1.0))


def _key(i: int) -> str:
    return json.dumps(f"r{i:03d}")


def scores(columns: dict[str, dict[str, dict[int, float | str]]], rows: int = 20,
           status: dict[str, str] | None = None, lacking: dict[str, set[int]] | None = None
           ) -> Scores:
    """``columns``: alias -> member -> row -> a score, or 'failed'/'pending'/'unscored'.
    ``lacking``: member -> rows it has no item for."""
    members = sorted({m for by_member in columns.values() for m in by_member})
    values = {a: {m: {} for m in members} for a in columns}
    gaps = {a: {m: {} for m in members} for a in columns}
    for alias, by_member in columns.items():
        for member, by_row in by_member.items():
            for row, value in by_row.items():
                if isinstance(value, str):
                    gaps[alias][member][_key(row)] = value
                else:
                    values[alias][member][_key(row)] = value
    have = {m: {_key(i) for i in range(rows)} - {_key(i) for i in (lacking or {}).get(m, ())}
            for m in members}
    known = [c for c in (JUDGE, ROUGE) if c.alias in columns]
    return Scores("EvaluationGroup/g", members, known, values, have, gaps,
                  status or {m: "completed" for m in members})


def full(value: float, rows: int = 20) -> dict[int, float | str]:
    return dict.fromkeys(range(rows), value)


def test_min_and_max_on_both_sides_of_the_threshold() -> None:
    data = scores({"rouge": {"a": full(0.7), "b": full(0.69)}})
    assert evaluate(Gate(score="rouge", min=0.7, members=["a"]), data).held
    low = evaluate(Gate(score="rouge", min=0.7, members=["b"]), data)
    assert (low.held, low.detail) == (False, "b averages 0.690 < 0.7")
    assert evaluate(Gate(score="rouge", max=0.69, members=["b"]), data).held
    high = evaluate(Gate(score="rouge", max=0.69, members=["a"]), data)
    assert (high.held, high.detail) == (False, "a averages 0.700 > 0.69")


@pytest.mark.parametrize(("by_row", "lacking", "why"), [
    ({}, set(), "20 rows without a score (unscored 20)"),  # n = 0: nothing scored at all
    ({0: 1.0}, set(), "19 rows without a score (unscored 19)"),  # n = 1
    (full(1.0, 19), {19}, "1 row without a score (missing 1)"),
    ({**full(1.0, 19), 19: "failed"}, set(), "1 row without a score (failed 1)"),
    ({**full(1.0, 18), 18: "pending", 19: "unscored"}, set(),
     "2 rows without a score (pending 1, unscored 1)"),
])
def test_a_mean_over_some_rows_is_not_judged(by_row, lacking, why) -> None:
    data = scores({"rouge": {"a": {**{i: "unscored" for i in range(20) if i not in by_row
                                      and i not in lacking}, **by_row},
                             "other": full(0.5)}},  # has every row
                  lacking={"a": lacking})
    for gate in (Gate(score="rouge", min=0.0, members=["a"]),
                 Gate(score="rouge", max=1.0, members=["a"])):
        verdict = evaluate(gate, data)
        assert (verdict.held, verdict.detail) == (
            False, f"a: no mean over all 20 rows to judge: {why}")


def test_unscored_outputs_can_count_as_zero() -> None:
    data = scores({"rouge": {"a": {**full(1.0, 18), 18: "unscored", 19: "unscored"}}})
    zero = evaluate(Gate(score="rouge", min=0.9, unscored="zero"), data)
    assert (zero.held, zero.detail) == (True, "a averages 0.900 over 20 rows")
    assert not evaluate(Gate(score="rouge", min=0.91, unscored="zero"), data).held
    assert evaluate(Gate(score="rouge", max_missing_rows=0, unscored="zero"), data).held


def test_missing_rows_are_counted_per_member_and_score_with_each_kind() -> None:
    data = scores({"rouge": {"a": full(1.0), "b": {**full(1.0, 17), 17: "failed",
                                                     18: "pending", 19: "unscored"}},
                   "judge": {"a": full(1.0), "b": full(1.0, 19)}},
                  lacking={"a": {19}})
    assert evaluate(Gate(score="rouge", max_missing_rows=3, members=["b"]), data).held
    verdict = evaluate(Gate(score="rouge", max_missing_rows=2), data)
    assert (verdict.held, verdict.detail) == (
        False, "b lacks a score for 3 rows (failed 1, pending 1, unscored 1)")
    # A row with an item, but neither a score nor a reason, counts as unscored.
    judged = evaluate(Gate(score="judge", max_missing_rows=0), data)
    assert (judged.held, judged.detail) == (
        False, "a lacks a score for 1 row (missing 1); b lacks a score for 1 row "
               "(unscored 1)")
    assert evaluate(Gate(score="judge", max_missing_rows=1), data).held


def _regression(candidate: dict[int, float | str], baseline: dict[int, float | str],
                **gate: object):
    data = scores({"rouge": {"cand": candidate, "base": baseline}})
    return evaluate(Gate(score="rouge", no_regression_vs="base", **gate), data)


def test_no_regression_on_both_sides_of_alpha() -> None:
    base = {i: 0.6 + 0.01 * (i % 5) for i in range(20)}
    worse = {i: v - 0.05 + 0.02 * (i % 3 - 1) for i, v in base.items()}
    failed = _regression(worse, base)
    assert not failed.held and failed.detail.endswith("significantly worse")
    slightly = {i: v - (0.02 if i % 2 else -0.018) for i, v in base.items()}
    assert _regression(slightly, base).held
    assert _regression(base, base).held  # no difference at all


def test_a_comparison_without_evidence_fails() -> None:
    base = full(0.5)
    few = {**{i: "failed" for i in range(20)}, **full(0.5, 9)}
    verdict = _regression(few, base)
    assert (verdict.held, verdict.detail) == (
        False, "cand: only 9 rows with a score for both it and base (at least 10 needed "
               "to judge)")
    nothing = _regression({i: "failed" for i in range(20)}, base)
    assert not nothing.held and "only 0 rows" in nothing.detail


def test_the_family_is_the_gates_own_comparisons() -> None:
    """Bystanders the gate does not name change nothing (they changed Holm's family)."""
    base = {i: 0.6 + 0.01 * (i % 5) for i in range(20)}
    cand = {i: v - 0.03 + 0.02 * (i % 3 - 1) for i, v in base.items()}
    alone = scores({"rouge": {"cand": cand, "base": base}})
    crowd = scores({"rouge": {"cand": cand, "base": base,
                              **{f"x{n}": full(0.6) for n in range(4)}}})
    gate = Gate(score="rouge", no_regression_vs="base", members=["cand"])
    assert evaluate(gate, alone) == evaluate(gate, crowd)
    both = Gate(score="rouge", no_regression_vs="base", members=["cand", "x0"])
    assert "(Bonferroni over 2)" in evaluate(both, crowd).detail
    assert "97.5% interval" in evaluate(both, crowd).detail


def test_zero_one_scores_are_compared_with_mcnemar() -> None:
    base = full(1.0)
    cand = {**full(1.0), **dict.fromkeys(range(8), 0.0)}
    verdict = _regression(cand, base)
    assert not verdict.held and "McNemar p 0.00781" in verdict.detail


def test_judge_answers_are_normalised_before_they_score() -> None:
    assert [JUDGE.score(v) for v in ("correct", "Correct", "CORRECT.", " correct ", "wrong",
                                     "right", None, 1)] == [1.0, 1.0, 1.0, 1.0, 0.0, None,
                                                           None, None]
    question = Column("q", "auto_evaluation.question", "q")
    assert [question.score(v) for v in ("yes.", "No", "4.5", " 3 ", True, "nan", "maybe",
                                        float("inf"))] == [1.0, 0.0, 4.5, 3.0, 1.0, None,
                                                           None, None]
    assert normalise('  "Partly correct!" ') == "partly correct"
    yes_no = Column("ok", "auto_evaluation.guided_decoding", "yes > no", ("yes", "no"),
                    (0.0, 1.0))
    assert [yes_no.score(v) for v in ("Yes", "no", "No.", "nope")] == [1.0, 0.0, 0.0, None]


MARGINAL = [0.55, 0.59, 0.63, 0.58, 0.62, 0.58, 0.62, 0.63, 0.58, 0.62, 0.61, 0.59, 0.63, 0.58,
            0.65, 0.58, 0.62, 0.6, 0.64, 0.65]  # vs BASE: paired t p = 0.0286
BASE = [round(0.6 + 0.01 * (i % 5), 2) for i in range(20)]


def test_a_marginal_drop_fails_alone_and_holds_in_a_family_of_two() -> None:
    cand, base = dict(enumerate(MARGINAL)), dict(enumerate(BASE))
    alone = _regression(cand, base)
    assert not alone.held and "paired t p 0.0286" in alone.detail
    data = scores({"rouge": {"cand": cand, "base": base, "twin": base}})
    two = evaluate(Gate(score="rouge", no_regression_vs="base", members=["cand", "twin"]),
                   data)
    assert two.held and two.detail.startswith(
        "cand -0.013 [-0.025, +0.000] (97.5% interval) vs base on 20 paired rows, paired t "
        "p 0.0571 (Bonferroni over 2)")


def test_rows_are_paired_by_their_key_not_their_position() -> None:
    cand = dict(enumerate(MARGINAL))
    shuffled = dict(reversed(list(cand.items())))  # the items arrived in another order
    base = dict(enumerate(BASE))
    assert _regression(shuffled, base).detail == _regression(cand, base).detail


def test_an_interval_below_zero_fails_the_gate_even_when_the_test_does_not() -> None:
    """McNemar's exact test and the Bonett-Price interval can disagree at the margin (5 rows
    lost of 20: p 0.0625, interval wholly below 0): the gate fails on either, so the interval
    printed never contradicts the verdict."""
    verdict = _regression({**full(1.0), **dict.fromkeys(range(5), 0.0)}, full(1.0))
    assert not verdict.held
    assert verdict.detail == (
        "cand -0.250 [-0.443, -0.012] (95% interval) vs base on 20 paired rows, McNemar p "
        "0.0625: significantly worse")


def _margin(candidate: dict[int, float | str], baseline: dict[int, float | str], rule: str,
            margin: float, **gate: object):
    data = scores({"rouge": {"cand": candidate, "base": baseline}})
    return evaluate(Gate(score="rouge", **{rule: {"member": "base", "margin": margin}}, **gate),
                    data)


def test_non_inferiority_holds_only_when_the_lower_bound_clears_minus_the_margin() -> None:
    from scipy import stats as scipy_stats

    cand, base = dict(enumerate(MARGINAL)), dict(enumerate(BASE))
    diffs = [c - b for c, b in zip(MARGINAL, BASE, strict=True)]
    mean = sum(diffs) / 20
    lower = mean - scipy_stats.t.ppf(0.95, 19) * scipy_stats.sem(diffs)  # one-sided 95 %
    assert lower == pytest.approx(-0.02162, abs=1e-5)
    held = _margin(cand, base, "no_regression_vs", 0.025)
    assert held.held and held.detail == (
        "cand -0.013 vs base on 20 paired rows, lower bound -0.022 (95% one-sided, paired t) "
        "above -0.025 (the margin)")
    failed = _margin(cand, base, "no_regression_vs", 0.02)
    assert not failed.held
    assert failed.detail == (
        "cand -0.013 vs base on 20 paired rows, lower bound -0.022 (95% one-sided, paired t) "
        "is not above -0.020 (the margin); underpowered: about 62 rows would show it at 80% "
        "power if the difference stays -0.013")
    from evalspec.results.stats import rows_needed

    sd = scipy_stats.tstd(diffs)
    assert math.ceil(rows_needed(sd, mean + 0.02, 0.05)) == 62
    # Just beside the bound, on either side.
    assert _margin(cand, base, "no_regression_vs", -lower + 1e-4).held
    assert not _margin(cand, base, "no_regression_vs", -lower - 1e-4).held


def test_superiority_needs_the_lower_bound_above_the_margin() -> None:
    base = dict(enumerate(BASE))
    better = {i: v + 0.1 + 0.01 * (i % 3) for i, v in base.items()}
    assert _margin(better, base, "better_than", 0.05).held
    short = _margin(better, base, "better_than", 0.12)
    assert not short.held and ("is not above +0.120 (the margin); more rows would not show "
                               "it: the difference itself (+0.109) is not above +0.120"
                               ) in short.detail
    assert not _margin(base, base, "better_than", 0.0).held  # equal is not better


def test_rows_needed_for_a_margin_matches_statsmodels() -> None:
    power = pytest.importorskip("statsmodels.stats.power")
    from evalspec.results.stats import rows_needed

    for effect in (0.1, 0.3, 0.5):
        reference = power.NormalIndPower().solve_power(effect_size=effect, alpha=0.05,
                                                       power=0.8, ratio=0,
                                                       alternative="larger")
        assert rows_needed(1.0, effect, 0.05) == pytest.approx(reference, rel=1e-6)


def test_the_minimum_detectable_difference_against_statsmodels() -> None:
    """(t(0.975) + t(0.8)) · sd/√n is within 0.2 % of the exact noncentral-t answer from 10
    rows on (docs/report.md works an example)."""
    power = pytest.importorskip("statsmodels.stats.power")
    from evalspec.results.stats import mde, paired

    for n in (10, 20, 60, 200):
        candidate = [float(i % 4) for i in range(n)]
        baseline = [float((i + 1) % 3) for i in range(n)]
        pair = paired(candidate, baseline)
        exact = power.TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8,
                                               alternative="two-sided") * pair.sd
        assert mde(pair) == pytest.approx(exact, rel=2e-3)


def test_the_verdict_says_what_the_rows_could_not_show() -> None:
    from evalspec.results.report_render import verdict_lines

    base = dict(enumerate(BASE))
    close = {i: v + (0.01 if i % 2 else -0.01) for i, v in base.items()}
    data = scores({"rouge": {"base": base, "cand": close, "worse": dict(enumerate(MARGINAL))}})
    [line] = verdict_lines(data.compare("base"))
    assert line == (  # Holm over two: worse's p 0.0286 becomes 0.057
        "rouge: base ranks first (0.620 on 20 common rows); against base: cand is not shown "
        "different (+0.000; these rows could only show a difference of 0.007 or more); worse "
        "is not shown different (-0.013; these rows could only show a difference of 0.016 or "
        "more)")
    [alone] = verdict_lines(scores({"rouge": {"base": base, "worse": dict(
        enumerate(MARGINAL))}}).compare("base"))
    assert alone.endswith("worse is significantly worse (-0.013, p (Holm) 0.029)")
    few = scores({"rouge": {"base": full(0.5, 1), "cand": full(0.5, 1)}}, rows=1)
    assert verdict_lines(few.compare("base")) == [
        "rouge: base ranks first (0.500 on 1 common rows); against base: cand: not compared "
        "(too few rows with both scores)"]


def test_variance_within_and_between_repeated_rows() -> None:
    from evalspec.results.report import Repeats

    assert Repeats.of([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]) == Repeats(3, 0.5, 2.0)
    single = Repeats.of([[1.0], [3.0]])
    assert (single.copies, single.between) == (1, 2.0) and math.isnan(single.within)
