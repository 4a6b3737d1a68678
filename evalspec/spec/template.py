"""``${{ ... }}`` expressions: references with filters, and nothing that runs code.

Grammar::

    expression := reference ( "|" filter )*
    reference  := ("vars" | "matrix" | "env") ( "." name )+
    filter     := "slug" | "lower" | "upper" | "json" | "default" "(" literal ")"
    literal    := 'text' | "text" | number | true | false | null

A scalar that is exactly one expression keeps the value's type; anywhere else the value is
turned into text (strings as they are, everything else as compact JSON). ``$${{`` writes a
literal ``${{``. The platform's own ``{{ ... }}`` placeholders are left alone.

A document is compiled once (:func:`compile_tree`), turned into closures once
(:mod:`evalspec.spec.instantiate`) and instantiated once per matrix instance; parts without
expressions are shared between instances, never copied, so callers must not mutate them.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evalspec.errors import JsonPath

_EXPRESSION = re.compile(r"\$?\$\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_-]+)*)$")
_FILTER = re.compile(r"^([A-Za-z_]+)\s*(?:\((.*)\))?$", re.DOTALL)
_LITERAL_STRING = re.compile(r"""^(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")$""", re.DOTALL)
_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")

ROOTS = ("vars", "matrix", "env")
FILTERS = ("slug", "lower", "upper", "default", "json")
CREDENTIAL_NAMES = frozenset(("SGP_API_KEY", "SGP_ACCOUNT_ID", "SCALE_API_KEY"))
_CREDENTIAL_WORDS = frozenset((
    "KEY", "KEYS", "APIKEY", "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD",
    "PASS", "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "PAT", "PRIVATE", "SESSION", "COOKIE",
))
_CREDENTIAL_ENDINGS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def is_credential(name: str) -> bool:
    """Names that hold credentials, matched without regard to case: the SDKs' own and any
    name with a word such as KEY, TOKEN, SECRET, PASSWORD, AUTH or PAT in it. Specs can never
    read these, even when evalspec.yaml declares them."""
    upper = name.upper()
    words = re.split(r"[^A-Z0-9]+", upper)
    return (upper in CREDENTIAL_NAMES or any(w in _CREDENTIAL_WORDS for w in words)
            or upper.endswith(_CREDENTIAL_ENDINGS))


class TemplateError(Exception):
    """A problem in one expression; reported at the scalar that holds it."""


class _Missing:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True)
class Context:
    """What expressions can see. ``matrix`` is None outside a matrix document."""

    vars: Mapping[str, Any]
    env: Mapping[str, str]
    matrix: Mapping[str, Any] | None = None
    matrix_keys: tuple[str, ...] = field(default=())
    env_declared: frozenset[str] = frozenset()  # evalspec.yaml's ``env``: all a spec may read


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if type(value) in (int, float):
        return repr(value)  # the same text as JSON for finite numbers
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def slug(value: Any) -> str:
    """Lowercase ASCII letters, digits and single dashes: accents are dropped from letters
    (``Ünïcode`` -> ``unicode``), other letters outside ASCII are dropped, and each run of
    anything else (punctuation, spaces, a dash outside ASCII) becomes one dash."""
    return _slug_text(stringify(value))


@functools.lru_cache(maxsize=4096)  # a sweep slugs the same few axis values per instance
def _slug_text(text: str) -> str:
    kept = [c for c in unicodedata.normalize("NFKD", text)
            if not unicodedata.combining(c) and (c.isascii() or not c.isalpha())]
    return _SLUG_DROP.sub("-", "".join(kept).lower()).strip("-")


def _parse_literal(text: str) -> Any:
    text = text.strip()
    m = _LITERAL_STRING.match(text)
    if m:
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        return re.sub(r"\\(.)", r"\1", raw)
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    if text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[text]
    raise TemplateError(
        f"default() needs a literal such as 'text', 42, true or null, got '{text}'"
    )


