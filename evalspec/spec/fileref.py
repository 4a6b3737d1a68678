"""``file://`` references: rows from data files, text from everything else.

A reference is resolved relative to the file that contains it and must stay inside the project
root after symlinks are resolved. By extension: ``.jsonl``, ``.json`` (an array), ``.csv`` (with a
header row) and ``.yaml``/``.yml`` (a list) give rows, each a mapping; any other file gives its
text. Files are read line by line, size-capped, and read once per run however many matrix
instances use them. Every error names the data file and its line.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from evalspec.errors import LocatedError, Location, display_path
from evalspec.spec.yamlload import MAX_DATA_NODES, decode, load_file

PREFIX = "file://"
MAX_FILE_BYTES = 200 * 1024 * 1024
# Rows and cells (a row's top-level values) in one .jsonl, .csv or .json data file. Bytes alone
# bound nothing: 10 MB of tiny CSV rows took 2.2 GB as Python objects (bench/data_files.py has
# the memory per row). A million rows is far past what an evaluation should hold.
MAX_DATA_ROWS = 1_000_000
MAX_DATA_CELLS = 10_000_000
# Objects and arrays in a .json file, counted before it is parsed (as for YAML data files).
MAX_JSON_CONTAINERS = MAX_DATA_NODES
ROW_SUFFIXES = (".jsonl", ".json", ".csv", ".yaml", ".yml")


@dataclass(frozen=True)
class FileContent:
    """What a reference resolved to: rows (with the line each started on) or text."""

    file: str
    rows: list[dict[str, Any]] | None = None
    lines: tuple[int, ...] = ()
    text: str | None = None

    @property
    def value(self) -> Any:
        return self.rows if self.rows is not None else self.text

    def row_location(self, index: int) -> Location:
        if index < len(self.lines):
            return Location(self.file, self.lines[index], 1)
        return Location(self.file)


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class FileResolver:
    """Resolves references for one project; caches each file's content for the whole run."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes or MAX_FILE_BYTES
        self._cache: dict[Path, FileContent | LocatedError] = {}
        self._resolved: dict[tuple[Path, str], FileContent] = {}

    def resolve(self, reference: str, base_dir: Path, where: Location) -> FileContent:
        """Resolve ``reference`` written in a file in ``base_dir``; ``where`` is its location."""
        hit = self._resolved.get((base_dir, reference))
        if hit is None:
            hit = self._resolve(reference, base_dir, where)
            self._resolved[(base_dir, reference)] = hit
        return hit

    def _resolve(self, reference: str, base_dir: Path, where: Location) -> FileContent:
        raw = reference[len(PREFIX):]
        if not raw:
            raise LocatedError(where, "empty file:// reference; write file://relative/path")
        pure = PurePosixPath(raw)
        if pure.is_absolute() or raw.startswith("~") or (len(raw) > 1 and raw[1] == ":"):
            raise LocatedError(
                where, f"'{reference}' is absolute; file:// paths are relative to the spec file"
            )
        candidate = base_dir / raw
        try:
            resolved = candidate.resolve(strict=True)
        except FileNotFoundError:
            shown = display_path(Path(os.path.normpath(candidate)))
            raise LocatedError(where, f"'{reference}': no such file ({shown})"
                               f"{self._from_root(raw, base_dir)}") from None
        except (OSError, RuntimeError) as exc:
            raise LocatedError(where, f"'{reference}': cannot resolve path: {exc}") from None
        if not resolved.is_relative_to(self.root):
            raise LocatedError(
                where, f"'{reference}' points outside the project root"
            )
        if not resolved.is_file():
            raise LocatedError(where, f"'{reference}' is not a regular file")
        cached = self._cache.get(resolved)
        if cached is None:
            try:
                cached = self._read(resolved)
            except LocatedError as exc:
                cached = exc
            self._cache[resolved] = cached
        if isinstance(cached, LocatedError):
            raise cached
        return cached

    def _from_root(self, raw: str, base_dir: Path) -> str:
        """A hint when the path names a file from the project root instead of the spec's
        directory (``file://data/x.jsonl`` written in specs/)."""
        intended = self.root / raw
        if base_dir.resolve() == self.root or not intended.is_file():
            return ""
        relative = PurePosixPath(os.path.relpath(intended, base_dir.resolve()).replace(os.sep, "/"))
        return (f"; paths are relative to the spec file, not the project root: did you mean "
                f"'{PREFIX}{relative}'?")

    def _read(self, path: Path) -> FileContent:
        file = display_path(path)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise LocatedError(
                Location(file), f"file is {size:,} bytes, over the {self.max_bytes:,}-byte limit"
            )
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return _read_jsonl(path, file)
        if suffix == ".json":
            return _read_json(path, file)
        if suffix == ".csv":
            return _read_csv(path, file)
        if suffix in (".yaml", ".yml"):
            return _read_yaml(path, file)
        return FileContent(file, text=decode(path.read_bytes(), file))


MAX_FILE_PROBLEMS = 50  # reported per data file; the rest are counted


class DataFileErrors(LocatedError):
    """Every problem found in one data file (the first is this error's own)."""

    def __init__(self, errors: list[LocatedError]) -> None:
        first = errors[0]
        super().__init__(first.location, first.message, first.path)
        self.errors = errors


