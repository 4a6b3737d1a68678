"""Offline commands: ``validate``, ``render`` and ``schema``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evalspec.errors import EXIT_ERROR, EXIT_OK, SpecError

if TYPE_CHECKING:
    from evalspec.spec.objects import DesiredState

# The pipeline (pydantic models, YAML, jsonschema) is imported when a command runs, so that
# --help, --version and shell completion start in a fraction of the time.


def var_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--var and --var-file for a command that reads only evalspec.yaml (its project name
    may be templated from variables): handed to the command as one ``variables``."""
    import functools

    @functools.wraps(fn)
    def command(*args: Any, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
                **kwargs: Any) -> Any:
        from evalspec.spec.project import VariableInputs

        return fn(*args, variables=VariableInputs(var_files=var_files, cli_vars=cli_vars),
                  **kwargs)

    return _var_flags(command)


def _var_flags(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--var-file", "var_files", multiple=True, metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML file of variables; repeatable, later files win.",
    )(fn)
    return click.option(
        "--var", "cli_vars", multiple=True, metavar="NAME=VALUE",
        help="Set a variable (highest precedence); the value is read as YAML. Repeatable.",
    )(fn)


def project_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """PATH plus the variable options shared by every command that reads a project."""
    fn = _var_flags(fn)
    return click.argument(
        "path", required=False, default=".",
        type=click.Path(path_type=Path),
    )(fn)


def build(path: Path, inputs: Any) -> DesiredState:
    from evalspec.spec.desired import build as build_state

    return build_state(path, inputs)


def load(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...]) -> DesiredState:
    from evalspec.spec.project import VariableInputs

    return build(path, VariableInputs(var_files=var_files, cli_vars=cli_vars))


def _report_problems(exc: SpecError, fmt: str) -> int:
    from evalspec.spec import output

    if fmt == "json":
        click.echo(output.validate_json(None, exc.problems, exc.warnings))
    elif fmt == "github":
        click.echo(output.problems_github(exc.problems, exc.warnings))
    else:
        click.echo(output.problems_text(exc.problems, exc.warnings), err=True)
    return EXIT_ERROR


def _stale_schema(root: Path) -> Any:
    """A warning when the project's evalspec.schema.json (written by init, read by editors) is
    not the schema of this evalspec: editors would check the specs against another."""
    from evalspec.errors import Location, Problem
    from evalspec.spec.schema import schema_text

    committed = root / "evalspec.schema.json"
    try:
        text = committed.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text == schema_text():
        return None
    return Problem(Location("evalspec.schema.json"), (), "this file is not the schema of this "
                   "evalspec (editors check the specs against it): run 'evalspec schema > "
                   "evalspec.schema.json'", "warning")


def _warn(state: DesiredState, fmt: str) -> None:
    from evalspec.spec import output

    if state.warnings and fmt == "github":
        click.echo(output.problems_github([], state.warnings))
    elif state.warnings and fmt != "json":
        click.echo(output.problems_text([], state.warnings), err=True)


@click.command()
@project_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="Problems as lines, one JSON document on stdout, or "
              "GitHub annotations (::error file=...,line=...::) that mark a pull request's "
              "diff.")
def validate(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...], fmt: str) -> int:
    """Check a project offline: YAML, templates, matrix expansion, schema, references, policy.

    Every problem is reported at once as FILE:LINE:COL: $.json.path: message; the exit code is
    1 when there are any. PATH is the project directory (or a directory inside it, or its
    evalspec.yaml); the default is the current directory.

    \b
    Examples:
      evalspec validate
      evalspec validate examples/sweep --var models='[openai/gpt-4o]'
      evalspec validate --format json | jq '.errors[].message'
      evalspec validate --format github         # in a GitHub Actions step
    """
    from evalspec.spec import output

    try:
        state = load(path, cli_vars, var_files)
    except SpecError as exc:
        return _report_problems(exc, fmt)
    stale = _stale_schema(state.root)
    if stale is not None:
        state.warnings.append(stale)
    if fmt == "json":
        click.echo(output.validate_json(state, [], state.warnings))
    else:
        _warn(state, fmt)
        click.echo(output.summary(state))
    return EXIT_OK


@click.command()
@project_options
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Output format.")
def render(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...], fmt: str) -> int:
    """Print every expanded object exactly as plan would send it.

    Each object comes with its address (Kind/name), its fingerprint, the source location it
    was expanded from and, for sweeps, its matrix values. Ids of objects that do not exist yet
    read "(known after apply: ADDRESS)".

    \b
    Examples:
      evalspec render examples/sweep
      evalspec render --format json | jq '.objects[].address'
    """
    from evalspec.spec import output
    from evalspec.spec.payloads import build_payloads

    try:
        state = load(path, cli_vars, var_files)
    except SpecError as exc:
        return _report_problems(exc, "text")
    _warn(state, "text")
    payloads = build_payloads(state)
    if fmt == "json":
        click.echo(output.render_json(state, payloads))
    else:
        click.echo(output.render_yaml(payloads), nl=False)
    return EXIT_OK