@dataclass(frozen=True)
class Expression:
    root: str
    keys: tuple[str, ...]
    filters: tuple[tuple[str, Any], ...]
    source: str

    def evaluate(self, ctx: Context) -> Any:
        return self.apply(self._lookup(ctx))

    def apply(self, value: Any) -> Any:
        """The filters applied to a looked-up value (which may be missing)."""
        for name, arg in self.filters:
            if name == "default":
                if isinstance(value, _Missing) or value is None:
                    value = arg
                continue
            if isinstance(value, _Missing):
                raise TemplateError(value.reason)
            if name == "slug":
                value = slug(value)
            elif name == "lower":
                value = stringify(value).lower()
            elif name == "upper":
                value = stringify(value).upper()
            else:  # json
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, _Missing):
            raise TemplateError(value.reason)
        return value

    def _lookup(self, ctx: Context) -> Any:
        ref = ".".join((self.root, *self.keys))
        if self.root == "env":
            name = self.keys[0]
            if name not in ctx.env_declared:
                same = [d for d in ctx.env_declared if d.upper() == name.upper()]
                hint = (f" (did you mean '{same[0]}'? names match exactly)" if same
                        else f" (add 'env: [{name}]' there)")
                raise TemplateError(
                    f"environment variable {name} is not declared; specs read only the "
                    f"variables evalspec.yaml lists{hint}"
                )
            value: Any = ctx.env.get(name)
            if value is None:
                return _Missing(
                    f"environment variable {name} is not set "
                    f"(write '${{{{ env.{name} | default(...) }}}}' to give a fallback)"
                )
            return value
        if self.root == "matrix":
            if ctx.matrix is None:
                return _Missing(f"'{ref}' is used in a document that has no matrix")
            scope: Any = ctx.matrix
            choices = list(ctx.matrix_keys or ctx.matrix)
        else:
            scope, choices = ctx.vars, list(ctx.vars)
        for i, key in enumerate(self.keys):
            if isinstance(scope, Mapping) and key in scope:
                scope = scope[key]
                choices = list(scope) if isinstance(scope, Mapping) else []
                continue
            where = ".".join((self.root, *self.keys[:i]))
            if self.root == "vars" and i == 0:
                return _Missing(f"unknown variable '{ref}'{suggest(key, choices)}")
            if self.root == "matrix" and i == 0:
                listed = ", ".join(choices) if choices else "none"
                return _Missing(
                    f"the matrix has no key '{key}'{suggest(key, choices)}; keys: {listed}"
                )
            return _Missing(f"'{where}' has no key '{key}'{suggest(key, choices)}")
        return scope


def parse_expression(source: str) -> Expression:
    text = source.strip()
    if not text:
        raise TemplateError("empty expression '${{ }}'")
    head, *filters = [part.strip() for part in text.split("|")]
    m = _REFERENCE.match(head)
    if not m or not m.group(2):
        raise TemplateError(
            f"'{head}' is not a reference; expressions look like "
            "'vars.name', 'matrix.key' or 'env.NAME', optionally followed by '| filter'"
        )
    root, keys = m.group(1), tuple(m.group(2)[1:].split("."))
    if root not in ROOTS:
        raise TemplateError(
            f"unknown reference '{head}'{suggest(root, ROOTS)}; "
            "references start with vars., matrix. or env."
        )
    if root == "env":
        if len(keys) != 1:
            raise TemplateError(f"'{head}' must name one environment variable, like env.NAME")
        if is_credential(keys[0]):
            raise TemplateError(
                f"'env.{keys[0]}' looks like a credential; credentials cannot be used in specs"
            )
    parsed: list[tuple[str, Any]] = []
    for item in filters:
        fm = _FILTER.match(item)
        if not fm:
            raise TemplateError(f"invalid filter '{item}'")
        name, arg = fm.group(1), fm.group(2)
        if name not in FILTERS:
            raise TemplateError(
                f"unknown filter '{name}'{suggest(name, FILTERS)}; filters: {', '.join(FILTERS)}"
            )
        if name == "default":
            if arg is None:
                raise TemplateError("default needs a value, like default('none')")
            parsed.append((name, _parse_literal(arg)))
        elif arg is not None:
            raise TemplateError(f"filter '{name}' takes no arguments")
        else:
            parsed.append((name, None))
    return Expression(root, keys, tuple(parsed), text)


