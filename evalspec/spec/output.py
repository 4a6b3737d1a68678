"""Renderers for validate and render results, chosen by ``--format``; no command prints
anything itself."""

from __future__ import annotations

from typing import Any

import yaml

from evalspec.errors import Problem
from evalspec.sanitize import json_text, one_line
from evalspec.spec.objects import DesiredState
from evalspec.spec.payloads import Payload

try:
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Dumper = yaml.SafeDumper

MAX_TEXT_PROBLEMS = 200


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary(state: DesiredState) -> str:
    datasets = len(state.of_kind("Dataset"))
    evaluations = len(state.of_kind("Evaluation"))
    groups = len(state.of_kind("EvaluationGroup"))
    specs = state.spec_documents["Evaluation"]
    review = "".join(f", {_plural(n, word)}" for n, word in (
        (len(state.of_kind("Question")), "question"), (len(state.of_kind("Rubric")), "rubric"))
        if n)  # said when a project has them
    return (
        f"Valid: {_plural(datasets, 'dataset')}, {_plural(evaluations, 'evaluation')} "
        f"from {_plural(specs, 'spec')}, {_plural(groups, 'group')}{review}."
    )


def problems_text(errors: list[Problem], warnings: list[Problem]) -> str:
    lines = [one_line(str(p)) for p in warnings]  # messages quote values from specs and data
    shown = errors[:MAX_TEXT_PROBLEMS]
    lines.extend(one_line(str(p)) for p in shown)
    if len(errors) > len(shown):
        lines.append(f"... and {len(errors) - len(shown):,} more errors "
                     "(--format json lists them all)")
    if errors:
        files = len({p.location.file for p in errors})
        lines.append(f"Found {_plural(len(errors), 'error')} in {_plural(files, 'file')}.")
    return "\n".join(lines)


def _workflow_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _workflow_property(text: str) -> str:
    return _workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def _in_repository(file: str) -> str:
    """A problem's file as the repository names it: relative to GITHUB_WORKSPACE when it is
    inside it (a project in a subdirectory), else as given."""
    import os
    from pathlib import Path

    workspace = os.environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return file
    try:
        return Path(file).resolve().relative_to(Path(workspace).resolve()).as_posix()
    except (OSError, ValueError):
        return file


def problems_github(errors: list[Problem], warnings: list[Problem]) -> str:
    """Each problem as a GitHub workflow command (``::error file=...,line=...,col=...::``), so
    that a pull request shows it on the line of the diff; then the count as text."""
    from evalspec.errors import format_path

    lines = []
    for problem in [*warnings, *errors]:
        level = "warning" if problem.severity == "warning" else "error"
        where = f"file={_workflow_property(_in_repository(problem.location.file))}"
        if problem.location.line:
            where += f",line={problem.location.line},col={problem.location.column}"
        text = (f"{format_path(problem.path)}: {problem.message}" if problem.path
                else problem.message)
        lines.append(f"::{level} {where},title=evalspec::{_workflow_data(one_line(text))}")
    if errors:
        files = len({p.location.file for p in errors})
        lines.append(f"Found {_plural(len(errors), 'error')} in {_plural(files, 'file')}.")
    return "\n".join(lines)


def validate_json(state: DesiredState | None, errors: list[Problem],
                  warnings: list[Problem]) -> str:
    doc: dict[str, Any] = {
        "format_version": 1,
        "valid": not errors,
        "errors": [p.to_json() for p in errors],
        "warnings": [p.to_json() for p in warnings],
    }
    if state is not None:
        doc["summary"] = {
            "project": state.project,
            "datasets": len(state.of_kind("Dataset")),
            "evaluations": len(state.of_kind("Evaluation")),
            "evaluation_specs": state.spec_documents["Evaluation"],
            "groups": len(state.of_kind("EvaluationGroup")),
            "questions": len(state.of_kind("Question")),
            "rubrics": len(state.of_kind("Rubric")),
        }
    return json_text(doc, indent=2)


def render_yaml(payloads: list[Payload]) -> str:
    return yaml.dump_all(
        (p.to_json() for p in payloads), Dumper=_Dumper, sort_keys=False,
        allow_unicode=True, default_flow_style=False, width=100, explicit_start=True,
    )


def render_json(state: DesiredState, payloads: list[Payload]) -> str:
    """One compact JSON document (like ``terraform show -json``): it is for programs, and
    compact output keeps json's C encoder, 5-10x faster than indented output."""
    return json_text({"format_version": 1, "project": state.project,
                      "objects": [p.to_json() for p in payloads]}, compact=True)