class _Collected:
    """The problems of one data file, gathered so that all are reported at once."""

    def __init__(self, file: str) -> None:
        self.file, self.more = file, 0
        self.errors: list[LocatedError] = []
        self.dropped: Location | None = None  # where the first problem not shown is

    def add(self, error: LocatedError) -> None:
        if len(self.errors) < MAX_FILE_PROBLEMS:
            self.errors.append(error)
        else:
            self.more += 1
            self.dropped = self.dropped or Location(self.file, error.location.line, 1)

    def raise_any(self) -> None:
        if self.dropped is not None:
            self.errors.append(LocatedError(self.dropped, (
                f"... and {self.more:,} more problems in this file from here on")))
        if self.errors:
            raise DataFileErrors(self.errors)


def _not_object(file: str, line: int, value: Any) -> LocatedError:
    kind = type(value).__name__
    names = {"list": "an array", "str": "a string", "int": "a number", "float": "a number",
             "bool": "a boolean", "NoneType": "null"}
    return LocatedError(
        Location(file, line, 1), f"each row must be an object, got {names.get(kind, kind)}"
    )


class _RowCount:
    """Counts rows and cells as a file is read; stops the read at the first limit passed."""

    def __init__(self, file: str) -> None:
        self.file, self.rows, self.cells = file, 0, 0

    def add(self, line: int, cells: int) -> None:
        self.rows += 1
        self.cells += cells
        if self.rows > MAX_DATA_ROWS:
            raise LocatedError(Location(self.file, line, 1), f"more than {MAX_DATA_ROWS:,} "
                               "rows: over the limit for one data file; split it, or use a "
                               "Dataset with fewer rows")
        if self.cells > MAX_DATA_CELLS:
            raise LocatedError(Location(self.file, line, 1), f"more than {MAX_DATA_CELLS:,} "
                               "values in its rows: over the limit for one data file")


def _lines(path: Path, file: str) -> Iterator[tuple[int, str]]:
    """Decoded lines with their 1-based numbers, read as a stream."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise LocatedError(
                    Location(file, number, exc.start + 1),
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                ) from None


def _read_jsonl(path: Path, file: str) -> FileContent:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    count = _RowCount(file)
    found = _Collected(file)
    for number, text in _lines(path, file):
        if not text.strip():
            continue
        try:
            row = json.loads(text.rstrip("\r\n"))  # an error at the end is on this line
        except json.JSONDecodeError as exc:
            found.add(LocatedError(Location(file, number, exc.colno),
                                   f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(row, dict):
            found.add(_not_object(file, number, row))
            continue
        count.add(number, len(row))
        rows.append(row)
        lines.append(number)
    found.raise_any()
    return FileContent(file, rows=rows, lines=tuple(lines))


def _read_json(path: Path, file: str) -> FileContent:
    text = decode(path.read_bytes(), file)
    containers = text.count("{") + text.count("[")  # an upper bound: brackets in strings count
    if containers > MAX_JSON_CONTAINERS:
        raise LocatedError(Location(file, 1, 1), f"more than {MAX_JSON_CONTAINERS:,} objects "
                           "and arrays: over the limit for one data file")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocatedError(Location(file, exc.lineno, exc.colno),
                           f"invalid JSON: {exc.msg}") from None
    if not isinstance(value, list):
        raise LocatedError(Location(file, 1, 1), "a .json data file must hold an array of objects")
    count = _RowCount(file)
    for row in value:
        if not isinstance(row, dict):
            raise _not_object(file, 1, row)
        count.add(1, len(row))
    return FileContent(file, rows=value, lines=())


def _read_csv(path: Path, file: str) -> FileContent:
    reader = csv.reader((text for _, text in _lines(path, file)), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise LocatedError(Location(file, 1, 1),
                           "CSV file is empty; it needs a header row") from None
    except csv.Error as exc:
        raise LocatedError(Location(file, reader.line_num, 1), f"invalid CSV: {exc}") from None
    seen: set[str] = set()
    for column, name in enumerate(header, start=1):
        if not name.strip():
            raise LocatedError(Location(file, 1, 1), f"CSV header column {column} has no name")
        if name in seen:
            raise LocatedError(Location(file, 1, 1), f"CSV header repeats column '{name}'")
        seen.add(name)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    count = _RowCount(file)
    found = _Collected(file)
    start = reader.line_num + 1
    try:
        for fields in reader:
            if not fields:
                start = reader.line_num + 1
                continue
            if len(fields) != len(header):
                found.add(LocatedError(
                    Location(file, start, 1),
                    f"row has {len(fields)} fields but the header has {len(header)}",
                ))
            else:
                count.add(start, len(fields))
                rows.append(dict(zip(header, fields, strict=True)))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:  # the reader cannot go on: reported at the row it stopped in
        found.add(LocatedError(Location(file, start, 1), _csv_problem(exc)))
    found.raise_any()
    return FileContent(file, rows=rows, lines=tuple(lines))


def _csv_problem(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return ("invalid CSV: a quoted field opened in this row is never closed (a '\"' "
                "inside a field is written '\"\"')")
    return f"invalid CSV: {exc}"


def _read_yaml(path: Path, file: str) -> FileContent:
    documents, problems = load_file(path, file, MAX_FILE_BYTES, MAX_DATA_NODES)
    if problems:
        first = problems[0]
        raise LocatedError(first.location, first.message, first.path)
    values = [d for d in documents if d.value is not None]
    if len(values) != 1 or not isinstance(values[0].value, list):
        raise LocatedError(Location(file, 1, 1), "a YAML data file must hold one list of mappings")
    doc = values[0]
    for i, row in enumerate(doc.value):
        if not isinstance(row, dict):
            raise LocatedError(doc.locate((i,)), "each row must be a mapping")
    lines = tuple(doc.locate((i,)).line for i in range(len(doc.value)))
    return FileContent(file, rows=doc.value, lines=lines)