@dataclass(frozen=True)
class Template:
    """A string with expressions; ``parts`` alternate literal text and expressions."""

    parts: tuple[str | Expression, ...]
    whole: bool

    def render(self, ctx: Context) -> Any:
        if self.whole:
            return self.parts[0].evaluate(ctx)  # type: ignore[union-attr]
        return "".join(p if isinstance(p, str) else stringify(p.evaluate(ctx)) for p in self.parts)

    @property
    def roots(self) -> set[str]:
        return {p.root for p in self.parts if isinstance(p, Expression)}


def compile_string(text: str) -> Template | str:
    """Compile a string; returns it unchanged when it holds no expression."""
    if "${{" not in text:
        return text
    parts: list[str | Expression] = []
    pos = 0
    for m in _EXPRESSION.finditer(text):
        literal = text[pos : m.start()]
        pos = m.end()
        if m.group(0).startswith("$$"):
            parts.append(literal + m.group(0)[1:])
            continue
        if "${{" in m.group(1):
            raise TemplateError("'${{' inside an expression; close each '${{' with '}}'")
        if literal:
            parts.append(literal)
        parts.append(parse_expression(m.group(1)))
    rest = text[pos:]
    if "${{" in rest.replace("$${{", ""):
        raise TemplateError("unterminated expression: '${{' without a closing '}}'")
    if rest:
        parts.append(rest)
    merged: list[str | Expression] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if all(isinstance(p, str) for p in merged):
        return "".join(merged)  # type: ignore[arg-type]
    whole = len(merged) == 1
    return Template(tuple(merged), whole)


# A compiled tree is the original value where nothing is templated, or one of these nodes.
@dataclass(frozen=True)
class DictNode:
    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ListNode:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class StrNode:
    template: Template
    path: JsonPath


@dataclass(frozen=True)
class BadNode:
    message: str
    path: JsonPath


@dataclass(frozen=True)
class Const:
    """A value to insert as it is, never templated (the content of a file, say)."""

    value: Any


def compile_tree(value: Any, path: JsonPath = (),
                 leaf: Callable[[JsonPath, str], Any] | None = None) -> Any:
    """Compile every string below ``value``; errors become nodes reported at render time.

    ``leaf(path, text)`` may replace a plain string with a node (a :class:`Const`); it is
    called for strings without expressions only.
    """
    if isinstance(value, str):
        if leaf is not None and "${{" not in value:
            replaced = leaf(path, value)
            if replaced is not None:
                return replaced
        try:
            compiled = compile_string(value)
        except TemplateError as exc:
            return BadNode(str(exc), path)
        return StrNode(compiled, path) if isinstance(compiled, Template) else compiled
    if isinstance(value, dict):
        items = tuple((k, compile_tree(v, (*path, k), leaf)) for k, v in value.items())
        if all(c is value[k] for k, c in items):
            return value
        return DictNode(items)
    if isinstance(value, list):
        compiled_items = tuple(compile_tree(v, (*path, i), leaf) for i, v in enumerate(value))
        if all(c is v for c, v in zip(compiled_items, value, strict=True)):
            return value
        return ListNode(compiled_items)
    return value


def templated_paths(node: Any) -> list[JsonPath]:
    """Paths of every templated string in a compiled tree."""
    if isinstance(node, StrNode):
        return [node.path]
    if isinstance(node, (DictNode, ListNode)):
        children = (v for _, v in node.items) if isinstance(node, DictNode) else node.items
        return [p for child in children for p in templated_paths(child)]
    return []
