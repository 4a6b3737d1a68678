"""The comparison report as text (a leaderboard per score) and as Markdown for a PR comment."""

from __future__ import annotations

import math
import textwrap

from evalspec.results.report import BY_FAMILY, ColumnReport, Report
from evalspec.results.stats import Summary, mde
from evalspec.results.status import FINISHED
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
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _lacking(gaps: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in gaps.items() if count) or "-"


def table_cells(report: Report, column: ColumnReport) -> list[list[str]]:
    rows = []
    for name in report.ranked(column):
        common = column.common[name]
        alone = column.scores[name]
        label = name if report.status.get(name, "completed") in FINISHED else (
            f"{name} ({report.status[name]})")
        cells = [label, f"{common.n:,}", _n(common.mean), _ci(common),
                 f"{_n(alone.mean)} (n={alone.n:,})", _lacking(column.gaps.get(name, {}))]
        if name == report.baseline:
            cells += ["baseline", "", "", "", ""]
        else:
            compared, adjusted = column.versus[name]
            diff = compared.summary
            interval = (f"[{_signed(diff.low)}, {_signed(diff.high)}]" if diff.has_interval
                        else "-")
            cells += [f"{_signed(diff.mean)} {interval}", _p(compared.p_value), _p(adjusted),
                      _n(mde(compared)), f"{compared.wins}/{compared.ties}/{compared.losses}"]
        rows.append(cells)
    return rows


HEADER = ["member", "n", "mean", "95% CI", "all its rows", "no score", "vs baseline (95% CI)",
          "p", "p (Holm)", "MDE (80%)", "win/tie/loss"]
RIGHT = (1, 2, 4, 7, 8, 9)  # columns aligned right
METHODS = ("Ranked by the mean on the rows every member has a score for (n); 'all its rows' "
           "is each member's mean over every row it has a score for; 'no score' counts the "
           "rows without one (missing, failed, pending, unscored). Intervals: Wilson for 0/1 "
           "scores, Student-t otherwise, kept inside the score's range. Differences are paired "
           "on the rows both have a score for: McNemar's exact test for 0/1 scores, the paired "
           "t-test otherwise; p (Holm) corrects across this score's comparisons with the "
           "baseline. MDE (80%): the smallest true difference this many rows would show at "
           "p < 0.05 four times in five. See docs/report.md.")


def _title(column: ColumnReport) -> str:
    return (f"{column.column.alias} ({column.column.kind}: {column.column.detail}); ranked on "
            f"{column.common_rows:,} common rows")


def repeat_lines(report: Report, column: ColumnReport) -> list[str]:
    """Repeated rows: copies per row and the variance within and between rows, per member."""
    found = report.repeats.get(column.column.alias, {})
    return [f"{name}: {r.copies} copies per row; variance within rows {_n(r.within, 4)}, "
            f"between rows {_n(r.between, 4)} (each row's score is the mean of its copies)"
            for name, r in found.items()]


def design_effects(report: Report, column: ColumnReport) -> str | None:
    """Clustered rows: each member's design effect, in one line."""
    if not report.cluster_by:
        return None
    effects = ", ".join(f"{name} {_n(column.scores[name].design_effect, 2)}"
                        for name in report.ranked(column))
    return f"design effect (variance over independent rows): {effects}"


def verdict_lines(report: Report) -> list[str]:
    """The answer first: per score, who ranks first on the common rows, and each member
    against the baseline: significantly better or worse (Holm), or no difference shown, with
    the smallest difference the rows could have shown (MDE)."""
    lines = []
    for column in report.columns:
        ranked = [n for n in report.ranked(column) if column.common[n].n]
        if not ranked:
            lines.append(f"{column.column.alias}: no member has a score on the common rows; "
                         "nothing to rank")
            continue
        first = ranked[0]
        parts = []
        for name in report.members:
            if name == report.baseline or name not in column.versus:
                continue
            compared, adjusted = column.versus[name]
            diff = compared.summary
            if math.isnan(adjusted) or math.isnan(diff.mean):
                parts.append(f"{name}: not compared (too few rows with both scores)")
            elif adjusted < 0.05:
                word = "better" if diff.mean > 0 else "worse"
                parts.append(f"{name} is significantly {word} ({_signed(diff.mean)}, "
                             f"p (Holm) {_p(adjusted)})")
            else:
                parts.append(f"{name} is not shown different ({_signed(diff.mean)}; these "
                             f"rows could only show a difference of {_n(mde(compared))} or "
                             "more)")
        versus = f"; against {report.baseline}: " + "; ".join(parts) if parts else ""
        lines.append(f"{column.column.alias}: {first} ranks first "
                     f"({_n(column.common[first].mean)} on {column.common_rows:,} common rows)"
                     + versus)
    return lines


