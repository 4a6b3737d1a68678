"""The desired state: a project on disk, fully expanded, typed and checked, offline.

The pipeline a spec travels::

    evalspec.yaml + specs/*.yaml --yamlload--> documents with locations
        --schema--> source documents checked (templates allowed)
        --template/matrix--> one rendered instance per matrix combination
        --fileref--> file:// references replaced by rows or text
        --models--> typed instances --checks--> DesiredState

Every stage adds located problems to one ProblemSet; :func:`build` raises SpecError with all of
them at the end, or returns the state.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evalspec.errors import (
    JsonPath,
    LocatedError,
    ProblemSet,
    SpecError,
    display_path,
)
from evalspec.spec import checks, matrix, models
from evalspec.spec.explain import explain_jsonschema, explain_pydantic, shorten, show
from evalspec.spec.fileref import DataFileErrors, FileResolver, is_reference
from evalspec.spec.instantiate import instantiate, render_tree
from evalspec.spec.objects import DesiredObject, DesiredState, Source
from evalspec.spec.project import (
    VariableInputs,
    Variables,
    declared_variables,
    find_root,
    load_config,
    render_project,
    resolve_variables,
    spec_files,
    undeclared_variables,
)
from evalspec.spec.schema import validator_for
from evalspec.spec.template import (
    Const,
    Context,
    Expression,
    Template,
    TemplateError,
    compile_string,
    compile_tree,
    is_credential,
    suggest,
    templated_paths,
)
from evalspec.spec.yamlload import Document, load_file

HARD_MAX_EVALUATIONS = 100_000  # even when policy.max_evaluations is advisory


def _check_schema(value: Any, definition: str, source: Source, problems: ProblemSet) -> bool:
    before = len(problems.problems)
    for error in validator_for(definition).iter_errors(value):
        for path, message, at_key in explain_jsonschema(error):
            problems.add(source.locate(path, at_key), path, message)
    return len(problems.problems) == before


def _typed(model: type[BaseModel], value: Any, source: Source, problems: ProblemSet,
           instance: dict[str, Any] | None) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        for path, message, at_key in explain_pydantic(exc.errors(), value):
            if instance and source.templated(path):
                message += f" (matrix: {matrix.describe(instance)})"
            problems.add(source.locate(path, at_key), path, message)
        return None


class _Builder:
    def __init__(self, root: Path, inputs: VariableInputs, problems: ProblemSet) -> None:
        self.root = root
        self.inputs = inputs
        self.variables = Variables({}, {})  # resolved with evalspec.yaml, which they name
        self.problems = problems
        self.files = FileResolver(root)
        self.objects: list[DesiredObject] = []
        self.spec_documents = {kind: 0 for kind in models.KINDS}
        self.env: dict[str, str] = {}
        self.env_declared: frozenset[str] = frozenset()

    def declare_env(self, config: models.ProjectConfig, source: Source) -> None:
        """Only the variables evalspec.yaml lists are visible to specs; never a credential."""
        allowed = []
        for index, name in enumerate(config.env):
            if is_credential(name):
                self.problems.add(
                    source.locate(("env", index)), ("env", index),
                    f"'{name}' names a credential; specs can never read credentials "
                    "(evalspec reads SGP_API_KEY, SGP_ACCOUNT_ID and SCALE_API_KEY itself)")
            else:
                allowed.append(name)
        self.env_declared = frozenset(allowed)
        self.env = {n: self.inputs.environ[n] for n in allowed if n in self.inputs.environ}

    # -- evalspec.yaml ------------------------------------------------------------------------
    def config(self, path: Path) -> tuple[models.ProjectConfig, dict[str, Any], Source] | None:
        loaded = load_config(path, self.problems)
        if loaded.document is None:
            return None
        source = Source(loaded.document, "config", path.parent)
        value = loaded.document.value
        # Resolved before evalspec.yaml is typed: its project name may read them.
        self.variables = resolve_variables(declared_variables(loaded.document), self.inputs,
                                           self.problems)
        if "project" in value:
            value = {**value, "project": render_project(loaded.document, self.variables.values,
                                                        self.problems)}
            if value["project"] is None:
                return None
        if not _check_schema(value, "ProjectConfig", source, self.problems):
            return None
        defaults = value.get("defaults") or {}
        typed = _typed(models.ProjectConfig, {**value, "defaults": {}}, source, self.problems, None)
        return (typed, defaults, source) if typed else None

    # -- resource documents -------------------------------------------------------------------
    def sources(self, paths: list[Path]) -> list[Source]:
        out = []
        for path in paths:
            documents, problems = load_file(path, display_path(path))
            self.problems.extend(problems)
            for doc in documents:
                if doc.value is None:
                    continue
                source = Source(doc, "", path.parent)
                if self._kind(doc, source):
                    out.append(source)
        return out

    def _kind(self, doc: Document, source: Source) -> bool:
        value = doc.value
        if not isinstance(value, dict):
            self.problems.add(doc.locate(()), (), "a spec document must be a mapping with "
                              "'kind' and 'name'")
            return False
        kind = value.get("kind")
        kinds = list(models.KINDS)
        if kind is None:
            self.problems.add(doc.locate(()), (), "missing required key 'kind' "
                              f"(one of {', '.join(kinds)})")
            return False
        if not isinstance(kind, str) or kind not in models.KINDS:
            hint = suggest(kind, kinds) if isinstance(kind, str) else ""
            self.problems.add(doc.locate(("kind",)), ("kind",),
                              f"unknown kind {show(kind)}{hint}; kinds: {', '.join(kinds)}")
            return False
        source.kind = kind
        source.has_matrix = "matrix" in value
        self.spec_documents[kind] += 1
        return _check_schema(value, kind, source, self.problems)

    # -- expansion ----------------------------------------------------------------------------
    def expand(self, index: int, source: Source, variables: dict[str, Any],
               defaults: Any, defaults_source: Source, policy: models.Policy) -> None:
        value = source.document.value
        env, declared = self.env, self.env_declared
        base = Context(variables, env, env_declared=declared)
        combos: list[dict[str, Any] | None] = [None]
        keys: tuple[str, ...] = ()
        if "matrix" in value:
            expanded = self._matrix(value["matrix"], base, source, policy)
            if expanded is None:
                return
            combos, keys = list(expanded.instances), expanded.keys
        failed: list[bool] = []
        compiled = compile_tree({k: v for k, v in value.items() if k != "matrix"}, (),
                                self._file_leaf(source, source.base_dir, failed))
        compiled_defaults = compile_tree(defaults, ("defaults",),
                                         self._file_leaf(defaults_source, self.root, failed))
        if failed:
            return
        file_paths = [p for p in templated_paths(compiled) if _may_hold_file(p)]
        build, build_defaults = instantiate(compiled), instantiate(compiled_defaults)
        names: dict[str, dict[str, Any] | None] = {}
        collided: set[str] = set()
        for number, combo in enumerate(combos):
            ctx = Context(variables, env, combo, keys, declared) if combo is not None else base
            errors: list[tuple[JsonPath, str]] = []
            rendered = build(ctx, errors)
            rendered_defaults = build_defaults(ctx, errors)
            for path, message in errors:
                where = defaults_source if path[:1] == ("defaults",) else source
                self.problems.add(where.locate(path), path, message)
            if errors:
                continue
            if source.kind == "Evaluation":
                rendered = checks.merge_defaults(rendered, rendered_defaults)
            if file_paths and not self._templated_files(rendered, file_paths, source):
                continue
            model: type[BaseModel] = models.KINDS[source.kind]
            spec = _typed(model, rendered, source, self.problems, combo)
            if spec is None:
                continue
            if spec.name in names:
                if spec.name not in collided:
                    collided.add(spec.name)
                    self._duplicate_name(source, spec.name, names[spec.name], combo)
                continue
            names[spec.name] = combo
            self.objects.append(
                DesiredObject(source.kind, spec.name, spec, source, combo,
                              (index, source.document.index, number))
            )

    def _matrix(self, raw: Any, ctx: Context, source: Source, policy: models.Policy
                ) -> matrix.Expansion | None:
        errors: list[tuple[JsonPath, str]] = []
        rendered = render_tree(compile_tree(raw, ("matrix",)), ctx, errors)
        for path, message in errors:
            self.problems.add(source.locate(path), path, message)
        if errors:
            return None
        used = sum(1 for o in self.objects if o.kind == "Evaluation")
        advisory = policy.enforcement.get("max_evaluations") == "advisory"
        cap = HARD_MAX_EVALUATIONS if advisory else policy.max_evaluations
        try:
            expansion = matrix.expand(rendered, max(cap - used, 0))
        except matrix.MatrixError as exc:
            self.problems.add(source.locate(exc.path), exc.path,
                              exc.message + self._given(raw, exc.path, ctx))
            return None
        except matrix.MatrixTooLarge:
            before = f"; {used:,} come from earlier specs" if used else ""
            self.problems.add(
                source.locate(("matrix",)), ("matrix",),
                f"this matrix expands to more than {max(cap - used, 0):,} evaluations{before}; "
                f"the project may have at most {cap:,} (policy.max_evaluations)",
            )
            return None
        for warning in expansion.warnings:
            self.problems.add(source.locate(warning.path), warning.path, warning.message,
                              "warning")
        return expansion

    def _located(self, exc: LocatedError, path: JsonPath) -> None:
        """A reference's problem, or each of a data file's problems."""
        for error in exc.errors if isinstance(exc, DataFileErrors) else [exc]:
            self.problems.add(error.location, path + error.path, error.message)

    def _given(self, raw: Any, path: JsonPath, ctx: Context) -> str:
        """For an axis that is exactly ``${{ vars.NAME }}`` set from outside evalspec.yaml:
        where the value came from and what it was, since the spec line shows neither."""
        axis = raw.get(path[1]) if isinstance(raw, dict) and len(path) == 2 else None
        try:
            compiled = compile_string(axis) if isinstance(axis, str) else None
        except TemplateError:
            return ""
        if not isinstance(compiled, Template) or not compiled.whole:
            return ""
        [expression] = compiled.parts
        assert isinstance(expression, Expression)
        if expression.root != "vars" or not expression.keys:
            return ""
        name = expression.keys[0]
        origin = self.variables.origins.get(name)
        if origin is None:
            return ""
        value = ctx.vars.get(name)
        if isinstance(value, str):
            if value.lstrip().startswith(("[", "{")):
                hint = ", which is not valid YAML: check its brackets and quotes"
            elif origin.startswith("--var "):
                hint = f"; a list is written [a, b], for example --var '{name}=[{value}]'"
            else:
                hint = "; a list is written [a, b]"
            return f": {origin} gave the text {show(value)}{hint}"
        return f": {origin} gave {shorten(json.dumps(value, ensure_ascii=False, default=str))}"

    def _duplicate_name(self, source: Source, name: str, first: dict[str, Any] | None,
                        second: dict[str, Any] | None) -> None:
        a = matrix.describe(first or {})
        b = matrix.describe(second or {})
        self.problems.add(
            source.locate(("name",)), ("name",),
            f"matrix instances ({a}) and ({b}) both get the name '{name}'; "
            "include the differing values in the name template",
        )

    def _file(self, reference: str, path: JsonPath, source: Source, base_dir: Path) -> Any:
        """The content a reference stands for; raises LocatedError."""
        content = self.files.resolve(reference, base_dir, source.locate(path))
        if len(path) == 1:  # data / items: rows
            if content.rows is None:
                raise LocatedError(source.locate(path), f"'{reference}' must be a data file "
                                   "(.jsonl, .json, .csv, .yaml) to give rows")
            source.rows.setdefault(path, content)
        return content.value

    def _file_leaf(self, source: Source, base_dir: Path, failed: list[bool]
                   ) -> Callable[[JsonPath, str], Any]:
        """Replace constant file:// references with their content, once per document."""

        def leaf(path: JsonPath, text: str) -> Any:
            if not (is_reference(text) and _may_hold_file(path)):
                return None
            try:
                return Const(self._file(text, path, source, base_dir))
            except LocatedError as exc:
                self._located(exc, path)
                failed.append(True)
                return None

        return leaf

    def _templated_files(self, rendered: dict[str, Any], paths: list[JsonPath],
                         source: Source) -> bool:
        """Resolve references that only templating produced (``file://${{ ... }}.txt``)."""
        ok = True
        for path in paths:
            parent: Any = rendered
            for part in path[:-1]:
                parent = parent[part]
            reference = parent[path[-1]]
            if not is_reference(reference):
                continue
            try:
                parent[path[-1]] = self._file(reference, path, source, source.base_dir)
            except LocatedError as exc:
                self._located(exc, path)
                ok = False
        return ok


