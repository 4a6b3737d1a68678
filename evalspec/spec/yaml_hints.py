"""What libyaml's terse syntax errors usually mean, in words, pointing at the line that starts
the block (a hint appended to the located message)."""

from __future__ import annotations

import yaml


def hint(exc: yaml.MarkedYAMLError, text: str, where: tuple[int, int]) -> str:
    """What libyaml's terser messages usually mean, pointing at the line that starts the block."""
    problem = exc.problem or ""
    start = exc.context_mark
    opened = f"{start.line + 1}:{start.column + 1}" if start else ""
    line = start.line + 1 if start else 0
    if problem.startswith("mapping values are not allowed"):
        previous = _previous_content_line(text, where[0])
        if previous is None:
            return "; likely a value with ': ' in it (quote the value)"
        return (f"; likely a value with ': ' in it (quote the value), a key indented deeper "
                f"than line {previous}, or line {previous} lacking its ':'")
    if problem.startswith("did not find expected key") and start:
        return (f"; likely indentation: this line does not line up with the keys of the "
                f"mapping that starts at line {line}")
    if problem.startswith("did not find expected '-' indicator") and start:
        return (f"; likely indentation: this line does not line up with the items of the "
                f"list that starts at line {line}")
    if problem.startswith("found character that cannot start any token"):
        position = offset(text, *where)
        if text[position:position + 1] == "\t":
            return "; YAML indents with spaces, not tabs"
    if problem.startswith("could not find expected ':'") and start:
        return (f"; line {line} is neither 'key: value' nor a list item ('- value'): add the "
                "':' or the '- ', or quote a value that spans lines")
    if problem.startswith("did not find expected ','") and start:
        return f"; the bracket opened at {opened} is not closed, or an item lacks its ','"
    if problem.startswith("found unexpected end of stream") and "quoted" in (exc.context or ""):
        return f"; the quote opened at {opened} is never closed"
    return ""


def _previous_content_line(text: str, line: int) -> int | None:
    """The number of the last line before ``line`` with something other than a comment."""
    lines = text.split("\n", line)[: line - 1]
    for number in range(len(lines), 0, -1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return None


def offset(text: str, line: int, column: int) -> int:
    """The index in ``text`` of a 1-based line and column."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    return start + column - 1
