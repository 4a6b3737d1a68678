"""A user's project on disk: its root, evalspec.yaml, variables and spec files."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalspec.errors import Location, ProblemSet, UsageError, display_path
from evalspec.spec.template import suggest
from evalspec.spec.yamlload import Document, load_file, parse

CONFIG_NAMES = ("evalspec.yaml", "evalspec.yml")
ENV_VAR_PREFIX = "EVALSPEC_VAR_"


def find_root(start: Path) -> Path:
    """The project's evalspec.yaml: ``start`` itself, or found in it or a parent directory."""
    start = start.absolute()
    if not start.exists():
        raise UsageError(f"{display_path(start)}: no such file or directory")
    if start.is_file():
        if start.name in CONFIG_NAMES:
            return start
        start = start.parent  # a spec file: check the whole project it belongs to
    for directory in (start, *start.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    raise UsageError(
        f"no evalspec.yaml in {start} or any parent directory; "
        "run 'evalspec init' to create one, or pass the project directory"
    )


@dataclass
class VariableInputs:
    """Variables from outside evalspec.yaml, in rising precedence order of application."""

    var_files: Sequence[Path] = ()
    cli_vars: Sequence[str] = ()
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def _parse_value(text: str, declared: Any) -> Any:
    """Values from the command line and environment are YAML scalars (``0.5``, ``[a, b]``),
    unless evalspec.yaml declares the variable with a string default: then text stays text."""
    if isinstance(declared, str):
        return text
    documents, problems = parse(text, "<value>")
    if problems or len(documents) != 1:
        return text
    return documents[0].value if documents[0].value is not None else text


@dataclass
class Variables:
    """The variables after every source is applied, and where each value from outside
    evalspec.yaml came from, for messages about it."""

    declared: Mapping[str, Any]  # evalspec.yaml's vars
    values: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)  # --var NAME, EVALSPEC_VAR_NAME, ...
    places: dict[str, Location] = field(default_factory=dict)  # where a var file names each


def resolve_variables(declared: Mapping[str, Any], inputs: VariableInputs,
                      problems: ProblemSet) -> Variables:
    """evalspec.yaml ``vars`` < ``EVALSPEC_VAR_*`` < ``--var-file`` (in order) < ``--var``."""
    out = Variables(declared, dict(declared))
    for key in sorted(inputs.environ):
        if key.startswith(ENV_VAR_PREFIX) and len(key) > len(ENV_VAR_PREFIX):
            name = key[len(ENV_VAR_PREFIX):]
            out.values[name] = _parse_value(inputs.environ[key], declared.get(name))
            out.origins[name] = key
    for path in inputs.var_files:
        shown = display_path(path)
        if not path.is_file():
            raise UsageError(f"--var-file {shown}: no such file")
        documents, file_problems = load_file(path, shown)
        problems.extend(file_problems)
        if file_problems:
            continue
        content = [d for d in documents if d.value is not None]
        if len(content) != 1 or not isinstance(content[0].value, dict):
            problems.add(Location(shown, 1, 1), (), "a var file must hold one mapping of "
                         "variable names to values")
            continue
        out.values.update(content[0].value)
        for name in content[0].value:
            out.origins[str(name)] = f"--var-file {shown}"
            out.places[str(name)] = content[0].locate((name,))
    for item in inputs.cli_vars:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {item!r}: expected NAME=VALUE")
        out.values[name.strip()] = _parse_value(text, declared.get(name.strip()))
        out.origins[name.strip()] = f"--var {name.strip()}"
    return out


def undeclared_variables(variables: Variables, files: Callable[[], Iterable[Path]],
                         problems: ProblemSet) -> None:
    """Refuse a variable given on the command line or in the environment that evalspec.yaml
    does not declare and no spec reads (a misspelt ``--var modles=...`` would otherwise be
    ignored); one from a var file, which may serve several projects, is a warning.
    ``files`` gives the project's files, read only when such a variable is found."""
    strays = sorted(name for name in variables.origins if name not in variables.declared)
    if not strays:
        return
    used = set(variables.declared)
    for path in files():
        text = path.read_text(encoding="utf-8", errors="replace")
        used.update(re.findall(r"\bvars\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)", text))
    for name in strays:
        if name in used:
            continue
        origin = variables.origins[name]
        message = (f"no variable '{name}' is declared in evalspec.yaml's vars or read by a "
                   f"spec{suggest(name, sorted(used))}")
        if origin.startswith("--var-file"):
            problems.add(variables.places[name], (name,), message, "warning")
        else:
            raise UsageError(f"{origin}: {message}")


