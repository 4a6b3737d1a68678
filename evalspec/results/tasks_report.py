"""The summary of pulled tasks as text, Markdown or one self-contained HTML page.

The HTML page has its styles inline and its charts as inline SVG: it fetches nothing, so it can
be attached to a pull request, mailed or opened offline.
"""

from __future__ import annotations

import math
from typing import Any

from evalspec.results.tasks_summary import Summary
from evalspec.sanitize import (
    code_span,
    document,
    html_text,
    keep_lines,
    markdown_text,
    one_line,
)


def _rows(summary: Summary) -> list[tuple[str, str, str, int, float, float, float]]:
    rows = []
    for (source, model), keys in sorted(summary.numeric.items()):
        for key, running in sorted(keys.items()):
            low, high = running.interval()
            rows.append((source, model, key, running.n, running.mean, low, high))
    return rows


def _table(header: list[str], cells: list[list[str]], right: set[int]) -> list[str]:
    rows = [[one_line(c) for c in row] for row in cells]  # sources and models are data
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _overview(summary: Summary) -> list[str]:
    lines = [f"{summary.source}: {summary.tasks:,} tasks on {summary.lines:,} lines; "
             f"{summary.used:,} summarised."]
    for reason, count in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  skipped {count:,}: {reason}")
    return lines


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_text(summary: Summary) -> str:
    lines = _overview(summary)
    rows = _rows(summary)
    if rows:
        lines += ["", "Numeric annotations: mean with a 95% confidence interval"]
        lines += ["  " + line for line in _table(
            ["source", "model", "annotation", "n", "mean", "95% CI"],
            [[s, m, k, f"{n:,}", f"{mean:.2f}", f"[{lo:.2f}, {hi:.2f}]"]
             for s, m, k, n, mean, lo, hi in rows], {3, 4})]
    data = summary.to_json()
    if data["preferences"]:
        lines += ["", "Pairwise preference (selected_model_id): the first's win rate, "
                      "95% Wilson interval"]
        lines += ["  " + line for line in _table(
            ["first", "second", "comparisons", "first wins", "win rate", "95% CI"],
            [[p["first"], p["second"], f"{p['comparisons']:,}", f"{p['first_wins']:,}",
              _pct(p["first_win_rate"]) if p["comparisons"] else "-",
              f"[{_pct(p['first_win_rate_ci95'][0])}, {_pct(p['first_win_rate_ci95'][1])}]"
              if p["comparisons"] else "-"] for p in data["preferences"]], {2, 3, 4})]
        lines += [f"  {p['first']} vs {p['second']}: {_position(p)}"
                  for p in data["preferences"] if p["comparisons"]]
    strengths = data["bradley_terry"]
    if strengths and "no_fit" in strengths:
        lines += ["", f"Bradley-Terry strengths: none ({strengths['no_fit']})"]
    elif strengths:
        lines += ["", f"Bradley-Terry strengths from {strengths['comparisons']:,} preferences "
                      f"({strengths['ties']:,} ties): each source's share, 95% bootstrap "
                      "interval"]
        lines += ["  " + line for line in _table(
            ["source", "share", "95% CI"],
            [[b["source"], _pct(b["share"]), f"[{_pct(b['ci95'][0])}, {_pct(b['ci95'][1])}]"]
             for b in strengths["sources"]], {1})]
    rated = [(p, key, r) for p in data["preferences"]
             for key, r in (p.get("paired_ratings") or {}).items()]
    if rated:
        lines += ["", "Paired ratings (both responses to one prompt): first - second, "
                      "95% interval, paired test"]
        lines += ["  " + line for line in _table(
            ["first", "second", "annotation", "n", "difference", "95% CI", "p"],
            [[p["first"], p["second"], key, f"{r['n']:,}",
              "-" if r["mean_difference"] is None else f"{r['mean_difference']:+.2f}",
              "-" if r["ci95"] is None else f"[{r['ci95'][0]:+.2f}, {r['ci95'][1]:+.2f}]",
              "-" if r["p_value"] is None else f"{r['p_value']:.3g}"]
             for p, key, r in rated], {3, 4, 6})]
        for pair in summary.pairs.values():
            for counts, shown in ((pair.likert, f"{pair.first} shown first"),
                                  (pair.likert_swapped, f"{pair.second} shown first")):
                if not counts:
                    continue
                total = sum(counts.values())
                lines += ["", f"Likert (likert_value), {pair.first} vs {pair.second}, "
                              f"{shown}: {total:,} rating{'s' if total != 1 else ''}"]
                for value in range(min(counts), max(counts) + 1):
                    count = counts.get(value, 0)
                    bar = "#" * round(40 * count / max(counts.values()))
                    lines.append(f"  {value:>3}  {count:>6,}  {bar}".rstrip())
    if summary.text_keys:
        lines += ["", "Not numeric, so not averaged: " + ", ".join(
            f"{k} ({v:,})" for k, v in sorted(summary.text_keys.items()))]
    return document(lines)