def _may_hold_file(path: JsonPath) -> bool:
    """file:// is read in ``data`` and ``items`` (rows) and anywhere inside ``tasks``."""
    if not path:
        return False
    if path[0] == "defaults":
        path = path[1:]
        return len(path) > 1 and path[0] == "configuration"
    return path in (("data",), ("items",)) or (path[0] == "tasks" and len(path) > 1)


def build(start: Path, inputs: VariableInputs | None = None) -> DesiredState:
    """Load, expand and check the project containing ``start``; raises SpecError."""
    inputs = inputs or VariableInputs()
    config_path = find_root(start)
    root = config_path.parent
    problems = ProblemSet()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # cyclic GC doubles bulk loading time and we create no cycles worth collecting
    try:
        builder = _Builder(root, inputs, problems)
        loaded = builder.config(config_path)
        if loaded is None:
            raise SpecError(problems.errors, problems.warnings)
        config, defaults, config_source = loaded
        builder.declare_env(config, config_source)
        variables = builder.variables.values
        paths = spec_files(root, config.specs)
        undeclared_variables(builder.variables, lambda: [config_path, *paths], problems)
        if not paths:
            where = config_source.locate(("specs",))
            problems.add(where, ("specs",), "no spec files match "
                         f"{', '.join(config.specs)}; the project defines nothing", "warning")
        sources = builder.sources(paths)
        for index, source in enumerate(sources):
            builder.expand(index, source, variables, defaults, config_source, config.policy)
        objects = sorted(builder.objects, key=lambda o: (checks.KIND_ORDER[o.kind], o.order))
        state = DesiredState(root, config, objects, builder.spec_documents, [], builder.files)
        checks.check(state, problems, config_source, complete=not problems)
        if problems:
            raise SpecError(problems.errors, problems.warnings)
        state.warnings = problems.warnings
        return state
    finally:
        if gc_was_enabled:
            gc.freeze()  # what was built lives on: later collections need not walk it again
            gc.enable()
