"""``evalspec check``: hold a group's scores to the gates in the specs.

A gate names a score column and one or more rules; it applies to the members its ``members``
globs match (default: every member; for ``no_regression_vs``, every member but the one
compared with):

- ``min`` / ``max``: each member's mean score is at least / at most this;
- ``no_regression_vs: MEMBER``: no member scores significantly worse than MEMBER: it fails
  when a member's mean paired difference is below 0 with a Holm-corrected p-value below
  ``alpha`` (default 0.05);
- ``max_missing_rows``: each member lacks at most this many of the group's rows.

Gates in evalspec.yaml apply to every group; gates on an EvaluationGroup to that group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from evalspec.results.report import Report, Scores
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
    if gate.no_regression_vs is not None:
        parts.append(f"no regression vs {gate.no_regression_vs} (alpha {gate.alpha:g})")
    if gate.max_missing_rows is not None:
        parts.append(f"at most {gate.max_missing_rows} missing rows")
    if gate.members:
        parts.append(f"for {', '.join(gate.members)}")
    return " ".join(parts)


def _chosen(gate: Gate, members: list[str], exclude: str | None = None) -> list[str]:
    return [m for m in members if m != exclude and (
        gate.members is None or any(fnmatchcase(m, p) for p in gate.members))]


def _f(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def evaluate(gate: Gate, scores: Scores) -> Verdict:
    group, name = scores.address, describe(gate)
    column = next((c for c in scores.columns if c.alias == gate.score), None)
    if column is None:
        known = ", ".join(c.alias for c in scores.columns) or "none"
        return Verdict(group, name, False, f"no score column '{gate.score}' (scores: {known})")
    baseline = gate.no_regression_vs
    if baseline is not None and baseline not in scores.members:
        return Verdict(group, name, False, f"'{baseline}' is not a member")
    report: Report = scores.compare(baseline)
    [figures] = [c for c in report.columns if c.column.alias == gate.score]
    members = _chosen(gate, scores.members, baseline)
    if not members:
        return Verdict(group, name, False, "no member matches the gate's members")
    failures, notes = [], []
    for member in members:
        mean = figures.scores[member].mean
        if gate.min is not None and not mean >= gate.min:
            failures.append(f"{member} averages {_f(mean)} < {gate.min:g}")
        if gate.max is not None and not mean <= gate.max:
            failures.append(f"{member} averages {_f(mean)} > {gate.max:g}")
        if gate.max_missing_rows is not None and report.missing[member] > gate.max_missing_rows:
            failures.append(f"{member} lacks {report.missing[member]} rows")
        if baseline is not None:
            compared, p_holm = figures.versus[member]
            diff = compared.summary
            text = (f"{member} {diff.mean:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}] vs "
                    f"{baseline}, p (Holm) {_f(p_holm)}")
            if diff.mean < 0 and p_holm < gate.alpha:
                failures.append(f"{text}: significantly worse")
            else:
                notes.append(text)
        elif gate.min is not None or gate.max is not None:
            notes.append(f"{member} averages {_f(mean)}")
    if failures:
        return Verdict(group, name, False, "; ".join(failures))
    if gate.max_missing_rows is not None and not notes:
        notes.append(f"at most {max(report.missing[m] for m in members)} rows missing")
    return Verdict(group, name, True, "; ".join(notes))