def _position(pair: dict[str, Any]) -> str:
    """Position bias: how often the response shown first was chosen, whichever it was."""
    bias = pair["position_bias"]
    return (f"the response shown first is chosen {_pct(bias['shown_first_win_rate'])} "
            f"[{_pct(bias['ci95'][0])}, {_pct(bias['ci95'][1])}] of the time (50% is no "
            "position bias); both display orders are merged above")


def render_markdown(summary: Summary) -> str:
    data = summary.to_json()
    text = markdown_text  # every value is data: no markup, no HTML, no table cell breaks
    lines = [f"### Annotation summary: {code_span(summary.source)}", "",
             f"{summary.tasks:,} tasks, {summary.used:,} summarised."]
    if summary.skipped:
        lines += ["", "| skipped | reason |", "|---:|---|"]
        lines += [f"| {c:,} | {text(r)} |" for r, c in sorted(summary.skipped.items(),
                                                              key=lambda kv: (-kv[1], kv[0]))]
    rows = _rows(summary)
    if rows:
        lines += ["", "| source | model | annotation | n | mean | 95% CI |",
                  "|---|---|---|---:|---:|---|"]
        lines += [f"| {text(s)} | {text(m)} | {text(k)} | {n:,} | {mean:.2f} | "
                  f"[{lo:.2f}, {hi:.2f}] |" for s, m, k, n, mean, lo, hi in rows]
    if data["preferences"]:
        lines += ["", "| first | second | comparisons | first wins | win rate | 95% CI |",
                  "|---|---|---:|---:|---:|---|"]
        for p in data["preferences"]:
            rate = _pct(p["first_win_rate"]) if p["comparisons"] else "-"
            ci = (f"[{_pct(p['first_win_rate_ci95'][0])}, {_pct(p['first_win_rate_ci95'][1])}]"
                  if p["comparisons"] else "-")
            lines.append(f"| {text(p['first'])} | {text(p['second'])} | {p['comparisons']:,} | "
                         f"{p['first_wins']:,} | {rate} | {ci} |")
        lines += [""] + [f"- {text(p['first'])} vs {text(p['second'])}: {text(_position(p))}"
                         for p in data["preferences"] if p["comparisons"]]
    if data["bradley_terry"] and "no_fit" in data["bradley_terry"]:
        lines += ["", f"Bradley-Terry strengths: none ({text(data['bradley_terry']['no_fit'])})"]
    elif data["bradley_terry"]:
        lines += ["", "| source | Bradley-Terry share | 95% CI |", "|---|---:|---|"]
        lines += [f"| {text(b['source'])} | {_pct(b['share'])} | [{_pct(b['ci95'][0])}, "
                  f"{_pct(b['ci95'][1])}] |" for b in data["bradley_terry"]["sources"]]
        lines += ["", text(data["bradley_terry"]["method"])]
    return document(lines)


