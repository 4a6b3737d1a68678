"""The plan as Markdown for a pull-request comment: a summary table, then each kind of action's
details in a collapsed section (the text rendering inside a diff block, so GitHub colours the
added and removed lines)."""

from __future__ import annotations

from evalspec.plan.model import ACTIONS, Plan
from evalspec.plan.render_text import HEADLINES, MARKERS, _details, _headline
from evalspec.sanitize import code_span, document, fence, markdown_text, one_line

MARKER = "<!-- evalspec-plan -->"  # lets CI find and update its own comment
BUDGET = 60_000  # GitHub refuses comments over 65,536 characters


DIFF_PREFIXES = ("+", "-", "~", "!", "#", "@")


def _diff_line(line: str) -> str:
    """A line of the diff block: our indentation dropped, a diff prefix always kept (a context
    line gets a space), so GitHub colours it and no content can pass for a line of ours."""
    text = line.strip()
    return text if text.startswith(DIFF_PREFIXES) else f" {text}"


def _block(plan: Plan, action: str) -> list[str]:
    lines = []
    for item in (a for a in plan.actions if a.action == action):
        lines.append(_diff_line(_headline(item)))
        marker = MARKERS[action].replace("-/+", "!").replace("~", "!")
        lines.append(_diff_line(one_line(f"{marker} {item.address}")))
        lines += [_diff_line(line) for line in _details(item)]
    return lines


def render_markdown(plan: Plan) -> str:
    lines = [MARKER, f"### evalspec plan for {code_span(plan.project)} on "
             f"{code_span(plan.endpoint)}", ""]
    if plan.warnings:
        lines += ["> [!WARNING]", *(f"> - {markdown_text(w)}" for w in plan.warnings), ""]
    if not plan.actions:
        lines.append("**No changes.** The platform matches the specs.")
        return document(lines)
    lines += ["| action | count |", "|---|---:|"]
    lines += [f"| {action} | {plan.count(action):,} |" for action in ACTIONS]
    lines += [f"| task executions started | {plan.executions:,} |", "",
              f"`{plan.summary()}`", ""]
    used = sum(len(line) + 1 for line in lines)
    for action in ACTIONS:
        count = plan.count(action)
        if not count:
            continue
        verb = HEADLINES[action].replace("will be ", "").replace("must be ", "")
        body = _block(plan, action)
        shown: list[str] = []
        for line in body:
            used += len(line) + 1
            if used > BUDGET:
                shown.append(f"... cut to fit a comment: {len(body) - len(shown)} more lines; "
                             "the full plan is in the job's log")
                break
            shown.append(line)
        ticks = fence(shown)  # longer than any run of backticks a value holds
        lines += [f"<details><summary>{count:,} {verb}</summary>", "", f"{ticks}diff", *shown,
                  ticks, "", "</details>", ""]
    return document(lines[:-1])  # a blank line between sections, none after the last
