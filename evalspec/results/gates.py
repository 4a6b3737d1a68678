"""``evalspec check``: hold a group's scores to the gates in the specs.

A gate names a score column and one or more rules; it applies to the members its ``members``
globs match (default: every member; for ``no_regression_vs``, every member but the one
compared with). A gate holds only on evidence (docs/report.md):

- ``min`` / ``max``: each member's mean score over every row of the group is at least / at
  most this; a member without a score for some rows (missing, failed, pending or unscored)
  fails it, since its mean would be over other rows;
- ``no_regression_vs: MEMBER``: no member scores significantly worse than MEMBER on the rows
  both have a score for. The family is this gate's own k comparisons, Bonferroni-corrected:
  it fails when a member's mean paired difference is below 0 with p·k below ``alpha``
  (default 0.05), or when the upper end of its 1 − alpha/k interval is below 0, so the
  interval printed never contradicts the verdict; with fewer than MIN_PAIRED_ROWS such rows,
  or no p-value, it fails too;
- ``no_regression_vs: {member, margin}`` / ``better_than: {member, margin}``: each member
  must be shown no worse than MEMBER by more than the margin / better by more than it: the
  one-sided 1 − alpha/k lower bound of the difference must clear −margin / +margin; a
  failure says how many rows the margin would need (``underpowered: …``);
- ``max_missing_rows``: each member lacks a score for at most this many of the group's rows
  in this column, counting rows without an item and failed, pending and unscored items;
- ``unscored: zero`` scores outputs the column cannot read as 0 instead of counting them as
  lacking a score.

Gates in evalspec.yaml apply to every group; gates on an EvaluationGroup to that group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from evalspec.results.report import MIN_PAIRED_ROWS, Scores, compare_pair
from evalspec.results.stats import mde, rows_needed, summarize
from evalspec.spec.models import Gate


@dataclass(frozen=True)
class Verdict:
    group: str
    gate: str  # the gate, in words
    held: bool
    detail: str  # the figures

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "gate": self.gate, "held": self.held,
                "detail": self.detail}


def describe(gate: Gate) -> str:
    parts = [gate.score]
    if gate.min is not None:
        parts.append(f"min {gate.min:g}")
    if gate.max is not None:
        parts.append(f"max {gate.max:g}")
    if gate.better_than is not None:
        parts.append(f"better than {gate.compared_with} by more than {gate.margin:g} "
                     f"(alpha {gate.alpha:g})")
    elif gate.margin is not None:
        parts.append(f"no worse than {gate.compared_with} by more than {gate.margin:g} "
                     f"(alpha {gate.alpha:g})")
    elif gate.no_regression_vs is not None:
        parts.append(f"no regression vs {gate.compared_with} (alpha {gate.alpha:g})")
    if gate.max_missing_rows is not None:
        parts.append(f"at most {gate.max_missing_rows} missing rows")
    if gate.unscored == "zero":
        parts.append("(unscored outputs score 0)")
    if gate.members:
        parts.append(f"for {', '.join(gate.members)}")
    return " ".join(parts)


def _chosen(gate: Gate, members: list[str], exclude: str | None = None) -> list[str]:
    return [m for m in members if m != exclude and (
        gate.members is None or any(fnmatchcase(m, p) for p in gate.members))]


def _f(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _signed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.3f}"


def _p(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3g}"


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _lacking(gaps: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in gaps.items() if count)


def evaluate(gate: Gate, scores: Scores) -> Verdict:
    group, name = scores.address, describe(gate)
    column = next((c for c in scores.columns if c.alias == gate.score), None)
    if column is None:
        known = ", ".join(c.alias for c in scores.columns) or "none"
        return Verdict(group, name, False, f"no score column '{gate.score}' (scores: {known})")
    baseline = gate.compared_with
    if baseline is not None and baseline not in scores.members:
        return Verdict(group, name, False, f"'{baseline}' is not a member")
    members = _chosen(gate, scores.members, baseline)
    if not members:
        return Verdict(group, name, False, "no member matches the gate's members")
    zero = gate.unscored == "zero"
    rows = len(scores.every_row)
    failures, notes = [], []
    for member in members:
        values = scores.member_values(gate.score, member, zero)
        gaps = scores.gap_counts(gate.score, member, zero)
        lacking = sum(gaps.values())
        if gate.min is not None or gate.max is not None:
            mean = summarize(list(values.values())).mean
            if lacking or math.isnan(mean):
                failures.append(f"{member}: no mean over all {rows} rows to judge: "
                                f"{_rows(lacking)} without a score "
                                f"({_lacking(gaps) or 'no rows'})")
            elif gate.min is not None and not mean >= gate.min:
                failures.append(f"{member} averages {_f(mean)} < {gate.min:g}")
            elif gate.max is not None and not mean <= gate.max:
                failures.append(f"{member} averages {_f(mean)} > {gate.max:g}")
            else:
                notes.append(f"{member} averages {_f(mean)} over {rows} rows")
        if gate.max_missing_rows is not None:
            if lacking > gate.max_missing_rows:
                failures.append(f"{member} lacks a score for {_rows(lacking)} "
                                f"({_lacking(gaps)})")
            elif gate.min is None and gate.max is None and baseline is None:
                notes.append(f"{member} lacks {lacking}" + (f" ({_lacking(gaps)})"
                                                           if lacking else ""))
    if baseline is not None:
        failures += _regressions(gate, scores, members, baseline, notes)
    if failures:
        return Verdict(group, name, False, "; ".join(failures))
    return Verdict(group, name, True, "; ".join(notes))


def _regressions(gate: Gate, scores: Scores, members: list[str], baseline: str,
                 notes: list[str]) -> list[str]:
    """``no_regression_vs`` and ``better_than``: Bonferroni over this gate's comparisons,
    each on its paired rows, with the interval at the same simultaneous level."""
    zero = gate.unscored == "zero"
    column = next(c for c in scores.columns if c.alias == gate.score)
    reference = scores.member_values(gate.score, baseline, zero)
    family = len(members)
    clusters = scores.clusters if scores.cluster_by else None
    failures = []
    for member in members:
        candidate = scores.member_values(gate.score, member, zero)
        judge = _no_regression if gate.margin is None else _with_margin
        failure, note = judge(gate, member, baseline, candidate, reference, column.bounds,
                              family, clusters)
        if failure:
            failures.append(failure)
        else:
            notes.append(note)
    return failures


def _few(member: str, baseline: str, n: int) -> str:
    return (f"{member}: only {n} rows with a score for both it and {baseline} (at least "
            f"{MIN_PAIRED_ROWS} needed to judge)")


def _no_regression(gate: Gate, member: str, baseline: str, candidate: dict[str, float],
                   reference: dict[str, float], bounds: tuple[float, float] | None,
                   family: int, clusters: dict[str, str] | None) -> tuple[str | None, str]:
    """Not shown worse: a two-sided test, with the difference it could have detected."""
    level = 1 - gate.alpha / family
    pair = compare_pair(candidate, reference, bounds, level, clusters)
    diff = pair.summary
    adjusted = min(1.0, pair.p_value * family)
    text = (f"{member} {_signed(diff.mean)} [{_signed(diff.low)}, {_signed(diff.high)}] "
            f"({level * 100:g}% interval) vs {baseline} on {diff.n} paired rows, "
            f"{pair.method} p {_p(adjusted)}"
            + (f" (Bonferroni over {family})" if family > 1 else ""))
    if diff.n < MIN_PAIRED_ROWS:
        return _few(member, baseline, diff.n), ""
    if math.isnan(adjusted) or math.isnan(diff.mean):
        return f"{text}: no p-value, nothing to judge on", ""
    if (diff.mean < 0 and adjusted < gate.alpha) or diff.high < 0:
        return f"{text}: significantly worse", ""
    return None, f"{text}; MDE (80%) {_f(mde(pair, gate.alpha / family))}"


def _with_margin(gate: Gate, member: str, baseline: str, candidate: dict[str, float],
                 reference: dict[str, float], bounds: tuple[float, float] | None,
                 family: int, clusters: dict[str, str] | None) -> tuple[str | None, str]:
    """Shown no worse than -margin (no_regression_vs) or better than +margin
    (better_than): the one-sided lower bound at 1 - alpha/k must clear it."""
    assert gate.margin is not None  # pragma: no mutate (the caller checked)
    one_sided = gate.alpha / family
    pair = compare_pair(candidate, reference, bounds, 1 - 2 * one_sided, clusters)
    diff = pair.summary
    bound = gate.margin if gate.better_than is not None else -gate.margin
    text = (f"{member} {_signed(diff.mean)} vs {baseline} on {diff.n} paired rows, lower bound "
            f"{_signed(diff.low)} ({(1 - one_sided) * 100:g}% one-sided, {pair.method}"
            + (f", Bonferroni over {family}" if family > 1 else "") + ")")
    if diff.n < MIN_PAIRED_ROWS:
        return _few(member, baseline, diff.n), ""
    if math.isnan(diff.low):
        return f"{text}: no interval, nothing to judge on", ""
    if diff.low > bound:
        return None, f"{text} above {_signed(bound)} (the margin)"
    se, _ = pair.standard_error  # clustered rows: the design effect is in it
    needed = rows_needed(se * math.sqrt(diff.n), diff.mean - bound, one_sided)
    power = (f"underpowered: about {math.ceil(needed):,} rows would show it at 80% power "
             f"if the difference stays {_signed(diff.mean)}" if math.isfinite(needed)
             and needed > diff.n else "more rows would not show it: the difference itself "
             f"({_signed(diff.mean)}) is not above {_signed(bound)}" if not math.isfinite(needed)
             else "")
    return (f"{text} is not above {_signed(bound)} (the margin)"
            + (f"; {power}" if power else "")), ""
