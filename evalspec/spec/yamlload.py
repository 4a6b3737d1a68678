"""Safe YAML loading with a location for every node.

Values are built straight from libyaml's flat event stream instead of PyYAML's composer and
constructor, which keeps every guard in one iterative loop:

- file:line:col recorded for every value and mapping key, keyed by JSON path;
- duplicate mapping keys are errors, not silent overwrites;
- only the plain data tags are accepted; ``!!python/...`` and other tags are reported, never
  constructed;
- scalars resolve with YAML 1.2 core rules: ``yes``/``on`` stay strings, and timestamps stay
  strings (they are never turned into ``datetime``);
- alias expansion is counted as it happens and capped (billion-laughs documents are rejected
  before anything walks them), recursive aliases are rejected;
- nesting depth is capped before the parser goes deeper (libyaml's own composer would overflow
  the C stack), and file size is capped before reading;
- files must be UTF-8; a bad byte is reported at its line and column.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.parser import Parser as _PyParser
from yaml.reader import Reader as _Reader
from yaml.scanner import Scanner as _Scanner

from evalspec.errors import JsonPath, LocatedError, Location, Problem
from evalspec.spec.yaml_hints import hint, offset


class _PurePythonParser(_Reader, _Scanner, _PyParser):
    """PyYAML's own parser: slow, but it reads ahead only ~1,024 characters, has no nesting
    limit of its own and never recurses, so the depth guard below always acts first."""

    def __init__(self, stream: str) -> None:
        _Reader.__init__(self, stream)
        _Scanner.__init__(self)
        _PyParser.__init__(self)


try:  # libyaml's C parser: 8-18x faster than the pure-Python one.
    from yaml._yaml import CParser as _Parser

    WITH_LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = _PurePythonParser  # type: ignore[misc,assignment]
    WITH_LIBYAML = False

# libyaml 0.2.6 and later (bundled with PyYAML 6.0.3+ wheels) stop at 1,000 levels of flow
# nesting, and its scanner reads a whole flow collection ahead before the first event: such
# a file is read again with the pure-Python parser so the error is evalspec's own, at the
# place where MAX_DEPTH was crossed, whichever PyYAML is installed.
_LIBYAML_NESTING = "maximum nesting depth"

MAX_SPEC_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
# Keys and values written in one document. A spec past this is data in the wrong place; the
# cap bounds time and memory (~1 s) before the values are built, whatever the file holds.
MAX_NODES = 200_000
MAX_DATA_NODES = 5_000_000  # a .yaml data file of rows, read through file://
ALIAS_FLOOR = 10_000  # alias expansion always allowed up to this many nodes
ALIAS_FACTOR = 10  # ... or this many times the nodes actually written

_CORE = "tag:yaml.org,2002:"
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_MAYBE_TYPED = frozenset("0123456789+-.~ntfNTF")


@dataclass
class Document:
    """One YAML document: its value and where each part of it was written."""

    value: Any
    file: str
    index: int
    locs: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_locs: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: JsonPath, key: bool = False) -> Location:
        """The location of ``path``, or of its nearest written ancestor."""
        if key and path in self.key_locs:
            return Location(self.file, *self.key_locs[path])
        p = tuple(path)
        while p:
            found = self.locs.get(p)
            if found:
                return Location(self.file, *found)
            p = p[:-1]
        return Location(self.file, *self.locs.get((), (1, 1)))


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _implicit(value: str) -> Any:
    if not value or value[0] in _MAYBE_TYPED:
        if value in _NULLS:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        if _INT.match(value):
            return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
        if _FLOAT.match(value):
            lowered = value.lower()
            if lowered.endswith("inf"):
                return -math.inf if lowered.startswith("-") else math.inf
            if lowered.endswith("nan"):
                return math.nan
            return float(value)
    return value


class _Frame:
    __slots__ = ("kind", "container", "path", "key", "key_mark", "anchor", "start", "merges",
                 "mark")

    def __init__(self, kind: str, container: Any, path: JsonPath, anchor: str | None,
                 start: int, mark: tuple[int, int]) -> None:
        self.kind = kind
        self.container = container
        self.path = path
        self.key: str | None = None
        self.key_mark = mark
        self.anchor = anchor
        self.start = start
        self.merges: list[tuple[Any, tuple[int, int]]] = []
        self.mark = mark


class _DocumentBuilder:
    """Builds one document's value from events; collects non-fatal problems."""

    def __init__(self, file: str, index: int, problems: list[Problem],
                 max_nodes: int = MAX_NODES) -> None:
        self.doc = Document(None, file, index)
        self.max_nodes = max_nodes
        self.problems = problems
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.real = 0
        self.total = 0

    def _problem(self, mark: tuple[int, int], path: JsonPath, message: str) -> None:
        self.problems.append(Problem(Location(self.doc.file, *mark), path, message))

    def _fatal(self, mark: tuple[int, int], message: str) -> LocatedError:
        return LocatedError(Location(self.doc.file, *mark), message)

    def _child_path(self) -> JsonPath | None:
        """Path of the node about to be added; None when it is a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.kind == "seq":
            return (*top.path, len(top.container))
        if top.key is None:
            return None
        return (*top.path, top.key)

    def _add(self, value: Any, mark: tuple[int, int], size: int) -> None:
        self.total += size
        if not self.stack:
            self.doc.value = value
            return
        top = self.stack[-1]
        if top.kind == "seq":
            top.container.append(value)
            return
        key = top.key
        assert key is not None  # a value in a mapping always follows its key
        top.key = None
        if key == "<<" and key not in top.container:
            top.merges.append((value, mark))
            return
        if key in top.container:
            first = self.doc.key_locs.get((*top.path, key), mark)
            self._problem(top.key_mark, (*top.path, key),
                          f"duplicate key '{key}' (first defined at line {first[0]})")
            return
        top.container[key] = value

    def _set_key(self, key: Any, mark: tuple[int, int]) -> None:
        """Keys are kept as written (``50256:`` is the key "50256"), as JSON needs strings."""
        top = self.stack[-1]
        if not isinstance(key, str):
            raise self._fatal(mark, "mapping keys must be plain scalars, not collections")
        self.doc.key_locs.setdefault((*top.path, key), mark)
        top.key = key
        top.key_mark = mark

    def event(self, ev: Any) -> None:
        sm = ev.start_mark
        mark = (sm.line + 1, sm.column + 1)
        name = type(ev).__name__
        if name == "ScalarEvent":
            self._scalar(ev, mark)
        elif name in ("SequenceStartEvent", "MappingStartEvent"):
            self._start(ev, mark, "seq" if name == "SequenceStartEvent" else "map")
        elif name in ("SequenceEndEvent", "MappingEndEvent"):
            self._end()
        elif name == "AliasEvent":
            self._alias(ev, mark)

    def _check_tag(self, tag: str | None, allowed: tuple[str, ...], mark: tuple[int, int]) -> None:
        """Tags beyond plain data stop the file: nothing tagged is ever constructed."""
        if tag is None or tag == "!" or tag in allowed:
            return
        raise self._fatal(mark, f"unsupported YAML tag '{_tag_name(tag)}'; only plain data "
                          "(strings, numbers, booleans, null, lists, mappings) is allowed")

    def _count(self, mark: tuple[int, int]) -> None:
        self.real += 1
        if self.real > self.max_nodes:
            raise self._fatal(mark, f"document has more than {self.max_nodes:,} keys and "
                              "values; move rows to a data file (file://rows.jsonl)")

    def _scalar(self, ev: Any, mark: tuple[int, int]) -> None:
        self._count(mark)
        path = self._child_path()
        text, tag = ev.value, ev.tag
        value: Any
        if tag is None and ev.implicit[0]:
            value = _implicit(text)
        elif tag is None or tag in ("!", _CORE + "str"):
            value = text
        elif tag in (_CORE + "int", _CORE + "float", _CORE + "bool", _CORE + "null"):
            value = _implicit(text)
            expected: dict[str, type | tuple[type, ...]] = {
                "int": int, "float": (float, int), "bool": bool, "null": type(None)}
            if not isinstance(value, expected[tag[len(_CORE):]]) or (
                tag.endswith("int") and isinstance(value, bool)
            ):
                self._problem(mark, path or (), f"'{text}' is not a valid {_tag_name(tag)}")
                value = text
            elif tag.endswith("float"):
                value = float(_implicit(text))
        else:
            self._check_tag(tag, (), mark)
            value = text
        if path is None:
            self._set_key(text, mark)
            return
        if ev.anchor:
            self.anchors[ev.anchor] = (value, 1)
        self.doc.locs[path] = mark
        self._add(value, mark, 1)

    def _start(self, ev: Any, mark: tuple[int, int], kind: str) -> None:
        self._count(mark)
        path = self._child_path()
        if path is None:
            raise self._fatal(mark, "mapping keys must be plain scalars, not collections")
        if len(self.stack) >= MAX_DEPTH:
            raise self._fatal(mark, f"document is nested deeper than {MAX_DEPTH} levels")
        self._check_tag(ev.tag, (_CORE + kind,), mark)
        self.doc.locs[path] = mark
        if ev.anchor:
            self.open_anchors.add(ev.anchor)
        container: Any = [] if kind == "seq" else {}
        self.stack.append(_Frame(kind, container, path, ev.anchor, self.total, mark))

    def _end(self) -> None:
        frame = self.stack.pop()
        container = frame.container
        for merged, mark in frame.merges:
            sources = merged if isinstance(merged, list) else [merged]
            for source in sources:
                if not isinstance(source, dict):
                    self._problem(mark, (*frame.path, "<<"),
                                  "merge key '<<' needs a mapping or a list of mappings")
                    continue
                for k, v in source.items():
                    if k not in container:
                        container[k] = v
                        self.doc.locs.setdefault((*frame.path, k), mark)
        size = self.total - frame.start + 1
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (container, size)
        self.total = frame.start
        self._add(container, frame.mark, size)

    def _alias(self, ev: Any, mark: tuple[int, int]) -> None:
        name = ev.anchor
        if name in self.open_anchors:
            raise self._fatal(mark, f"recursive alias '*{name}' refers to a node that contains it")
        if name not in self.anchors:
            raise self._fatal(mark, f"unknown alias '*{name}' (no anchor '&{name}' before it)")
        value, size = self.anchors[name]
        limit = max(ALIAS_FLOOR, ALIAS_FACTOR * self.real)
        if self.total + size - self.real > limit:
            raise self._fatal(
                mark,
                f"aliases expand this document beyond {limit:,} nodes; "
                "refusing to load it (possible alias bomb)",
            )
        path = self._child_path()
        if path is None:
            self._set_key(value, mark)
            return
        self.doc.locs[path] = mark
        self._add(value, mark, size)


def decode(data: bytes, file: str) -> str:
    """Decode UTF-8 (with or without BOM), or raise a located error at the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise LocatedError(
            Location(file, line, column),
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: Path, file: str, max_bytes: int | None = None) -> str:
    max_bytes = max_bytes or MAX_SPEC_BYTES
    size = path.stat().st_size
    if size > max_bytes:
        raise LocatedError(
            Location(file),
            f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for YAML files",
        )
    return decode(path.read_bytes(), file)