def render_project(document: Document, variables: Mapping[str, Any],
                   problems: ProblemSet) -> Any:
    """evalspec.yaml's ``project`` with its ``${{ vars.NAME }}`` rendered, so that one config
    serves several environments on one account (``project: support-${{ vars.stage }}``).
    A value that is not a template comes back as it is (the schema checks it); None after a
    located problem."""
    from evalspec.spec.fields import PATTERN_MESSAGES, PROJECT_PATTERN
    from evalspec.spec.template import Context, TemplateError, compile_string, stringify

    value = document.value.get("project")
    if not isinstance(value, str) or "${{" not in value:
        return value
    where = document.locate(("project",))
    try:
        compiled = compile_string(value)
        if isinstance(compiled, str):
            return compiled
        if compiled.roots != {"vars"}:
            raise TemplateError("the project may use only ${{ vars.NAME }}: it is read before "
                                "anything else, so env and matrix are not available")
        rendered = stringify(compiled.render(Context(vars=variables, env={})))
    except TemplateError as exc:
        problems.add(where, ("project",), str(exc))
        return None
    if not re.fullmatch(PROJECT_PATTERN, rendered):
        problems.add(where, ("project",), f"{value!r} renders to {rendered!r}, which "
                     f"{PATTERN_MESSAGES[PROJECT_PATTERN]}")
        return None
    return rendered


def declared_variables(document: Document) -> Mapping[str, Any]:
    """evalspec.yaml's ``vars`` as written (empty when they are not a mapping: the schema
    says so)."""
    declared = document.value.get("vars")
    return declared if isinstance(declared, dict) else {}


def spec_files(root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files matched by the ``specs`` globs, relative to the root, sorted, each once."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise UsageError(f"specs pattern {pattern!r} must be relative to the project root")
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                found.setdefault(path, None)
    return list(found)


@dataclass
class ConfigFile:
    path: Path
    document: Document | None


def load_config(path: Path, problems: ProblemSet) -> ConfigFile:
    shown = display_path(path)
    documents, file_problems = load_file(path, shown)
    problems.extend(file_problems)
    content = [d for d in documents if d.value is not None]
    if file_problems:
        return ConfigFile(path, None)
    if not content:
        problems.add(Location(shown, 1, 1), (), "evalspec.yaml is empty; it needs at least "
                     "the project's name, for example 'project: my-evals'")
        return ConfigFile(path, None)
    if len(content) != 1:
        problems.add(Location(shown, 1, 1), (),
                     "evalspec.yaml must hold exactly one YAML document (a mapping)")
        return ConfigFile(path, None)
    if not isinstance(content[0].value, dict):
        problems.add(content[0].locate(()), (), "evalspec.yaml must be a mapping with "
                     "at least a 'project' key")
        return ConfigFile(path, None)
    return ConfigFile(path, content[0])


@dataclass(frozen=True)
class Identity:
    """What commands that only read the platform need: where the project is, its name and
    its configured endpoint. Read from evalspec.yaml alone, so that `status` and `results`
    work while a spec is being edited."""

    root: Path
    project: str
    endpoint: str | None


def read_identity(start: Path, inputs: VariableInputs | None = None) -> Identity:
    """The project's identity; ``inputs`` are the variables a templated project name reads."""
    from evalspec.errors import SpecError

    config = find_root(start)
    problems = ProblemSet()
    loaded = load_config(config, problems)
    document = loaded.document
    if document is None or problems.errors:
        raise SpecError(problems.errors, problems.warnings)
    variables = resolve_variables(declared_variables(document), inputs or VariableInputs(),
                                  ProblemSet())  # a var file's own problems: validate
    project = render_project(document, variables.values, problems)
    if problems.errors:
        raise SpecError(problems.errors, problems.warnings)
    # As for the commands that load the specs: with a templated project, a misspelt
    # ``--var stag=prod`` would otherwise silently choose the default stage.
    undeclared_variables(variables, lambda: [config, *spec_files(config.parent,
                                                                  _spec_patterns(document))],
                         ProblemSet())
    endpoint = document.value.get("endpoint")
    if not isinstance(project, str) or not project:
        problems.add(document.locate(("project",)), ("project",),
                     "a project name is required (run 'evalspec validate' for details)")
        raise SpecError(problems.errors, problems.warnings)
    return Identity(config.parent, project,
                    endpoint if isinstance(endpoint, str) and endpoint else None)


def _spec_patterns(document: Document) -> list[str]:
    """evalspec.yaml's ``specs`` globs, or the default ones."""
    from evalspec.spec.fields import DEFAULT_SPECS

    patterns = document.value.get("specs")
    if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
        return patterns
    return list(DEFAULT_SPECS)
