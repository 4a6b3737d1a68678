"""Matrix sweeps: the cartesian product of the axes, minus ``exclude``, plus ``include``.

Order is stable: axes in the order written, values in the order listed (the last axis varies
fastest), then ``include`` entries in the order listed. An ``include`` equal to an instance that
is already there adds nothing.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from evalspec.errors import JsonPath
from evalspec.spec.explain import shorten
from evalspec.spec.template import suggest

SPECIAL = ("include", "exclude")


class MatrixError(Exception):
    def __init__(self, path: JsonPath, message: str, severity: str = "error"):
        super().__init__(message)
        self.path = path
        self.message = message
        self.severity = severity


class MatrixTooLarge(Exception):
    """The sweep would produce more instances than the budget allows."""


@dataclass(frozen=True)
class Expansion:
    instances: list[dict[str, Any]]
    keys: tuple[str, ...]
    warnings: list[MatrixError]


def _entries(matrix: dict[str, Any], name: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    raw = matrix.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise MatrixError(("matrix", name), f"'{name}' must be a list of mappings")
    entries = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not entry:
            raise MatrixError(("matrix", name, i),
                              f"each '{name}' entry must be a non-empty mapping")
        if name == "exclude":
            for key in entry:
                if key not in keys:
                    raise MatrixError(
                        ("matrix", name, i, key),
                        f"exclude uses '{key}', which is not a matrix axis{suggest(key, keys)}",
                    )
        entries.append(entry)
    return entries


def expand(matrix: Any, budget: int) -> Expansion:
    """Expand a matrix; raises MatrixTooLarge when it gives more than ``budget`` instances."""
    if not isinstance(matrix, dict):
        raise MatrixError(("matrix",), "matrix must be a mapping of axis name to a list of values")
    keys = tuple(k for k in matrix if k not in SPECIAL)
    for key in keys:
        values = matrix[key]
        if not isinstance(values, list) or not values:
            raise MatrixError(("matrix", key), f"matrix axis '{key}' must be a non-empty list")
        seen: dict[str, int] = {}
        for i, value in enumerate(values):
            text = json.dumps(value, sort_keys=True, default=str)
            if text in seen:
                raise MatrixError(("matrix", key, i), (
                    f"matrix axis '{key}' lists {_shown(value)} twice (values {seen[text] + 1} "
                    f"and {i + 1}): each value once"))
            seen[text] = i
    excludes = _entries(matrix, "exclude", keys)
    includes = _entries(matrix, "include", keys)
    if not keys and not includes:
        raise MatrixError(("matrix",), "matrix has no axes; give at least one list of values")

    instances: list[dict[str, Any]] = []
    used = [False] * len(excludes)
    for combo in itertools.product(*(matrix[k] for k in keys)) if keys else ():
        instance = dict(zip(keys, combo, strict=True))
        hit = False
        for i, ex in enumerate(excludes):
            if all(instance.get(k) == v for k, v in ex.items()):
                used[i] = hit = True
        if hit:
            continue
        instances.append(instance)
        if len(instances) > budget:
            raise MatrixTooLarge()
    for inc in includes:
        if inc not in instances:
            instances.append(dict(inc))
            if len(instances) > budget:
                raise MatrixTooLarge()
    warnings = [
        MatrixError(("matrix", "exclude", i), "this exclude entry matches no combination",
                    "warning")
        for i, hit in enumerate(used) if not hit
    ]
    all_keys = keys + tuple(k for inc in includes for k in inc if k not in keys)
    return Expansion(instances, tuple(dict.fromkeys(all_keys)), warnings)


def _shown(value: Any) -> str:
    return repr(shorten(value if isinstance(value, str) else json.dumps(value, default=str)))


def product_size(matrix: Any) -> int:
    """An upper bound on the instance count, computed without expanding."""
    if not isinstance(matrix, dict):
        return 0
    size = 1
    axes = [v for k, v in matrix.items() if k not in SPECIAL]
    for values in axes:
        size *= len(values) if isinstance(values, list) else 0
    if not axes:
        size = 0
    include = matrix.get("include")
    return size + (len(include) if isinstance(include, list) else 0)


def describe(instance: dict[str, Any]) -> str:
    """``model=openai/gpt-4o, temperature=0.7`` for messages."""
    from evalspec.spec.template import stringify

    return ", ".join(f"{k}={stringify(v)}" for k, v in instance.items())
