"""The comparison report as text (a leaderboard per score) and as Markdown for a PR comment."""

from __future__ import annotations

import math

from evalspec.results.report import ColumnReport, Report
from evalspec.results.stats import Summary
from evalspec.sanitize import code_span, document, json_text, markdown_text, one_line


def _n(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _ci(summary: Summary) -> str:
    return f"[{_n(summary.low)}, {_n(summary.high)}]" if summary.has_interval else "-"


def _signed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.3f}"


def _p(value: float) -> str:
    if math.isnan(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def table_cells(report: Report, column: ColumnReport) -> list[list[str]]:
    rows = []
    for name in report.ranked(column):
        summary = column.scores[name]
        cells = [name, f"{summary.n:,}", _n(summary.mean), _ci(summary)]
        if name == report.baseline:
            cells += ["baseline", "", "", ""]
        else:
            compared, adjusted = column.versus[name]
            diff = compared.summary
            interval = (f"[{_signed(diff.low)}, {_signed(diff.high)}]" if diff.has_interval
                        else "-")
            cells += [f"{_signed(diff.mean)} {interval}", _p(compared.p_value), _p(adjusted),
                      f"{compared.wins}/{compared.ties}/{compared.losses}"]
        rows.append(cells)
    return rows


HEADER = ["member", "n", "mean", "95% CI", "vs baseline (95% CI)", "p", "p (Holm)",
          "win/tie/loss"]


def _title(column: ColumnReport) -> str:
    return f"{column.column.alias} ({column.column.kind}: {column.column.detail})"


def intro_lines(report: Report) -> list[str]:
    lines = [f"{report.address}: {len(report.members)} member"
             f"{'s' if len(report.members) != 1 else ''}, {report.rows:,} rows; baseline "
             f"{report.baseline}"]
    for name in report.members:
        if report.missing[name]:
            lines.append(f"{name} has no item for {report.missing[name]:,} of the "
                         f"{report.rows:,} rows (left out of its figures)")
    return lines


def render_text(report: Report) -> str:
    lines = intro_lines(report)
    if not report.columns:
        lines += ["", "No score columns: add metric or judge tasks to compare members."]
    for column in report.columns:
        table = [HEADER, *table_cells(report, column)]
        cleaned = [[one_line(c) for c in row] for row in table]
        widths = [max(len(row[i]) for row in cleaned) for i in range(len(HEADER))]
        lines += ["", one_line(_title(column))]
        for row in cleaned:
            lines.append("  " + "  ".join(
                cell.rjust(w) if 0 < i < 3 or i in (5, 6) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    lines += ["", "Means with Student-t 95% intervals; differences are paired on the rows both "
              "members have, with a two-sided paired t-test, Holm-corrected across members."]
    return document(lines)


def render_markdown(report: Report) -> str:
    lines = [f"### evalspec report for {code_span(report.address)}", ""]
    lines += [markdown_text(line) for line in intro_lines(report)[1:]]
    lines.append(f"{report.rows:,} rows; baseline {code_span(report.baseline)}.")
    for column in report.columns:
        lines += ["", f"**{markdown_text(_title(column))}**", "",
                  "| " + " | ".join(HEADER) + " |",
                  "|---|---:|---:|---|---|---:|---:|---|"]
        lines += ["| " + " | ".join(markdown_text(c) for c in cells) + " |"
                  for cells in table_cells(report, column)]
    lines += ["", "Means with Student-t 95% intervals; differences paired on shared rows "
              "(two-sided paired t-test, Holm-corrected across members)."]
    return document(lines)


def render_json(report: Report) -> str:
    return json_text(report.to_json(), indent=2) + "\n"
