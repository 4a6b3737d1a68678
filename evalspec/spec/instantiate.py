"""Compiled templates turned into closures, once per document, then called per instance.

A compiled tree (:func:`evalspec.spec.template.compile_tree`) becomes one function per node:
a mapping or list copies a prepared container and fills in only its templated entries, and an
expression that reads ``matrix.X`` or ``vars.X`` looks its value up directly. Whatever the fast
path cannot resolve (a missing key, ``env``) goes through :meth:`Expression.evaluate`, so the
values and the error messages are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evalspec.errors import JsonPath
from evalspec.spec.template import (
    BadNode,
    Const,
    Context,
    DictNode,
    Expression,
    ListNode,
    StrNode,
    Template,
    TemplateError,
    stringify,
)

Errors = list[tuple[JsonPath, str]]
Build = Callable[[Context, Errors], Any]
_NODES = (StrNode, DictNode, ListNode, BadNode)


def _expression(expr: Expression) -> Callable[[Context], Any]:
    if expr.root == "env":
        return expr.evaluate
    from_matrix, (first, *rest) = expr.root == "matrix", expr.keys
    filtered = bool(expr.filters)

    def value(ctx: Context) -> Any:
        scope = ctx.matrix if from_matrix else ctx.vars
        if scope is None or first not in scope:
            return expr.evaluate(ctx)  # the slow path words the error
        found = scope[first]
        for key in rest:
            if not isinstance(found, Mapping) or key not in found:
                return expr.evaluate(ctx)
            found = found[key]
        return expr.apply(found) if filtered else found

    return value


def _template(template: Template) -> Callable[[Context], Any]:
    if template.whole:
        return _expression(template.parts[0])  # type: ignore[arg-type]
    parts = [(p, None) if isinstance(p, str) else ("", _expression(p)) for p in template.parts]

    def text(ctx: Context) -> str:
        return "".join([literal if fn is None else stringify(fn(ctx)) for literal, fn in parts])

    return text


def instantiate(node: Any) -> Build:
    """A function that builds one instance of ``node`` for a context; each failing expression
    is appended to the errors it is given and leaves None in its place."""
    if isinstance(node, StrNode):
        fn, path = _template(node.template), node.path

        def string(ctx: Context, errors: Errors) -> Any:
            try:
                return fn(ctx)
            except TemplateError as exc:
                errors.append((path, str(exc)))
                return None

        return string
    if isinstance(node, DictNode):
        base = {k: v.value if isinstance(v, Const) else None if isinstance(v, _NODES) else v
                for k, v in node.items}
        fields = [(k, instantiate(v)) for k, v in node.items if isinstance(v, _NODES)]

        def mapping(ctx: Context, errors: Errors) -> dict[str, Any]:
            out = base.copy()
            for key, build in fields:
                out[key] = build(ctx, errors)
            return out

        return mapping
    if isinstance(node, ListNode):
        first = [v.value if isinstance(v, Const) else None if isinstance(v, _NODES) else v
                 for v in node.items]
        entries = [(i, instantiate(v)) for i, v in enumerate(node.items)
                   if isinstance(v, _NODES)]

        def sequence(ctx: Context, errors: Errors) -> list[Any]:
            out = first.copy()
            for index, build in entries:
                out[index] = build(ctx, errors)
            return out

        return sequence
    if isinstance(node, BadNode):
        message, where = node.message, node.path

        def bad(ctx: Context, errors: Errors) -> None:
            errors.append((where, message))

        return bad
    value = node.value if isinstance(node, Const) else node

    def constant(ctx: Context, errors: Errors) -> Any:
        return value  # shared between instances, never copied

    return constant


def render_tree(node: Any, ctx: Context, errors: Errors) -> Any:
    """Render a compiled tree once; each failing expression is appended to ``errors``."""
    return instantiate(node)(ctx, errors)
