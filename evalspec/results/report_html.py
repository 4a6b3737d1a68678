"""The comparison report as one self-contained HTML page (inline SVG; nothing is fetched):
per score, a leaderboard of means with their 95% intervals as whiskers, and for each member a
histogram of its per-row differences from the baseline."""

from __future__ import annotations

import math

from evalspec.results.report import ColumnReport, Report
from evalspec.results.report_render import HEADER as TABLE_HEADER
from evalspec.results.report_render import METHODS, intro_lines, table_cells, verdict_lines
from evalspec.sanitize import html_text, keep_lines

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
th, td { padding: .25em .6em; border-bottom: 1px solid #e3e3e3; text-align: left; }
.muted { color: #6b6b6b; } svg text { font: 12px system-ui, sans-serif; fill: #1d1d1f; }
.histograms { display: flex; flex-wrap: wrap; gap: 1.5em; }
.legend { font-size: 12px; color: #4a4a4a; }
.legend span { display: inline-block; margin-right: 1.2em; }
.swatch { display: inline-block; width: .8em; height: .8em; margin-right: .3em; }
"""
BEST, OTHER, BASE = "#2f6fdf", "#8fb3ef", "#d08a2e"


def _scale(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    low, high = min([0.0, *finite]), max([1.0, *finite])
    return low, high if high > low else low + 1


def _leaderboard(report: Report, column: ColumnReport) -> str:
    names = report.ranked(column)
    scores = [column.common[n] for n in names]
    low, high = _scale([v for s in scores if s.n for v in (s.low, s.high, s.mean)])
    left, width, row = 260, 560, 26
    height = row * len(names) + 30

    def x(value: float) -> float:
        return left + width * (value - low) / (high - low)

    parts = [f'<svg role="img" aria-label="leaderboard {html_text(column.column.alias)}" '
             f'width="{left + width + 90}" height="{height}">']
    for tick in range(11):
        value = low + (high - low) * tick / 10
        parts.append(f'<line x1="{x(value):.1f}" y1="2" x2="{x(value):.1f}" y2="{height - 22}" '
                     f'stroke="#ececec"/><text x="{x(value):.1f}" y="{height - 6}" '
                     f'text-anchor="middle">{value:.2g}</text>')
    for position, (name, summary) in enumerate(zip(names, scores, strict=True)):
        y = 4 + row * position
        colour = BASE if name == report.baseline else BEST if position == 0 else OTHER
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{html_text(name)}'
                     "</text>")
        if not summary.n:
            continue
        parts.append(f'<rect x="{x(low):.1f}" y="{y + 4}" width="{x(summary.mean) - x(low):.1f}"'
                     f' height="{row - 10}" fill="{colour}"/>')
        if summary.has_interval:
            middle = y + row / 2 - 1
            parts.append(f'<line x1="{x(summary.low):.1f}" y1="{middle}" '
                         f'x2="{x(summary.high):.1f}" y2="{middle}" stroke="#1d1d1f" '
                         'stroke-width="1.5"/>')
            for end in (summary.low, summary.high):
                parts.append(f'<line x1="{x(end):.1f}" y1="{y + 6}" x2="{x(end):.1f}" '
                             f'y2="{y + row - 8}" stroke="#1d1d1f" stroke-width="1.5"/>')
        parts.append(f'<text x="{x(max(summary.mean, summary.high)) + 6:.1f}" y="{y + 15}">'
                     f"{summary.mean:.3f}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _histogram(name: str, differences: tuple[float, ...], spread: float, tallest: int) -> str:
    """Per-row differences from the baseline. Every histogram of a score shares ``spread``
    (the x-range) and ``tallest`` (the count axis), so their shapes compare at a glance."""
    if not differences:
        return ""
    counts = _bins(differences, spread)
    left, width, height = 34, 300, 140
    bar = width / len(counts)
    parts = [f'<figure><svg role="img" aria-label="differences {html_text(name)}" '
             f'width="{left + width + 4}" height="{height + 20}">']
    for tick in (0, tallest // 2, tallest) if tallest > 1 else (0, tallest):
        y = height - (height - 10) * tick / tallest
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                     f'stroke="#ececec"/><text x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{tick}</text>')
    for i, count in enumerate(counts):
        h = (height - 10) * count / tallest
        middle = len(counts) // 2
        colour = "#3a9a5b" if i > middle else "#c2473d" if i < middle else "#999"
        parts.append(f'<rect x="{left + i * bar + 1:.1f}" y="{height - h:.1f}" '
                     f'width="{bar - 2:.1f}" height="{h:.1f}" fill="{colour}"/>')
    parts.append(f'<line x1="{left + width / 2}" y1="0" x2="{left + width / 2}" y2="{height}" '
                 'stroke="#1d1d1f" stroke-dasharray="3 3"/>')
    parts.append(f'<text x="{left}" y="{height + 15}">-{spread:.2g}</text>'
                 f'<text x="{left + width / 2}" y="{height + 15}" text-anchor="middle">0</text>'
                 f'<text x="{left + width}" y="{height + 15}" text-anchor="end">+{spread:.2g}'
                 "</text>")
    parts.append(f"</svg><figcaption>{html_text(name)} − baseline, per row (rows per bar on "
                 "the left)</figcaption></figure>")
    return "".join(parts)


BINS = 21  # odd: the middle bin holds the ties, centred on 0


def _bins(differences: tuple[float, ...], spread: float) -> list[int]:
    counts = [0] * BINS
    for d in differences:
        counts[min(BINS - 1, max(0, int((d + spread) / (2 * spread) * BINS)))] += 1
    return counts


LEGEND = (f'<p class=legend><span><i class=swatch style="background:{BEST}"></i>ranks first'
          f'</span> <span><i class=swatch style="background:{OTHER}"></i>other members</span> '
          f'<span><i class=swatch style="background:{BASE}"></i>the baseline</span> '
          "<span>— the 95% interval</span> <span><i class=swatch "
          'style="background:#3a9a5b"></i>rows the member scored higher than the baseline'
          '</span> <span><i class=swatch style="background:#c2473d"></i>lower</span></p>')


def render_html(report: Report) -> str:
    body = [f"<h1>Comparison: {html_text(report.address)}</h1>"]
    body += [f"<p class=muted>{html_text(line)}</p>" for line in intro_lines(report)]
    body.append("<h2>Verdict</h2><ul>" + "".join(f"<li>{html_text(line)}</li>"
                                                  for line in verdict_lines(report)) + "</ul>")
    for column in report.columns:
        title = f"{column.column.alias} ({column.column.kind}: {column.column.detail})"
        body.append(f"<h2>{html_text(title)}</h2>")
        body.append(LEGEND + _leaderboard(report, column))
        body.append("<table><tr>" + "".join(f"<th>{html_text(h)}</th>" for h in TABLE_HEADER)
                    + "</tr>")
        body += ["<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in cells) + "</tr>"
                 for cells in table_cells(report, column)]
        body.append("</table><div class=histograms>")
        every = [d for compared, _ in column.versus.values() for d in compared.differences]
        spread = max((abs(d) for d in every), default=0.0) or 1.0
        tallest = max((max(_bins(c.differences, spread)) for c, _ in column.versus.values()
                       if c.differences), default=1)
        body += [_histogram(name, compared.differences, spread, tallest)
                 for name, (compared, _) in column.versus.items()]
        body.append("</div>")
    body.append(f"<p class=muted>{html_text(METHODS)} Whiskers: the intervals. Green: rows "
                "where the member scored higher than the baseline; red: lower.</p>")
    # Every value went through html_text; keep_lines is the backstop for the whole page.
    return keep_lines("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>evalspec report: {html_text(report.address)}</title><style>{STYLE}</style>"
            "</head><body>" + "".join(body) + "</body></html>\n")
