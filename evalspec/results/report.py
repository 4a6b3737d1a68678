"""``evalspec report``: which member of a group scores best, by how much, with what certainty.

Every score column (:mod:`evalspec.results.columns`) of the members' tasks is read from their
items, streamed member by member; one float per (column, member, row) is kept for the join
(repeated rows: their copies, until they are averaged). Every row of the group that a member
has no score for is counted, by why: ``missing`` (no item), ``failed`` (the task errored),
``pending`` (not run yet) or ``unscored`` (an output the score cannot read).

The statistics are in :mod:`evalspec.results.stats`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evalspec.client.sgp import SGPClient
from evalspec.errors import EvalspecError
from evalspec.plan.refresh import refresh
from evalspec.results.columns import Column, score_columns
from evalspec.results.stats import (
    Paired,
    Summary,
    holm,
    mde,
    paired,
    paired_clustered,
    summarize,
    summarize_clustered,
    variance,
)
from evalspec.results.status import FINISHED, find_owned, member_items, member_names_of
from evalspec.spec.payloads import REPEAT, REPEAT_ROW

FORMAT_VERSION = 2  # 2: common-row ranking, rows without a score, tests named
MIN_PAIRED_ROWS = 10  # fewer rows both members have a score for: no verdict on a difference
BY_FAMILY = ("p (Holm) corrects within each category and score; nothing corrects across "
             "categories, so read a category's significance as exploratory")


@dataclass(frozen=True)
class Repeats:
    """A member's repeated rows in one score: copies per row, and the variance of a copy's
    score within a row (the sampling noise repeats average away) and of the row means
    between rows (what the rows themselves differ by)."""

    copies: int
    within: float
    between: float

    @classmethod
    def of(cls, per_row: list[list[float]]) -> Repeats:
        within = [variance(r) for r in per_row if len(r) > 1]
        return cls(max(len(r) for r in per_row),
                   math.fsum(within) / len(within) if within else math.nan,
                   variance([math.fsum(r) / len(r) for r in per_row]))


# What a row of a member can be for one score column, besides scored.
GAPS = ("missing", "failed", "pending", "unscored")


@dataclass
class ColumnReport:
    column: Column
    scores: dict[str, Summary] = field(default_factory=dict)  # member -> on all its rows
    common: dict[str, Summary] = field(default_factory=dict)  # member -> on the common rows
    common_rows: int = 0  # rows every member has a score for: the ranking's rows
    versus: dict[str, tuple[Paired, float]] = field(default_factory=dict)  # -> (paired, Holm p)
    gaps: dict[str, dict[str, int]] = field(default_factory=dict)  # member -> kind -> rows


@dataclass
class Report:
    address: str
    members: list[str]
    baseline: str
    rows: int
    missing: dict[str, int]  # member -> rows of the group it has no item for
    columns: list[ColumnReport]
    status: dict[str, str] = field(default_factory=dict)  # member -> its evaluation's status
    repeats: dict[str, dict[str, Repeats]] = field(default_factory=dict)  # alias, member
    cluster_by: str | None = None
    clusters: int = 0  # how many clusters the rows fall in
    # report --by COLUMN: the column, and the comparison repeated per value of it
    breakdown: tuple[str, list[tuple[str, Report]]] | None = None

    @property
    def unfinished(self) -> list[str]:
        return [m for m in self.members if self.status.get(m, "completed") not in FINISHED]

    def ranked(self, report: ColumnReport) -> list[str]:
        """Members by mean score on the rows every member has a score for (so leaving hard
        rows out cannot win), best first; members without a score last."""
        def key(name: str) -> tuple[bool, float]:
            summary = report.common.get(name)
            mean = summary.mean if summary and summary.n else math.nan
            return (math.isnan(mean), -mean if not math.isnan(mean) else 0.0)

        return sorted(self.members, key=key)

    def to_json(self) -> dict[str, Any]:
        def probability(value: float) -> float | None:  # significant digits: never 0.0
            return None if math.isnan(value) else float(f"{value:.6g}")

        def interval(summary: Summary) -> list[float | None] | None:
            return ([_number(summary.low), _number(summary.high)] if summary.has_interval
                    else None)

        columns = []
        for report in self.columns:
            members = []
            for name in self.ranked(report):
                summary = report.scores.get(name, summarize([]))
                common = report.common.get(name, summarize([]))
                entry: dict[str, Any] = {
                    "name": name, "n": summary.n, "mean": _number(summary.mean),
                    "ci95": interval(summary), "interval_method": summary.method,
                    "design_effect": _number(summary.design_effect),
                    **_repeat_json(self.repeats.get(report.column.alias, {}).get(name)),
                    "common": {"n": common.n, "mean": _number(common.mean),
                               "ci95": interval(common)},
                    "rows_without_score": dict(report.gaps.get(name, {}))}
                if name in report.versus:
                    compared, adjusted = report.versus[name]
                    entry["vs_baseline"] = {
                        "n": compared.summary.n, "mean_difference": _number(compared.summary.mean),
                        "ci95": interval(compared.summary), "test": compared.method,
                        "p_value": probability(compared.p_value),
                        "p_holm": probability(adjusted), "mde": _number(mde(compared)),
                        "wins": compared.wins, "ties": compared.ties,
                        "losses": compared.losses}
                members.append(entry)
            columns.append({"alias": report.column.alias, "task_type": report.column.kind,
                            "detail": report.column.detail, "common_rows": report.common_rows,
                            "members": members})
        by: dict[str, Any] = {}
        if self.breakdown is not None:
            column, parts = self.breakdown
            by = {"by": {"column": column, "family": BY_FAMILY,
                         "categories": [{"value": value, "report": part.to_json()}
                                        for value, part in parts]}}
        return {"format_version": FORMAT_VERSION, "address": self.address,
                "baseline": self.baseline, "rows": self.rows, **by,
                "cluster_by": self.cluster_by, "clusters": self.clusters,
                "members": [{"name": m, "missing_rows": self.missing[m],
                             "status": self.status.get(m, "unknown")} for m in self.members],
                "scores": columns}


def _number(value: float) -> float | None:
    """A figure for the JSON report: six decimals, null for none."""
    return None if math.isnan(value) else round(value, 6)


def _repeat_json(repeats: Repeats | None) -> dict[str, Any]:
    if repeats is None:
        return {}
    return {"repeats": {"copies": repeats.copies, "variance_within_rows": _number(repeats.within),
                        "variance_between_rows": _number(repeats.between)}}


@dataclass
class Scores:
    """Every member's score per column and row, as read: what the report computes from."""

    address: str
    members: list[str]
    columns: list[Column]
    values: dict[str, dict[str, dict[str, float]]]  # column -> member -> row key -> score
    rows: dict[str, set[str]]  # member -> the row keys it has an item for
    # column -> member -> row key -> "failed", "pending" or "unscored" (rows with an item
    # and no score)
    gaps: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # member -> evaluation status
    cluster_by: str | None = None  # the item column whose rows share a source
    clusters: dict[str, str] = field(default_factory=dict)  # row key -> its cluster

    categories: dict[str, str] = field(default_factory=dict)  # row key -> its --by value
    repeats: dict[str, dict[str, Repeats]] = field(default_factory=dict)  # alias, member

    def subset(self, keys: set[str]) -> Scores:
        """The same scores on these rows only."""
        def keep(by_member: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
            return {m: {k: v for k, v in rows.items() if k in keys}
                    for m, rows in by_member.items()}

        return Scores(self.address, self.members, self.columns,
                      {a: keep(v) for a, v in self.values.items()},
                      {m: rows & keys for m, rows in self.rows.items()},
                      {a: keep(g) for a, g in self.gaps.items()}, self.status,
                      self.cluster_by, {k: c for k, c in self.clusters.items() if k in keys})

    def by_category(self, baseline: str | None, column: str) -> Report:
        """The report, then the same comparison for each value of ``column``."""
        report = self.compare(baseline)
        values: dict[str, set[str]] = {}
        for key in self.every_row:
            values.setdefault(self.categories.get(key, "(none)"), set()).add(key)
        report.breakdown = (column, [(value, self.subset(keys).compare(baseline))
                                     for value, keys in sorted(values.items())])
        return report

    @property
    def every_row(self) -> set[str]:
        return set().union(*self.rows.values()) if self.rows else set()

    def _unscored_rows(self, alias: str, member: str) -> dict[str, str]:
        """The member's rows with an item but no score in this column, and why: a row that
        was neither scored nor marked is unscored, never silently dropped."""
        scored = self.values[alias][member]
        marked = self.gaps.get(alias, {}).get(member, {})
        return {k: marked.get(k, "unscored") for k in self.rows[member] if k not in scored}

    def member_values(self, alias: str, member: str, unscored_zero: bool = False
                      ) -> dict[str, float]:
        """A member's scores in one column; ``unscored_zero``: unscored outputs score 0."""
        scored = self.values[alias][member]
        if not unscored_zero:
            return scored
        zeros = {k: 0.0 for k, kind in self._unscored_rows(alias, member).items()
                 if kind == "unscored"}
        return {**zeros, **scored}

    def gap_counts(self, alias: str, member: str, unscored_zero: bool = False
                   ) -> dict[str, int]:
        """Rows of the group the member has no score for in this column, by why."""
        counts = {kind: 0 for kind in GAPS}
        counts["missing"] = len(self.every_row - self.rows[member])
        for kind in self._unscored_rows(alias, member).values():
            if not (unscored_zero and kind == "unscored"):
                counts[kind] += 1
        return counts

    def compare(self, baseline: str | None = None) -> Report:
        if baseline is not None and baseline not in self.members:
            raise EvalspecError(f"--baseline {baseline}: not a member of {self.address}; "
                                f"members: {', '.join(self.members)}")
        chosen = baseline or self.members[0]
        reports = []
        for column in self.columns:
            report = ColumnReport(column)
            by_member = self.values[column.alias]
            common = set.intersection(*(set(by_member[m]) for m in self.members))
            report.common_rows = len(common)
            for member in self.members:
                report.scores[member] = self.summary(by_member[member], column.bounds)
                report.common[member] = self.summary(
                    {k: by_member[member][k] for k in common}, column.bounds)
                report.gaps[member] = self.gap_counts(column.alias, member)
            others = [m for m in self.members if m != chosen]
            comparisons = [compare_pair(by_member[m], by_member[chosen], column.bounds,
                                        clusters=self.clusters if self.cluster_by else None)
                           for m in others]
            adjusted = holm([c.p_value for c in comparisons])
            report.versus = {m: (c, p) for m, c, p in zip(others, comparisons, adjusted,
                                                          strict=True)}
            reports.append(report)
        every = self.every_row
        missing = {m: len(every - self.rows[m]) for m in self.members}
        return Report(self.address, self.members, chosen, len(every), missing, reports,
                      dict(self.status), self.repeats, self.cluster_by,
                      len(set(self.clusters.values())) if self.cluster_by else 0)

    def summary(self, by_row: Mapping[str, float], bounds: tuple[float, float] | None
                ) -> Summary:
        """A mean and its interval: cluster-robust when rows are clustered."""
        if self.cluster_by:
            keys = sorted(by_row)
            return summarize_clustered([by_row[k] for k in keys],
                                       [self.clusters[k] for k in keys], bounds)
        return summarize(list(by_row.values()), bounds)


def compare_pair(candidate: Mapping[str, float], baseline: Mapping[str, float],
                 bounds: tuple[float, float] | None, level: float = 0.95,
                 clusters: Mapping[str, str] | None = None) -> Paired:
    """The paired comparison on the rows both have a score for, matched by row key;
    cluster-robust when ``clusters`` (row key -> cluster) is given."""
    shared = sorted(set(candidate) & set(baseline))
    first, second = [candidate[k] for k in shared], [baseline[k] for k in shared]
    if clusters is not None:
        return paired_clustered(first, second, [clusters[k] for k in shared], bounds, level)
    return paired(first, second, bounds, level)


def _gap(status: Any, value: Any, present: bool) -> str | None:
    """Why an item has no score in a column (None: it may have one)."""
    if status == "errored":
        return "failed"
    if status in ("pending", None) and not present:
        return "pending"
    if status == "skipped":
        return "pending" if not present else None
    return None


async def read_scores(client: SGPClient, project: str, name: str,
                      cluster_by: str | None = None, by: str | None = None) -> Scores:
    """Stream the members' items once, keeping one float per (column, member, row), and
    why each row that has no score has none; ``cluster_by``: the item column whose rows
    share a source (a row without it is an error, never an independent row)."""
    actual = await refresh(client, project)
    target = find_owned(actual, name, project)
    members = member_names_of(actual, target)
    evaluations = {o.name: o for o in actual.objects
                   if o.kind == "Evaluation" and not o.archived}
    columns = score_columns(target, evaluations, members)
    values: dict[str, dict[str, dict[str, float]]] = {
        c.alias: {m: {} for m in members} for c in columns}
    gaps: dict[str, dict[str, dict[str, str]]] = {
        c.alias: {m: {} for m in members} for c in columns}
    rows: dict[str, set[str]] = {m: set() for m in members}
    clusters: dict[str, str] = {}
    categories: dict[str, str] = {}
    unclustered = 0
    copies: dict[tuple[str, str, str], list[float | str]] = {}  # repeats: every copy's
    async for member, row, item in member_items(client, actual, target):
        data = item.get("data") or {}
        repeated = REPEAT in data and isinstance(data.get(REPEAT_ROW), str)
        if repeated:  # the copies of one row are one row, whichever copy this is
            row = _original_row(data[REPEAT_ROW], row)
        key = json.dumps(row, sort_keys=True)
        rows[member].add(key)
        if by is not None and data.get(by) is not None:
            value = data[by]
            categories.setdefault(key, value if isinstance(value, str) else json.dumps(value))
        if cluster_by is not None:
            if cluster_by in data and data[cluster_by] is not None:
                clusters.setdefault(key, json.dumps(data[cluster_by], sort_keys=True))
            else:
                unclustered += 1
        statuses = item.get("task_result_statuses") or {}
        for column in columns:
            gap = _gap(statuses.get(column.alias), data.get(column.alias),
                       column.alias in data)
            score = None if gap else column.score(data.get(column.alias))
            if repeated:
                copies.setdefault((column.alias, member, key), []).append(
                    score if score is not None else gap or "unscored")
            elif score is not None:
                values[column.alias][member][key] = score
            else:
                gaps[column.alias][member][key] = gap or "unscored"
    repeat_stats = _reduce_copies(copies, values, gaps)
    status = {m: str(evaluations[m].body.get("status") or "unknown") if m in evaluations
              else "missing" for m in members}
    if unclustered or (cluster_by is not None and set().union(*rows.values()) - set(clusters)):
        raise EvalspecError(f"cluster_by {cluster_by}: {unclustered:,} items of "
                            f"{target.address} have no '{cluster_by}' column, so their rows "
                            "cannot be clustered; choose a column every item has")
    return Scores(target.address, members, columns, values, rows, gaps, status, cluster_by,
                  clusters, categories, repeat_stats)


def _original_row(marked: str, fallback: Any) -> Any:
    """The row identifier a copy was made from (evalspec_row is JSON [row, copy])."""
    try:
        decoded = json.loads(marked)
    except ValueError:
        return fallback
    return decoded[0] if isinstance(decoded, list) and len(decoded) == 2 else fallback


def _reduce_copies(copies: Mapping[tuple[str, str, str], list[float | str]],
                   values: dict[str, dict[str, dict[str, float]]],
                   gaps: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, Repeats]]:
    """A repeated row's score is the mean of its copies' (all of them must have one: else
    the row lacks a score, by the first copy's reason); returns the variance components."""
    by_column: dict[tuple[str, str], list[list[float]]] = {}
    for (alias, member, key), found in copies.items():
        scored = [x for x in found if isinstance(x, float)]
        missing = [x for x in found if isinstance(x, str)]
        if missing:
            gaps[alias][member][key] = missing[0]
            continue
        values[alias][member][key] = math.fsum(scored) / len(scored)
        by_column.setdefault((alias, member), []).append(scored)
    stats: dict[str, dict[str, Repeats]] = {}
    for (alias, member), per_row in by_column.items():
        stats.setdefault(alias, {})[member] = Repeats.of(per_row)
    return stats


async def build_report(client: SGPClient, project: str, name: str,
                       baseline: str | None = None, cluster_by: str | None = None,
                       by: str | None = None) -> Report:
    scores = await read_scores(client, project, name, cluster_by, by)
    return scores.by_category(baseline, by) if by else scores.compare(baseline)
