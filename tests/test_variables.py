"""Variable precedence: evalspec.yaml < EVALSPEC_VAR_* < --var-file (in order) < --var."""

from __future__ import annotations

import itertools
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


ATTACKS = ["DATABASE_URL", "NPM_AUTH", "AWS_ACCESS_KEY_ID", "GH_PAT", "OPENAI_KEY", "SGP_APIKEY",
           "sgp_api_key"]


def test_a_spec_reads_no_environment_variable_evalspec_yaml_does_not_declare(project,
                                                                            run) -> None:
    # What a pull request could write to publish a CI secret in its plan comment.
    secrets = {name: f"s3cret-value-of-{name}" for name in ATTACKS}
    for command, name in itertools.product(("validate", "render", "plan"), ATTACKS):
        spec = SPEC.replace("data:", f"description: 'x ${{{{ env.{name} }}}}'\ndata:")
        root = project({"specs/a.yaml": spec}, CONFIG)
        args = ["--endpoint", "local"] if command == "plan" else []
        result = run(command, *args, env=secrets, cwd=root)
        assert result.code == 1
        assert not any(value in result.out + result.err for value in secrets.values())
        assert result.err.startswith("specs/a.yaml:3:14: $.description: ")
        assert (f"environment variable {name} is not declared" in result.err
                or f"'env.{name}' looks like a credential" in result.err)


def test_a_declared_variable_is_read_and_credentials_stay_refused(project, run) -> None:
    spec = SPEC.replace("data:", "description: 'run ${{ env.EVAL_RUN_ID }}'\ndata:")
    root = project({"specs/a.yaml": spec}, CONFIG + "env: [EVAL_RUN_ID]\n")
    result = run("render", str(root), "--format", "json", env={"EVAL_RUN_ID": "1234"})
    assert result.code == 0, result.err
    assert json.loads(result.out)["objects"][0]["body"]["description"] == "run 1234"
    root = project({"specs/a.yaml": spec}, CONFIG + "env: [EVAL_RUN_ID, OPENAI_KEY]\n")
    result = run("validate", env={"EVAL_RUN_ID": "1", "OPENAI_KEY": "sk-123"}, cwd=root)
    assert (result.code, result.err) == (1, (
        "evalspec.yaml:3:20: $.env[1]: 'OPENAI_KEY' names a credential; specs can never read "
        "credentials (evalspec reads SGP_API_KEY, SGP_ACCOUNT_ID and SCALE_API_KEY itself)\n"
        "Found 1 error in 1 file.\n"))
