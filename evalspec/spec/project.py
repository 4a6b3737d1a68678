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


def resolve_variables(
    declared: Mapping[str, Any], inputs: VariableInputs, problems: ProblemSet,
    origins: dict[str, str] | None = None, places: dict[str, Location] | None = None,
) -> dict[str, Any]:
    """evalspec.yaml ``vars`` < ``EVALSPEC_VAR_*`` < ``--var-file`` (in order) < ``--var``.
    ``origins`` receives where each value from outside evalspec.yaml came from
    (``--var models``, ``EVALSPEC_VAR_models``, ``--var-file FILE``)."""
    values = dict(declared)
    origins = {} if origins is None else origins
    for key in sorted(inputs.environ):
        if key.startswith(ENV_VAR_PREFIX) and len(key) > len(ENV_VAR_PREFIX):
            name = key[len(ENV_VAR_PREFIX):]
            values[name] = _parse_value(inputs.environ[key], declared.get(name))
            origins[name] = key
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
        values.update(content[0].value)
        origins.update((str(name), f"--var-file {shown}") for name in content[0].value)
        if places is not None:  # where each name is written, for a problem about it
            places.update((str(name), content[0].locate((name,))) for name in content[0].value)
    for item in inputs.cli_vars:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {item!r}: expected NAME=VALUE")
        values[name.strip()] = _parse_value(text, declared.get(name.strip()))
        origins[name.strip()] = f"--var {name.strip()}"
    return values


def undeclared_variables(declared: Mapping[str, Any], origins: Mapping[str, str],
                         texts: Callable[[], Iterable[str]], problems: ProblemSet,
                         places: Mapping[str, Location] | None = None) -> None:
    """Refuse a variable given on the command line or in the environment that evalspec.yaml
    does not declare and no spec reads (a misspelt ``--var modles=...`` would otherwise be
    ignored); one from a var file, which may serve several projects, is a warning.
    ``texts`` gives the project's files, read only when such a variable is found."""
    strays = sorted(name for name in origins if name not in declared)
    if not strays:
        return
    used = set(declared)
    for text in texts():
        used.update(re.findall(r"\bvars\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)", text))
    for name in strays:
        if name in used:
            continue
        origin = origins[name]
        message = (f"no variable '{name}' is declared in evalspec.yaml's vars or read by a "
                   f"spec{suggest(name, sorted(used))}")
        if origin.startswith("--var-file"):
            where = (places or {}).get(name) or Location(origin.split(" ", 1)[1], 1, 1)
            problems.add(where, (name,), message, "warning")
        else:
            raise UsageError(f"{origin}: {message}")


def render_project(document: Document, inputs: VariableInputs,
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
        declared = document.value.get("vars")
        variables = resolve_variables(declared if isinstance(declared, dict) else {}, inputs,
                                      ProblemSet())  # their own problems are reported later
        rendered = stringify(compiled.render(Context(vars=variables, env={})))
    except TemplateError as exc:
        problems.add(where, ("project",), str(exc))
        return None
    if not re.fullmatch(PROJECT_PATTERN, rendered):
        problems.add(where, ("project",), f"{value!r} renders to {rendered!r}, which "
                     f"{PATTERN_MESSAGES[PROJECT_PATTERN]}")
        return None
    return rendered


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
    inputs = inputs or VariableInputs()
    project = render_project(document, inputs, problems)
    if problems.errors:
        raise SpecError(problems.errors, problems.warnings)
    _no_stray_variables(config, document, inputs)
    endpoint = document.value.get("endpoint")
    if not isinstance(project, str) or not project:
        problems.add(document.locate(("project",)), ("project",),
                     "a project name is required (run 'evalspec validate' for details)")
        raise SpecError(problems.errors, problems.warnings)
    return Identity(config.parent, project,
                    endpoint if isinstance(endpoint, str) and endpoint else None)


def _no_stray_variables(config: Path, document: Document, inputs: VariableInputs) -> None:
    """As for the commands that load the specs: a variable given that nothing declares or
    reads is refused (it would silently choose no project: ``--var stag=prod``)."""
    declared = document.value.get("vars")
    declared = declared if isinstance(declared, dict) else {}
    origins: dict[str, str] = {}
    resolve_variables(declared, inputs, ProblemSet(), origins)
    patterns = document.value.get("specs")
    if not (isinstance(patterns, list) and all(isinstance(p, str) for p in patterns)):
        from evalspec.spec.fields import DEFAULT_SPECS

        patterns = list(DEFAULT_SPECS)

    def texts() -> Iterable[str]:
        for path in [config, *spec_files(config.parent, patterns)]:
            yield path.read_text(encoding="utf-8", errors="replace")

    undeclared_variables(declared, origins, texts, ProblemSet())