def _position_to_mark(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def parse(text: str, file: str, max_nodes: int = MAX_NODES
          ) -> tuple[list[Document], list[Problem]]:
    """Parse every document in ``text``. Returns documents and problems.

    A syntax error or a broken limit stops the file: documents are then returned empty so later
    stages do not report problems caused by a half-read file.
    """
    documents, problems = _parse_with(_Parser, text, file, max_nodes)
    if (WITH_LIBYAML and len(problems) == 1 and not documents
            and _LIBYAML_NESTING in problems[0].message):
        # MAX_DEPTH is crossed before libyaml's limit, so the text up to where libyaml
        # stopped (and a margin for the pure-Python scanner's look-ahead) is enough.
        where = problems[0].location
        end = offset(text, where.line, where.column) + 4096
        documents, problems = _parse_with(_PurePythonParser, text[:end], file, max_nodes)
    return documents, problems


def _parse_with(parser_class: Any, text: str, file: str, max_nodes: int
                ) -> tuple[list[Document], list[Problem]]:
    problems: list[Problem] = []
    documents: list[Document] = []
    parser = parser_class(text)
    builder: _DocumentBuilder | None = None
    try:
        while parser.check_event():
            ev = parser.get_event()
            name = type(ev).__name__
            if name == "DocumentStartEvent":
                builder = _DocumentBuilder(file, len(documents), problems, max_nodes)
            elif name == "DocumentEndEvent":
                assert builder is not None
                documents.append(builder.doc)
                builder = None
            elif builder is not None:
                builder.event(ev)
    except LocatedError as exc:
        return [], [*problems, exc.problem()]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{detail} ({exc.context})"
        detail += hint(exc, text, where)
        return [], [*problems, Problem(Location(file, *where), (), f"invalid YAML: {detail}")]
    except yaml.reader.ReaderError as exc:
        where = _position_to_mark(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return [], [*problems, Problem(
            Location(file, *where), (), f"invalid YAML: character U+{ord(char):04X} is not allowed"
        )]
    finally:
        if hasattr(parser, "dispose"):
            parser.dispose()
    return documents, problems


def load_file(path: Path, file: str, max_bytes: int | None = None,
              max_nodes: int = MAX_NODES) -> tuple[list[Document], list[Problem]]:
    """Read and parse a YAML file; every failure comes back as a located problem."""
    try:
        text = read_text(path, file, max_bytes)
    except LocatedError as exc:
        return [], [exc.problem()]
    except OSError as exc:
        return [], [Problem(Location(file), (), f"cannot read file: {exc.strerror or exc}")]
    return parse(text, file, max_nodes)


if not WITH_LIBYAML:  # pragma: no cover
    print("evalspec: warning: PyYAML was built without libyaml; YAML loading will be slow. "
          "Reinstall PyYAML with libyaml available.", file=sys.stderr)
