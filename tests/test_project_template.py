"""Environments on one account: ``project: quickstart-${{ vars.stage }}`` makes one config
serve several projects, each with its own ownership tag, lock and saved plans."""

from __future__ import annotations

import json

import httpx
from jsonschema import Draft202012Validator

from tests.conftest import ROOT
from tests.test_plan_apply import ENV, apply_saved, owned

TEMPLATED = ("# yaml-language-server: $schema=../../schemas/evalspec.schema.json\n"
             "project: quickstart-${{ vars.stage }}\nendpoint: local\nvars:\n  stage: dev\n")


def _project(workdir):
    root = workdir("quickstart")
    (root / "evalspec.yaml").write_text(TEMPLATED)
    return root


def test_each_stage_is_its_own_project(workdir, platform, run, tmp_path) -> None:
    root = _project(workdir)

    def cli(*args, env=ENV):
        return run(*args, str(root), "--endpoint", platform.url, env=env)

    assert cli("apply", "--auto-approve").code == 0
    assert cli("apply", "--auto-approve", "--var", "stage=prod").code == 0
    assert [e["name"] for e in owned(platform, "quickstart-dev")] == ["capitals"]
    assert [e["name"] for e in owned(platform, "quickstart-prod")] == ["capitals"]
    assert owned(platform, "quickstart-dev")[0]["id"] != owned(platform, "quickstart-prod")[0]["id"]
    # Each stage sees only its own objects: nothing to change in either.
    for stage in ("dev", "prod"):
        again = cli("plan", "--detailed-exitcode", "--var", f"stage={stage}")
        assert (again.code, again.out) == (0, "No changes. The platform matches the specs.\n")
    # The commands that read only evalspec.yaml take the same variables.
    listed = json.loads(cli("state", "list", "--format", "json", "--var", "stage=prod").out)
    assert listed["project"] == "quickstart-prod"
    status = json.loads(cli("status", "--format", "json", "--var", "stage=prod").out)
    assert [e["name"] for e in status["evaluations"]] == ["capitals"]
    # A saved plan belongs to the stage it was made for.
    (root / "specs" / "capitals.yaml").write_text(
        (root / "specs" / "capitals.yaml").read_text().replace("Paris", "Paris, France"))
    saved = tmp_path / "prod.json"
    assert cli("plan", "-o", str(saved), "--var", "stage=prod").code == 0
    refused = apply_saved(run, saved, root, platform.url)
    assert (refused.code, refused.err) == (1, (
        "Error: the plan was made for project 'quickstart-prod', this is project "
        f"'quickstart-dev' (in {root})\n"))
    assert apply_saved(run, saved, root, platform.url, "--var", "stage=prod").code == 0
    # From the environment, as CI sets it.
    destroyed = cli("destroy", "--auto-approve", env={**ENV, "EVALSPEC_VAR_stage": "prod"})
    assert destroyed.code == 0, destroyed.err
    assert owned(platform, "quickstart-prod") == []
    assert [e["name"] for e in owned(platform, "quickstart-dev")] == ["capitals"]


def test_a_project_template_that_cannot_make_a_name_is_located(workdir, run) -> None:
    root = _project(workdir)
    config = root / "evalspec.yaml"
    shown = "evalspec.yaml:2:10: $.project:"
    bad = run("validate", "--var", "stage=Prod", cwd=root, env=ENV)
    assert (bad.code, bad.err) == (1, (
        f"{shown} 'quickstart-${{{{ vars.stage }}}}' renders to 'quickstart-Prod', which must "
        "be 1-40 lowercase letters, digits or '-', starting with a letter or digit\n"
        "Found 1 error in 1 file.\n"))
    config.write_text(TEMPLATED.replace("vars.stage", "vars.stag"))
    assert run("validate", cwd=root, env=ENV).err == (
        f"{shown} unknown variable 'vars.stag' (did you mean 'stage'?)\n"
        "Found 1 error in 1 file.\n")
    config.write_text(TEMPLATED.replace("vars.stage", "env.STAGE"))
    assert run("validate", cwd=root, env=ENV).err == (
        f"{shown} the project may use only ${{{{ vars.NAME }}}}: it is read before anything "
        "else, so env and matrix are not available\nFound 1 error in 1 file.\n")
    # The commands that read only evalspec.yaml report it the same way.
    config.write_text(TEMPLATED.replace("stage: dev", "stage: Dev"))
    assert run("state", "list", cwd=root, env=ENV).err.startswith(
        f"{shown} 'quickstart-${{{{ vars.stage }}}}' renders to 'quickstart-Dev'")


def test_the_published_schema_accepts_a_templated_project() -> None:
    schema = json.loads((ROOT / "schemas" / "evalspec.schema.json").read_text())
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"project": "support-${{ vars.stage }}"})
    assert not validator.is_valid({"project": "Support"})
    assert not validator.is_valid({"project": "support", "endpoint": "${{ vars.url }}"})


def test_the_platform_is_read_for_the_rendered_project_only(workdir, platform, run) -> None:
    """The early read a remote plan starts while the specs load uses the rendered name."""
    root = _project(workdir)
    assert run("apply", str(root), "--endpoint", platform.url, "--auto-approve", "--var",
               "stage=prod", env=ENV).code == 0
    response = httpx.get(f"{platform.url}/v5/evaluations", headers={"x-api-key": "k"},
                         params={"tags": "evalspec:quickstart-${{ vars.stage }}"})
    assert response.json()["items"] == []
    plan = run("plan", str(root), "--endpoint", platform.url, "--var", "stage=prod", env=ENV)
    assert plan.out == "No changes. The platform matches the specs.\n"


def test_a_misspelt_variable_cannot_silently_choose_the_default_stage(workdir, run) -> None:
    root = _project(workdir)
    for command in (("state", "list"), ("status",), ("plan",)):
        result = run(*command, "--var", "stag=prod", cwd=root, env=ENV)
        assert (result.code, result.err) == (1, (
            "Error: --var stag: no variable 'stag' is declared in evalspec.yaml's vars or read "
            "by a spec (did you mean 'stage'?)\n")), command
