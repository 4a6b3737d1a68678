"""Import's sweeps: evaluations of a group that differ only in task configuration values (a
model, a temperature), with names, descriptions and metadata that follow those values, written
as one Evaluation document with a matrix."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from evalspec.spec.template import slug, stringify


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    if isinstance(value, dict) and value:
        return {p: v for k, item in value.items() for p, v in _leaves(item, (*path, k)).items()}
    if isinstance(value, list) and value:
        return {p: v for i, item in enumerate(value)
                for p, v in _leaves(item, (*path, i)).items()}
    return {path: value}


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        tree = tree[step]
    tree[path[-1]] = value


def _template(texts: list[str], values: list[dict[str, Any]]) -> str | None:
    """One template that renders to each text from its member's axis values, if there is."""
    found = None
    for text, axes in zip(texts, values, strict=True):
        candidate = text
        for axis, value in sorted(axes.items(), key=lambda kv: -len(stringify(kv[1]))):
            if stringify(value) in candidate:
                candidate = candidate.replace(stringify(value), f"${{{{ matrix.{axis} }}}}")
            elif slug(value) and slug(value) in candidate:
                candidate = candidate.replace(slug(value), f"${{{{ matrix.{axis} | slug }}}}")
        if found is not None and candidate != found:
            return None
        found = candidate
    return found


def matrix_doc(members: list[dict[str, Any]],
               document: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
    """One Evaluation document with a matrix for ``members``, or None when they are not a
    sweep (they differ in more than task configuration values, or names do not follow)."""
    if len(members) < 2:
        return None
    docs = [document(m) for m in members]
    leaves = [_leaves({k: v for k, v in d.items() if k != "name"}) for d in docs]
    if any(set(leaf) != set(leaves[0]) for leaf in leaves):
        return None
    differing = [p for p in leaves[0] if len({json.dumps(leaf[p]) for leaf in leaves}) > 1]
    axes = [p for p in differing if len(p) == 4 and p[0] == "tasks" and p[2] == "configuration"]
    names = [str(p[3]) for p in axes]
    if not axes or len(set(names)) != len(names):
        return None
    values = [{name: leaf[p] for name, p in zip(names, axes, strict=True)} for leaf in leaves]
    template = docs[0]
    for path in [p for p in differing if p not in axes] + [("name",)]:
        texts = ([d["name"] for d in docs] if path == ("name",)
                 else [leaf[path] for leaf in leaves])
        exact = [next((a for a, v in member.items() if v == text), None)
                 for text, member in zip(texts, values, strict=True)]
        if len(set(exact)) == 1 and exact[0] is not None:
            _set(template, path, f"${{{{ matrix.{exact[0]} }}}}")
            continue
        if not all(isinstance(t, str) for t in texts):
            return None
        rendered = _template(texts, values)
        if rendered is None:
            return None
        _set(template, path, rendered)
    for name, path in zip(names, axes, strict=True):
        _set(template, path, f"${{{{ matrix.{name} }}}}")
    grid = {name: list(dict.fromkeys(json.dumps(v[name]) for v in values)) for name in names}
    present = {tuple(json.dumps(v[n]) for n in names) for v in values}
    if len(present) != len(members):
        return None
    matrix: dict[str, Any] = {n: [json.loads(x) for x in grid[n]] for n in names}
    missing = [dict(zip(names, (json.loads(x) for x in combo), strict=True))
               for combo in itertools.product(*(grid[n] for n in names))
               if combo not in present]
    if missing:
        matrix["exclude"] = missing
    ordered = {"kind": "Evaluation", "name": template["name"]}
    ordered.update({k: v for k, v in template.items() if k not in ("kind", "name")})
    ordered["matrix"] = matrix
    return ordered