@click.command()
@click.option("--plan", "of_plan", is_flag=True,
              help="The schema of the plan document (plan --format json, plan -o) instead.")
@click.option("--results", "of_results", is_flag=True,
              help="The schema of a line of 'evalspec results' instead.")
@click.option("--report", "of_report", is_flag=True,
              help="The schema of 'evalspec report --format json' instead.")
@click.option("--reference", is_flag=True,
              help="The spec reference in Markdown (docs/spec-reference.md), from the schema.")
def schema(of_plan: bool, of_results: bool, of_report: bool, reference: bool) -> int:
    """Print the JSON Schema (draft 2020-12) for evalspec.yaml and spec documents.

    Point your editor at it for completion and checks; with the YAML language server, start
    each file with a line such as:

    \b
      # yaml-language-server: $schema=./evalspec.schema.json

    With --plan, print the schema of the plan JSON document instead (docs/plan-format.md);
    with --results, the schema of a line of 'evalspec results'.

    \b
    Examples:
      evalspec schema > evalspec.schema.json
      evalspec schema --plan > plan.schema.json
      evalspec schema --results > results.schema.json
    """
    if reference:
        from evalspec.spec.reference import render_reference
        from evalspec.spec.schema import document_schema

        click.echo(render_reference(document_schema()), nl=False)
        return EXIT_OK
    if of_report:
        from evalspec.results.report_schema import schema_text as report_schema_text

        click.echo(report_schema_text(), nl=False)
        return EXIT_OK
    if of_results:
        from evalspec.results.results_schema import schema_text as results_schema_text

        click.echo(results_schema_text(), nl=False)
        return EXIT_OK
    if of_plan:
        from evalspec.plan.schema import schema_text as plan_schema_text

        click.echo(plan_schema_text(), nl=False)
        return EXIT_OK
    from evalspec.spec.schema import schema_text

    click.echo(schema_text(), nl=False)
    return EXIT_OK


@click.command()
@click.argument("directory", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--project", "name", metavar="NAME",
              help="The project name (default: from the directory's name).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="What was written, as lines or as a JSON document.")
def init(directory: Path, name: str | None, fmt: str) -> int:
    """Create a working project: a spec, a dataset, a prompt, a CI workflow.

    Writes evalspec.yaml (on the embedded local platform, so nothing needs an account),
    specs/qa.yaml (a dataset, one evaluation per model, a group comparing them),
    data/questions.jsonl, prompts/system.txt, evalspec.schema.json for your editor,
    .gitignore and .github/workflows/evalspec.yml. Never overwrites a file.

    \b
    Examples:
      evalspec init my-evals && cd my-evals && evalspec plan
      evalspec init --project support-evals
      evalspec init my-evals --format json
    """
    from evalspec.scaffold import project_name, write_project
    from evalspec.spec.schema import schema_text

    project = name or project_name(directory)
    written = write_project(directory, project, schema_text())
    if fmt == "json":
        from evalspec.sanitize import json_text

        click.echo(json_text({"format_version": 1, "project": project,
                              "directory": str(directory),
                              "files": [str(p) for p in written]}))
        return EXIT_OK
    shown = directory if str(directory) != "." else Path(".")
    click.echo(f"Created the evalspec project '{project}' in {shown}/:")
    for path in written:
        inside = directory.resolve() in path.resolve().parents
        click.echo(f"  {path.relative_to(directory) if inside else path}")
    steps = ([f"cd {directory}"] if str(directory) != "." else []) + [
        "evalspec validate", "evalspec plan        # on the embedded local platform",
        "evalspec apply"]
    click.echo("Next:\n" + "\n".join(f"  {step}" for step in steps))
    return EXIT_OK


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> int:
    """Print the shell completion script for evalspec (commands, options, choices).

    \b
    Examples:
      eval "$(evalspec completion bash)"        # in ~/.bashrc
      eval "$(evalspec completion zsh)"         # in ~/.zshrc
      evalspec completion fish > ~/.config/fish/completions/evalspec.fish
    """
    from click.shell_completion import get_completion_class

    from evalspec.cli import cli

    complete = get_completion_class(shell)
    assert complete is not None  # click ships these three
    script = complete(cli, {}, "evalspec", "_EVALSPEC_COMPLETE").source()
    click.echo(script)
    return EXIT_OK


COMMANDS = [init, validate, render, schema, completion]