# -- HTML ---------------------------------------------------------------------------------
COLOURS = ("#3b6fd4", "#d4793b", "#3ba36b", "#a43bd4", "#d43b5c", "#7a7a7a")
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .7em; border-bottom: 1px solid #e3e3e3; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #6b6b6b; } svg text { font: 12px system-ui, sans-serif; fill: #1d1d1f; }
.legend span { display: inline-block; margin-right: 1.2em; }
.swatch { display: inline-block; width: .8em; height: .8em; margin-right: .3em; }
"""


def _axis(top: float) -> tuple[float, float]:
    """Tick step and end of an axis from 0 to past ``top``: whole numbers up to 10 (rating
    scales), else 1, 2 or 5 times a power of ten, so there are never more than ~10 ticks."""
    if not math.isfinite(top) or top < 10:
        top = top if math.isfinite(top) else 1.0
        return 1.0, max(1.0, float(int(top) + 1))
    magnitude = 10.0 ** math.floor(math.log10(top / 10))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * 10 >= top)
    end = step * math.ceil(top / step)
    return step, end if math.isfinite(end) else top  # near the largest float


def _means_chart(summary: Summary, key: str, series: list[tuple[str, str]]) -> str:
    entries = [(i, series[i], summary.numeric[series[i]][key]) for i in range(len(series))
               if key in summary.numeric[series[i]]]
    top = max(max(r.interval()[1], r.mean) for _, _, r in entries)
    step, scale_max = _axis(top)
    left, width, row = 230, 560, 26
    height = row * len(entries) + 34

    def x(value: float) -> float:
        return left + width * min(max(0.0, value), scale_max) / scale_max

    parts = [f'<svg role="img" aria-label="{html_text(key)}" width="{left + width + 90}" '
             f'height="{height}" viewBox="0 0 {left + width + 90} {height}">']
    for tick in (step * i for i in range(round(scale_max / step) + 1)):
        parts.append(f'<line x1="{x(tick):.1f}" y1="4" x2="{x(tick):.1f}" y2="{height - 24}" '
                     'stroke="#e6e6e6"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 8}" text-anchor="middle">'
                     f'{tick:g}</text>')
    for position, (colour_index, (source, model), running) in enumerate(entries):
        y = 6 + row * position
        low, high = running.interval()
        colour = COLOURS[colour_index % len(COLOURS)]
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">'
                     f'{html_text(source)} · {html_text(model)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{x(running.mean) - left:.1f}" '
                     f'height="{row - 10}" fill="{colour}" opacity="0.85"/>')
        parts.append(f'<line x1="{x(low):.1f}" y1="{y + row / 2 - 1}" x2="{x(high):.1f}" '
                     f'y2="{y + row / 2 - 1}" stroke="#1d1d1f" stroke-width="1.5"/>')
        for end in (low, high):
            parts.append(f'<line x1="{x(end):.1f}" y1="{y + 5}" x2="{x(end):.1f}" '
                         f'y2="{y + row - 7}" stroke="#1d1d1f" stroke-width="1.5"/>')
        parts.append(f'<text x="{x(high) + 6:.1f}" y="{y + 14}">{running.mean:.2f} '
                     f'<tspan class="muted">(n={running.n:,})</tspan></text>')
    parts.append("</svg>")
    return "".join(parts)


def _preference_chart(first: str, second: str, rate: float, low: float, high: float) -> str:
    left, width = 10, 700
    split = left + width * rate
    return (
        f'<svg role="img" aria-label="{html_text(first)} vs {html_text(second)}" '
        f'width="{width + 20}" '
        f'height="64" viewBox="0 0 {width + 20} 64">'
        f'<rect x="{left}" y="8" width="{split - left:.1f}" height="26" fill="{COLOURS[0]}"/>'
        f'<rect x="{split:.1f}" y="8" width="{left + width - split:.1f}" height="26" '
        f'fill="{COLOURS[1]}"/>'
        f'<line x1="{left + width * low:.1f}" y1="21" x2="{left + width * high:.1f}" y2="21" '
        'stroke="#fff" stroke-width="2"/>'
        f'<line x1="{left + width / 2}" y1="4" x2="{left + width / 2}" y2="38" '
        'stroke="#1d1d1f" stroke-dasharray="3 2"/>'
        f'<text x="{left}" y="54">{html_text(first)} {_pct(rate)}</text>'
        f'<text x="{left + width}" y="54" text-anchor="end">{html_text(second)} '
        f'{_pct(1 - rate)}</text></svg>')


def _likert_chart(counts: dict[int, int]) -> str:
    values = list(range(min(counts), max(counts) + 1))
    peak = max(counts.values())
    bar, gap, height, top = 56, 14, 160, 20
    width = len(values) * (bar + gap) + gap
    parts = [f'<svg role="img" aria-label="Likert distribution" width="{width}" '
             f'height="{top + height + 30}" viewBox="0 0 {width} {top + height + 30}">']
    for i, value in enumerate(values):
        count = counts.get(value, 0)
        h = height * count / peak
        x = gap + i * (bar + gap)
        parts.append(f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar}" '
                     f'height="{h:.1f}" fill="{COLOURS[2]}"/>')
        parts.append(f'<text x="{x + bar / 2}" y="{top + height - h - 6:.1f}" '
                     f'text-anchor="middle">{count:,}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{top + height + 20}" text-anchor="middle">'
                     f'{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(summary: Summary) -> str:
    data: dict[str, Any] = summary.to_json()
    series = sorted(summary.numeric)
    keys = sorted({k for stats in summary.numeric.values() for k in stats})
    body = [f"<h1>Annotation summary</h1><p class=muted>{html_text(summary.source)}: "
            f"{summary.tasks:,} tasks, {summary.used:,} summarised.</p>"]
    if summary.skipped:
        body.append("<h2>Skipped</h2><table><tr><th>count</th><th>reason</th></tr>")
        body += [f"<tr><td class=n>{c:,}</td><td>{html_text(r)}</td></tr>"
                 for r, c in sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0]))]
        body.append("</table>")
    if keys:
        legend = "".join(f'<span><i class=swatch style="background:{COLOURS[i % 6]}"></i>'
                         f"{html_text(s)} · {html_text(m)}</span>"
                         for i, (s, m) in enumerate(series))
        body.append("<h2>Numeric annotations</h2><p class=muted>Mean per source and model; "
                    f"the whisker is the 95% confidence interval.</p><p class=legend>{legend}"
                    "</p>")
        for key in keys:
            body.append(f"<h3>{html_text(key)}</h3>{_means_chart(summary, key, series)}")
    for pair in data["preferences"]:
        body.append(f"<h2>Preference: {html_text(pair['first'])} vs "
                    f"{html_text(pair['second'])}</h2>")
        if pair["comparisons"]:
            low, high = pair["first_win_rate_ci95"]
            body.append(f"<p class=muted>{pair['comparisons']:,} comparisons "
                        f"(selected_model_id); {html_text(pair['first'])} wins "
                        f"{_pct(pair['first_win_rate'])}, 95% Wilson interval "
                        f"{_pct(low)}–{_pct(high)} (white line); "
                        f"{html_text(_position(pair))}.</p>")
            body.append(_preference_chart(pair["first"], pair["second"],
                                          pair["first_win_rate"], low, high))
        if pair["likert"]:
            counts = {int(k): v for k, v in pair["likert"].items()}
            body.append(f"<h3>Likert ratings (likert_value), {sum(counts.values()):,}</h3>"
                        f"{_likert_chart(counts)}")
    if summary.text_keys:
        body.append("<h2>Not averaged</h2><p>" + ", ".join(
            f"{html_text(k)} ({v:,} text values)" for k, v in sorted(summary.text_keys.items()))
            + "</p>")
    # Every value went through html_text; keep_lines is the backstop for the whole page.
    return keep_lines("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>Annotation summary: {html_text(summary.source)}</title><style>{STYLE}"
            "</style></head><body>" + "".join(body) + "</body></html>\n")
