"""Every way evalspec can fail, and what a user is shown for it.

The tree is small on purpose::

    EvalspecError                 anything evalspec reports without a traceback (exit 1)
    ├── SpecError                 the project has problems; carries every located Problem
    └── UsageError                a bad option or argument on the command line

Only ``evalspec.cli`` turns these into output and exit codes. Anything else that escapes is a bug:
the CLI reports it in one line and shows the traceback only with ``--debug``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130

JsonPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


MAX_MESSAGE = 1000  # characters of a message, and of one key in a path, that are shown


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was left out: a message
    quotes values from files, and a 2 MB key must not make a 4 MB message."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def format_path(path: JsonPath) -> str:
    """Render a JSON path the way users see it: ``$.tasks[0].configuration.model``."""
    parts = ["$"]
    for part in path:
        if isinstance(part, str):
            part = clip(part, 100)
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; ``line`` and ``column`` are 1-based (0 when unknown)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One located problem in a user's project."""

    location: Location
    path: JsonPath
    message: str
    severity: str = "error"  # "error" or "warning"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, format_path(self.path), self.message)

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        if self.path:
            return f"{self.location}: {format_path(self.path)}: {prefix}{self.message}"
        return f"{self.location}: {prefix}{self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": format_path(self.path),
            "message": self.message,
        }


class EvalspecError(Exception):
    """An error with a message fit for a user; never shown with a traceback."""

    exit_code = EXIT_ERROR


class UsageError(EvalspecError):
    """A bad option or argument on the command line."""


class LocatedError(EvalspecError):
    """A single problem at a known place, raised where collecting more is impossible."""

    def __init__(self, location: Location, message: str, path: JsonPath = ()):
        message = clip(message)
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message
        self.path = path

    def problem(self) -> Problem:
        return Problem(self.location, self.path, self.message)


@dataclass
class ProblemSet:
    """Collects problems from every stage so they are reported all at once."""

    problems: list[Problem] = field(default_factory=list)
    _seen: set[tuple[object, ...]] = field(default_factory=set)

    def add(self, location: Location, path: JsonPath, message: str,
            severity: str = "error") -> None:
        message = clip(message)
        key = (location, path, message, severity)
        if key in self._seen:
            return
        self._seen.add(key)
        self.problems.append(Problem(location, path, message, severity))

    def extend(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.location, p.path, p.message, p.severity)

    @property
    def errors(self) -> list[Problem]:
        return sorted((p for p in self.problems if p.severity == "error"), key=Problem.sort_key)

    @property
    def warnings(self) -> list[Problem]:
        return sorted((p for p in self.problems if p.severity == "warning"), key=Problem.sort_key)

    def __bool__(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


class SpecError(EvalspecError):
    """The project has problems; ``problems`` holds all of them, sorted."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = sorted(problems, key=Problem.sort_key)
        self.warnings = sorted(warnings or [], key=Problem.sort_key)
        files = {p.location.file for p in self.problems}
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in {len(files)} "
            f"file{'s' if len(files) != 1 else ''}"
        )


def display_path(path: Path, cwd: Path | None = None) -> str:
    """A path as a user should see it: relative to the working directory when inside it."""
    cwd = cwd or Path.cwd()
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)
