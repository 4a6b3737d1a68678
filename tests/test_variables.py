"""Variable precedence: evalspec.yaml < EVALSPEC_VAR_* < --var-file (in order) < --var."""

from __future__ import annotations

import json

SPEC = """\
kind: Evaluation
name: ev-${{ vars.suffix }}
data: [{q: a}]
tasks:
  - task_type: chat_completion
    configuration:
      model: ${{ vars.model }}
      temperature: ${{ vars.temperature }}
      messages: [{role: user, content: item.q}]
"""
CONFIG = """\
project: demo
vars: {suffix: base, model: openai/gpt-4o, temperature: 0.1}
"""


def rendered(run, root, *args, env=None):
    result = run("render", str(root), "--format", "json", *args, env=env)
    assert result.code == 0, result.err
    [obj] = json.loads(result.out)["objects"]
    return obj["address"], obj["body"]["tasks"][0]["configuration"]


def test_precedence(project, run) -> None:
    root = project({"specs/a.yaml": SPEC, "one.yaml": "suffix: file1\ntemperature: 0.3\n",
                    "two.yaml": "suffix: file2\n"}, CONFIG)
    address, config = rendered(run, root)
    assert (address, config["temperature"]) == ("Evaluation/ev-base", 0.1)

    env = {"EVALSPEC_VAR_suffix": "env", "EVALSPEC_VAR_temperature": "0.2"}
    address, config = rendered(run, root, env=env)
    assert (address, config["temperature"]) == ("Evaluation/ev-env", 0.2)

    address, config = rendered(run, root, "--var-file", str(root / "one.yaml"),
                               "--var-file", str(root / "two.yaml"), env=env)
    assert (address, config["temperature"]) == ("Evaluation/ev-file2", 0.3)

    address, config = rendered(run, root, "--var-file", str(root / "one.yaml"),
                               "--var", "suffix=cli", "--var", "temperature=0.5", env=env)
    assert (address, config["temperature"]) == ("Evaluation/ev-cli", 0.5)


def test_values_keep_the_declared_string_type(project, run) -> None:
    root = project({"specs/a.yaml": SPEC}, CONFIG)
    address, _ = rendered(run, root, "--var", "suffix=1.10")
    assert address == "Evaluation/ev-1.10"


def test_list_values_from_the_command_line(project, run) -> None:
    spec = SPEC.replace("name: ev-${{ vars.suffix }}", "name: ev-${{ matrix.m | slug }}\n"
                        "matrix: {m: '${{ vars.models }}'}").replace(
        "model: ${{ vars.model }}", "model: ${{ matrix.m }}")
    root = project({"specs/a.yaml": spec}, CONFIG + "  \n")
    result = run("render", str(root), "--format", "json", "--var", "models=[a/b, c/d]")
    assert [o["address"] for o in json.loads(result.out)["objects"]] == [
        "Evaluation/ev-a-b", "Evaluation/ev-c-d"
    ]


def test_bad_var_option(project, run) -> None:
    root = project({"specs/a.yaml": SPEC}, CONFIG)
    result = run("validate", str(root), "--var", "novalue")
    assert (result.code, result.err) == (1, "Error: --var 'novalue': expected NAME=VALUE\n")


def test_var_file_problems_are_located(project, run) -> None:
    root = project({"specs/a.yaml": SPEC, "vars.yaml": "- a list\n"}, CONFIG)
    result = run("validate", str(root), "--var-file", str(root / "vars.yaml"))
    assert result.code == 1
    assert result.err.splitlines()[0].endswith(
        "vars.yaml:1:1: a var file must hold one mapping of variable names to values"
    )
