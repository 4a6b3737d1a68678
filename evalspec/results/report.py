"""``evalspec report``: which member of a group scores best, by how much, with what certainty.

Every score column of the members' tasks is read from their items, streamed member by member;
only one float per (column, member, row) is kept for the join. Score columns:

- ``metric`` tasks: the number the metric gave;
- ``auto_evaluation.guided_decoding`` tasks with ``choices``: the first choice counts 1, the last
  0, those between evenly spaced (``[correct, partly correct, wrong]`` -> 1, 0.5, 0);
- ``auto_evaluation.question`` and other tasks: numbers as they are, ``yes``/``no`` as 1/0,
  ``true``/``false`` as 1/0; anything else is not a score.

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
from evalspec.plan.refresh import Remote, refresh
from evalspec.results.stats import Paired, Summary, holm, paired, summarize
from evalspec.results.status import find_owned, member_items, member_names_of
from evalspec.spec.aliases import task_alias

FORMAT_VERSION = 1
_WORDS = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}


@dataclass(frozen=True)
class Column:
    """A score column: a task alias and how its outputs become numbers."""

    alias: str
    kind: str  # the task type
    detail: str  # the metric type, or the choices
    choices: tuple[str, ...] = ()

    def score(self, value: Any) -> float | None:
        if self.choices:
            if value not in self.choices:
                return None
            position = self.choices.index(value)
            return 1.0 - position / (len(self.choices) - 1) if len(self.choices) > 1 else 1.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
        if isinstance(value, str):
            return _WORDS.get(value.strip().lower())
        return None


def _column(task: Mapping[str, Any]) -> Column | None:
    kind = str(task.get("task_type"))
    config = task.get("configuration") or {}
    alias = task_alias(task)
    if kind == "metric":
        return Column(alias, kind, str(config.get("type")))
    if kind == "auto_evaluation.guided_decoding" and isinstance(config.get("choices"), list):
        choices = tuple(str(c) for c in config["choices"])
        return Column(alias, kind, " > ".join(choices), choices)
    if kind in ("auto_evaluation.question", "contributor_evaluation.question",
                "custom_function"):
        return Column(alias, kind, kind)
    return None  # answers (chat_completion, inference, ...) are text, not scores


@dataclass
class ColumnReport:
    column: Column
    scores: dict[str, Summary] = field(default_factory=dict)  # member -> its summary
    versus: dict[str, tuple[Paired, float]] = field(default_factory=dict)  # -> (paired, Holm p)


@dataclass
class Report:
    address: str
    members: list[str]
    baseline: str
    rows: int
    missing: dict[str, int]  # member -> rows of the group it has no item for
    columns: list[ColumnReport]

    def ranked(self, report: ColumnReport) -> list[str]:
        """Members by mean score, best first (members without a score last)."""
        def key(name: str) -> tuple[bool, float]:
            summary = report.scores.get(name)
            mean = summary.mean if summary and summary.n else math.nan
            return (math.isnan(mean), -mean if not math.isnan(mean) else 0.0)

        return sorted(self.members, key=key)

    def to_json(self) -> dict[str, Any]:
        def number(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 6)

        columns = []
        for report in self.columns:
            members = []
            for name in self.ranked(report):
                summary = report.scores.get(name, summarize([]))
                entry: dict[str, Any] = {
                    "name": name, "n": summary.n, "mean": number(summary.mean),
                    "ci95": [number(summary.low), number(summary.high)]
                    if summary.has_interval else None}
                if name in report.versus:
                    compared, adjusted = report.versus[name]
                    entry["vs_baseline"] = {
                        "n": compared.summary.n, "mean_difference": number(compared.summary.mean),
                        "ci95": [number(compared.summary.low), number(compared.summary.high)]
                        if compared.summary.has_interval else None,
                        "p_value": number(compared.p_value), "p_holm": number(adjusted),
                        "wins": compared.wins, "ties": compared.ties,
                        "losses": compared.losses}
                members.append(entry)
            columns.append({"alias": report.column.alias, "task_type": report.column.kind,
                            "detail": report.column.detail, "members": members})
        return {"format_version": FORMAT_VERSION, "address": self.address,
                "baseline": self.baseline, "rows": self.rows,
                "members": [{"name": m, "missing_rows": self.missing[m]} for m in self.members],
                "scores": columns}


def _columns(target: Remote, evaluations: Mapping[str, Remote], members: list[str]
             ) -> list[Column]:
    seen: dict[str, Column] = {}
    for name in members:
        remote = evaluations.get(name)
        for task in (remote.body.get("tasks") if remote else None) or []:
            column = _column(task)
            if column is not None and column.alias not in seen:
                seen[column.alias] = column
    return list(seen.values())


@dataclass
class Scores:
    """Every member's score per column and row, as read: what the report computes from."""

    address: str
    members: list[str]
    columns: list[Column]
    values: dict[str, dict[str, dict[str, float]]]  # column -> member -> row key -> score
    rows: dict[str, set[str]]  # member -> the row keys it has an item for

    def compare(self, baseline: str | None = None) -> Report:
        if baseline is not None and baseline not in self.members:
            raise EvalspecError(f"--baseline {baseline}: not a member of {self.address}; "
                                f"members: {', '.join(self.members)}")
        chosen = baseline or self.members[0]
        reports = []
        for column in self.columns:
            report = ColumnReport(column)
            by_member = self.values[column.alias]
            for member in self.members:
                report.scores[member] = summarize(list(by_member[member].values()))
            others = [m for m in self.members if m != chosen]
            comparisons = []
            for member in others:
                shared = sorted(set(by_member[member]) & set(by_member[chosen]))
                comparisons.append(paired([by_member[member][k] for k in shared],
                                          [by_member[chosen][k] for k in shared]))
            adjusted = holm([c.p_value for c in comparisons])
            report.versus = {m: (c, p) for m, c, p in zip(others, comparisons, adjusted,
                                                          strict=True)}
            reports.append(report)
        every = set().union(*self.rows.values()) if self.rows else set()
        missing = {m: len(every - self.rows[m]) for m in self.members}
        return Report(self.address, self.members, chosen, len(every), missing, reports)


async def read_scores(client: SGPClient, project: str, name: str) -> Scores:
    """Stream the members' items once, keeping one float per (column, member, row)."""
    actual = await refresh(client, project)
    target = find_owned(actual, name, project)
    members = member_names_of(actual, target)
    evaluations = {o.name: o for o in actual.objects
                   if o.kind == "Evaluation" and not o.archived}
    columns = _columns(target, evaluations, members)
    values: dict[str, dict[str, dict[str, float]]] = {
        c.alias: {m: {} for m in members} for c in columns}
    rows: dict[str, set[str]] = {m: set() for m in members}
    async for member, row, item in member_items(client, actual, target):
        key = json.dumps(row, sort_keys=True)
        rows[member].add(key)
        data = item.get("data") or {}
        for column in columns:
            score = column.score(data.get(column.alias))
            if score is not None:
                values[column.alias][member][key] = score
    return Scores(target.address, members, columns, values, rows)


async def build_report(client: SGPClient, project: str, name: str,
                       baseline: str | None = None) -> Report:
    return (await read_scores(client, project, name)).compare(baseline)