def intro_lines(report: Report) -> list[str]:
    lines = [f"{report.address}: {len(report.members)} member"
             f"{'s' if len(report.members) != 1 else ''}, {report.rows:,} rows; baseline "
             f"{report.baseline}"]
    if report.cluster_by:
        lines.append(f"rows clustered by {report.cluster_by}: {report.clusters:,} clusters; "
                     "intervals and tests are cluster-robust (t on clusters - 1 degrees of "
                     "freedom)")
    for name in report.unfinished:
        lines.append(f"{name} is {report.status[name]}, not finished: its figures are partial "
                     "(rows not run yet count as pending)")
    for name in report.members:
        if report.missing[name]:
            lines.append(f"{name} has no item for {report.missing[name]:,} of the "
                         f"{report.rows:,} rows (left out of its figures)")
    return lines


def _text_body(report: Report) -> list[str]:
    """The verdict and a table per score."""
    lines = ["", "Verdict:"]
    for line in verdict_lines(report):
        lines += textwrap.wrap(one_line(line), 100, initial_indent="  ",
                               subsequent_indent="    ", break_on_hyphens=False)
    if not report.columns:
        lines += ["", "No score columns: add metric or judge tasks to compare members."]
    for column in report.columns:
        table = [HEADER, *table_cells(report, column)]
        cleaned = [[one_line(c) for c in row] for row in table]
        widths = [max(len(row[i]) for row in cleaned) for i in range(len(HEADER))]
        lines += ["", one_line(_title(column))]
        effects = design_effects(report, column)
        if effects:
            lines.append(f"  {effects}")
        lines += [f"  {line}" for line in repeat_lines(report, column)]
        for row in cleaned:
            lines.append("  " + "  ".join(
                cell.rjust(w) if i in RIGHT else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    return lines


def render_text(report: Report) -> str:
    lines = intro_lines(report) + _text_body(report)
    if report.breakdown is not None:
        column, parts = report.breakdown
        lines += ["", *textwrap.wrap(f"By {column}: {BY_FAMILY}.", 100)]
        for value, part in parts:
            lines += ["", f"== {column} = {value}: {part.rows:,} rows ==", *_text_body(part)]
    lines += ["", *textwrap.wrap(METHODS, 100)]
    return document(lines)


def _markdown_body(report: Report, level: str) -> list[str]:
    lines = [f"{level} Verdict", "", *(f"- {markdown_text(line)}" for line in
                                      verdict_lines(report)), ""]
    for column in report.columns:
        effects = design_effects(report, column)
        lines += ["", f"**{markdown_text(_title(column))}**", "",
                  *([markdown_text(effects), ""] if effects else []),
                  "| " + " | ".join(HEADER) + " |",
                  "|" + "|".join("---:" if i in RIGHT else "---"
                                 for i in range(len(HEADER))) + "|"]
        lines += ["| " + " | ".join(markdown_text(c) for c in cells) + " |"
                  for cells in table_cells(report, column)]
    return lines


def render_markdown(report: Report) -> str:
    lines = [f"### evalspec report for {code_span(report.address)}", ""]
    lines += [markdown_text(line) for line in intro_lines(report)[1:]]
    lines.append(f"{report.rows:,} rows; baseline {code_span(report.baseline)}.")
    lines += ["", *_markdown_body(report, "####")]
    if report.breakdown is not None:
        column, parts = report.breakdown
        lines += ["", f"By {code_span(column)}: {markdown_text(BY_FAMILY)}."]
        for value, part in parts:
            lines += ["", f"#### {code_span(column)} = {code_span(value)}: {part.rows:,} rows",
                      "", *_markdown_body(part, "#####")]
    lines += ["", METHODS]
    return document(lines)


def render_json(report: Report) -> str:
    return json_text(report.to_json(), indent=2) + "\n"
