"""Making values from specs, data files and the platform safe to show to people.

Anything evalspec prints or writes for people (the plan, status, summaries, error messages)
may quote text somebody else wrote: a description set on the platform, an address stamped in
metadata, a row in a data file. Such text must never act on the reader's terminal or page:

- :func:`one_line`: control characters (ESC, CR, newline, DEL, the C1 range) and the Unicode
  characters that reorder or break lines (bidi overrides, U+2028/2029) are written as visible
  escapes such as ``\\x1b``, so a value cannot send terminal sequences (clipboard writes,
  screen clears, window titles) nor start a line of its own that forges output.
- :func:`keep_lines`: the same, keeping newlines: for messages whose line breaks are ours.
- :func:`markdown_text`: :func:`one_line`, then every character through which Markdown or HTML
  could hide or forge content (tags, links, images, code spans, table cells, @mentions)
  written as a character reference, for values outside code blocks.
- :func:`fence` and :func:`code_span`: code blocks and inline code delimited by more backticks
  than any run in the content, so no content can close them early.

- :func:`json_text`: JSON for output, with the characters JSON leaves raw but a terminal
  obeys (DEL, the C1 range, bidi overrides, line separators) written as ``\\uXXXX`` escapes:
  the same JSON value, inert on a screen.
- :func:`document`: the one way a renderer turns its lines into the text it hands to a
  terminal or a file, every line through :func:`one_line`; so a renderer that forgets to
  escape a value still cannot emit a control character. :func:`html_text` is its twin for
  values inside HTML.

Renderers apply these at the point where a value becomes a line, and end with
:func:`document`; each is idempotent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import escape

_BIDI_AND_BREAKS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_BREAKS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_AND_BREAKS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What could hide or forge content: HTML and autolinks, links and images, code spans, table
# cells, escapes, @mentions. (Emphasis is left alone: it changes how text looks, not what.)
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI_AND_BREAKS}]")  # JSON escapes only below 0x20
_MARKDOWN = re.compile(r"[\\`\[\]<>|&@]")
_BACKTICKS = re.compile(r"`+")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``text`` with every control character escaped visibly: it stays on one line."""
    return _CONTROL.sub(_escape, text)


def keep_lines(text: str) -> str:
    """``text`` with every control character but the newline escaped visibly."""
    return _CONTROL_BUT_NEWLINE.sub(_escape, text)


def markdown_text(value: object) -> str:
    """A value as inert Markdown text: no markup, no HTML, no line break, no table cell end."""
    return _MARKDOWN.sub(lambda m: f"&#{ord(m.group())};", one_line(str(value)))


def fence(lines: Iterable[str]) -> str:
    """Backticks enough to open a code block that none of ``lines`` can close."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    return "`" * max(3, longest + 1)


def code_span(value: object) -> str:
    """A value as inline code that it cannot end early (nothing inside code is markup)."""
    text = one_line(str(value))
    if "`" not in text:
        return f"`{text}`"
    ticks = "`" * (max(len(run) for run in _BACKTICKS.findall(text)) + 1)
    return f"{ticks} {text} {ticks}"


def document(lines: Iterable[str]) -> str:
    """Lines for people, each made one safe line, each ended by a newline."""
    return "".join(one_line(line) + "\n" for line in lines)


def html_text(value: object) -> str:
    """A value as HTML text: markup escaped, control characters shown (the page may be
    written to a terminal, and a terminal obeys them)."""
    return escape(one_line(str(value)), quote=True)


def json_text(value: object, *, indent: int | None = None, compact: bool = False) -> str:
    """``value`` as JSON text (non-ASCII kept readable) that cannot act on a terminal."""
    text = json.dumps(value, indent=indent, ensure_ascii=False,
                      separators=(",", ":") if compact else None)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
