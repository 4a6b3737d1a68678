"""Fitting a team's workflow: init, show, the GitHub Actions files and pre-commit hook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from evalspec.plan.render_markdown import MARKER
from tests.conftest import ROOT, edit

BIN = Path(sys.executable).parent


def test_init_writes_a_project_that_validates_and_plans(tmp_path, run) -> None:
    target = tmp_path / "My Evals"
    result = run("init", str(target))
    assert result.code == 0, result.err
    assert result.out == (
        f"Created the evalspec project 'my-evals' in {target}/:\n"
        "  evalspec.yaml\n  specs/qa.yaml\n  data/questions.jsonl\n  prompts/system.txt\n"
        "  .gitignore\n  .github/workflows/evalspec.yml\n  evalspec.schema.json\n"
        f"Next:\n  cd {target}\n  evalspec validate\n"
        "  evalspec plan        # on the embedded local platform\n  evalspec apply\n")
    assert run("validate", cwd=target).out == (
        "Valid: 1 dataset, 2 evaluations from 1 spec, 1 group.\n")
    planned = run("plan", "--endpoint", "local", cwd=target)
    assert planned.code == 0, planned.err
    assert planned.out.splitlines()[-1] == (
        "Plan: 4 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive. "
        "Starts 80 task executions.")
    assert ".evalspec/" in (target / ".gitignore").read_text().splitlines()
    assert (target / ".github/workflows/evalspec.yml").read_text() == (
        ROOT / "examples/ci/github-actions.yml").read_text()
    again = run("init", str(target))
    assert (again.code, again.err) == (1, (
        f"Error: {target}/evalspec.yaml, {target}/specs/qa.yaml, "
        f"{target}/data/questions.jsonl and others already exist; init never overwrites a "
        "file: choose another directory\n"))
    bad = run("init", str(tmp_path / "x"), "--project", "Bad Name")
    assert bad.err == ("Error: --project 'Bad Name': use 1-40 lower-case letters, digits and "
                       "dashes, starting with a letter or digit\n")


def test_show_renders_a_saved_plan_like_plan_does(workdir, platform, run, tmp_path) -> None:
    root = workdir("sweep")
    saved = tmp_path / "plan.json"
    env = {"SGP_API_KEY": "k"}
    made = run("plan", str(root), "--endpoint", platform.url, "-o", str(saved), env=env)
    shown = run("show", str(saved))
    assert shown.out == (f"Plan for project 'support-sweep' on {platform.url}\n\n"
                         + made.out.split("\nSaved the plan to")[0])
    for fmt in ("json", "markdown"):
        assert run("show", str(saved), "--format", fmt).out == run(
            "plan", str(root), "--endpoint", platform.url, "--format", fmt, env=env).out


def _action_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    for s in action["runs"]["steps"]:
        assert "${{" not in s.get("run", ""), "inputs reach scripts through env only"
    return step["run"]


def _action(command: str, project: Path, tmp_path: Path, *args: str, raw_args: str | None = None,
            plan_file: str | None = None) -> tuple[int, dict, str]:
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    env = {**os.environ, "COMMAND": command, "PROJECT": str(project), "PLAN_FILE":
           plan_file or str(tmp_path / "plan.json"),
           "ARGS": " ".join(args) if raw_args is None else raw_args, "NO_COLOR": "1",
           "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output),
           "GITHUB_WORKSPACE": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(summary), "PATH": f"{BIN}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", _action_script()], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, outputs, done.stdout + done.stderr


def test_the_composite_action_plans_applies_and_checks_drift(tmp_path, run) -> None:
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    code, outputs, _ = _action("plan", project, tmp_path, "--endpoint", "local")
    assert (code, outputs["exitcode"]) == (0, "2")  # changes to make: not a failure
    markdown = Path(outputs["markdown"]).read_text()
    assert markdown.startswith(MARKER + "\n### evalspec plan for `proj` on `")
    assert (tmp_path / "summary").read_text() == markdown
    code, outputs, _ = _action("apply", project, tmp_path)
    assert (code, outputs["exitcode"]) == (0, "0")
    code, outputs, _ = _action("drift", project, tmp_path, "--endpoint", "local")
    assert (code, outputs["exitcode"]) == (0, "0")
    edit(project / "prompts" / "system.txt", "short sentence", "short, kind sentence")
    code, outputs, log = _action("drift", project, tmp_path, "--endpoint", "local")
    assert (code, outputs["exitcode"]) == (1, "2")
    assert ("::error::the platform differs from the specs (drift): see the plan above"
            in log)
    code, outputs, log = _action("check", project, tmp_path, "--endpoint", "local")
    assert (code, outputs["exitcode"]) == (0, "0")  # init's gates hold
    assert Path(outputs["markdown"]).read_text().startswith("<!-- evalspec-check -->\n")
    code, outputs, log = _action("validate", project, tmp_path)
    assert (code, outputs["exitcode"]) == (0, "0")
    code, _, log = _action("destroy", project, tmp_path)
    assert code == 1 and "::error::unknown command 'destroy'" in log


def test_the_action_never_renders_a_plan_it_did_not_make(tmp_path, run) -> None:
    """A plan.json committed in the pull request is no plan of this run: when plan fails, no
    Markdown is rendered from it (and it is gone)."""
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    made = tmp_path / "plan.json"
    assert run("plan", str(project), "--endpoint", "local", "-o", str(made)).code == 0
    (project / "specs" / "broken.yaml").write_text("kind: Evaluation\nname: [\n")
    code, outputs, log = _action("plan", project, tmp_path, "--endpoint", "local")
    assert (code, outputs) == (1, {"exitcode": "1"})
    assert not made.exists() and not (tmp_path / "summary").exists()
    assert "::error file=proj/specs/broken.yaml,line=3,col=1," in log


def test_the_action_splits_args_like_a_shell_and_never_runs_them(tmp_path, run) -> None:
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    edit(project / "specs" / "qa.yaml", "description: ${{ matrix.model }} answers",
         "description: ${{ vars.note }} ${{ matrix.model }} answers")
    edit(project / "evalspec.yaml", "vars:\n", "vars:\n  note: none\n")
    code, outputs, log = _action("plan", project, tmp_path,
                                 raw_args="--endpoint local --var 'note=two words $(touch x)'")
    assert code == 0, log
    assert "two words $(touch x)" in (tmp_path / "summary").read_text()
    assert not (project / "x").exists() and not (tmp_path / "x").exists()
    code, outputs, log = _action("plan", project, tmp_path, raw_args="--var 'unclosed")
    assert code == 1 and "::error::args: cannot split the arguments" in log


def test_the_action_writes_no_plan_through_a_link_or_outside_the_workspace(tmp_path,
                                                                           run) -> None:
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (project / "plan.json").symlink_to(victim)
    code, _, log = _action("plan", project, tmp_path, "--endpoint", "local",
                           plan_file="plan.json")
    assert code == 1 and "::error::plan-file plan.json is a symbolic link" in log
    code, _, log = _action("plan", project, tmp_path / "proj", "--endpoint", "local",
                           plan_file=str(tmp_path / "elsewhere.json"))
    assert code == 1 and f"::error::plan-file {tmp_path}/elsewhere.json is outside" in log
    # evalspec itself refuses the link too, before reading the platform.
    direct = run("plan", str(project), "--endpoint", "local", "-o",
                 str(project / "plan.json"))
    assert (direct.code, direct.err) == (1, (
        f"Error: -o {project / 'plan.json'}: is a symbolic link; refusing to write the plan "
        "through it (remove it, or name another file)\n"))
    assert victim.read_text() == "keep me"


def test_the_workflow_plans_on_pull_requests_applies_on_merge_and_checks_drift() -> None:
    workflow = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    commands = {name: [s["with"]["command"] for s in job["steps"]
                       if str(s.get("uses", "")).startswith("your-org/evalspec")]
                for name, job in jobs.items()}
    assert commands == {"plan": ["plan"], "apply": ["apply"], "check": ["check"],
                        "drift": ["drift"]}
    assert jobs["check"]["needs"] == "apply"
    assert jobs["check"]["if"] == ("github.event_name == 'push' && vars.EVALSPEC_CHECK == "
                                   "'true'")
    comment = next(s for s in jobs["plan"]["steps"] if "github-script" in s.get("uses", ""))
    assert f'const marker = "{MARKER}";' in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]
    report = next(s for s in jobs["check"]["steps"] if "github-script" in s.get("uses", ""))
    assert 'const marker = "<!-- evalspec-check -->";' in report["with"]["script"]
    assert "updateComment" in report["with"]["script"]  # one comment, updated in place
    [find] = [s for s in jobs["apply"]["steps"] if s.get("id") == "reviewed"]
    assert "--jq '.[0].head.sha // empty'" in find["run"]  # the merged head commit's plan
    assert '--commit "$head"' in find["run"] and "--branch" not in find["run"]
    downloads = [s for s in jobs["apply"]["steps"] if "download-artifact" in s.get("uses", "")]
    assert downloads[0]["with"]["name"] == "evalspec-plan"
    assert jobs["drift"]["if"] == ("github.event_name == 'schedule' || github.event_name == "
                                   "'workflow_dispatch'")


def test_pre_commit_hook_runs_validate() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["pass_filenames"]) == (
        "evalspec-validate", "evalspec validate", False)


def test_in_ci_the_embedded_platform_is_used_only_when_asked_for(tmp_path, run,
                                                                 platform) -> None:
    """`init` writes `endpoint: local`; in CI that would plan and apply against a throwaway
    platform on the runner and go green: refused, naming EVALSPEC_ENDPOINT."""
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    refused = run("plan", cwd=project, env={"CI": "true"})
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == (
        "Error: evalspec.yaml says 'endpoint: local', and this is CI (CI is set): that would "
        "plan and apply against a throwaway platform on this machine and pass while changing "
        "nothing real. Set EVALSPEC_ENDPOINT to the platform's URL (a repository variable), or "
        "pass --endpoint local if the embedded platform is what you mean\n")
    assert run("apply", "--auto-approve", cwd=project, env={"CI": "true"}).code == 1
    assert not (project / ".evalspec" / "local.db").exists()
    asked = run("plan", "--endpoint", "local", cwd=project, env={"CI": "true"})
    assert asked.code == 0, asked.err
    real = run("plan", cwd=project, env={"CI": "true", "EVALSPEC_ENDPOINT": platform.url,
                                         "SGP_API_KEY": "k", "SGP_ACCOUNT_ID": "default"})
    assert real.code == 0, real.err
    assert run("plan", cwd=project, env={"CI": "false"}).code == 0


def test_the_action_marks_spec_problems_on_the_diff(tmp_path, run) -> None:
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    edit(project / "specs" / "qa.yaml", "alias: answer", "alias: answer\n    aliass: x")
    code, outputs, log = _action("validate", project, tmp_path)
    assert (code, outputs["exitcode"]) == (1, "1")
    assert "::error file=proj/specs/qa.yaml,line=" in log, log
    code, outputs, log = _action("plan", project, tmp_path, "--endpoint", "local")
    assert code == 1 and "::error file=proj/specs/qa.yaml,line=" in log, log


def test_validate_says_when_the_projects_schema_file_is_stale(tmp_path, run) -> None:
    project = tmp_path / "proj"
    assert run("init", str(project)).code == 0
    assert run("validate", cwd=project).err == ""  # init wrote the current schema
    schema = project / "evalspec.schema.json"
    schema.write_text(schema.read_text().replace('"title": "evalspec"', '"title": "old"'))
    result = run("validate", cwd=project)
    assert result.code == 0
    assert result.err == (
        "evalspec.schema.json: warning: this file is not the schema of this evalspec (editors "
        "check the specs against it): run 'evalspec schema > evalspec.schema.json'\n")


def test_init_in_a_repository_subdirectory_writes_the_workflow_at_the_root(tmp_path,
                                                                          run) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    result = run("init", str(repo / "evals" / "support"))
    assert result.code == 0, result.err
    workflow_path = repo / ".github" / "workflows" / "evalspec-support.yml"
    assert f"  {workflow_path}\n" in result.out
    assert not (repo / "evals" / "support" / ".github").exists()
    workflow = yaml.safe_load(workflow_path.read_text())
    assert workflow[True]["pull_request"] == {"paths": ["evals/support/**"]}
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]
             if str(s.get("uses", "")).startswith("your-org/evalspec")]
    assert len(steps) == 4 and all(s["with"]["path"] == "evals/support" for s in steps)
    at_root = run("init", str(repo))
    assert at_root.code == 0 and (repo / ".github" / "workflows" / "evalspec.yml").exists()


def test_init_import_and_tasks_pull_speak_json(tmp_path, run, platform, sdk) -> None:
    import json

    made = run("init", str(tmp_path / "p"), "--format", "json")
    doc = json.loads(made.out)
    assert (doc["project"], len(doc["files"])) == ("p", 7)
    assert all(Path(f).is_file() for f in doc["files"])
    dataset = sdk.datasets.create(name="rows", data=[{"q": "a"}])
    env = {"SGP_API_KEY": "k", "SGP_ACCOUNT_ID": "default"}
    imported = run("import", str(tmp_path / "p"), "--dataset", dataset.id, "--endpoint",
                   platform.url, "--auto-approve", "--format", "json", env=env)
    assert imported.code == 0, imported.err
    result = json.loads(imported.out)
    assert result["stamped"] == [{"address": "Dataset/rows", "id": dataset.id}]
    assert any(f.endswith("dataset-rows.yaml") for f in result["written"])
    asked = run("import", str(tmp_path / "p"), "--dataset", dataset.id, "--endpoint",
                platform.url, "--format", "json", env=env)
    assert asked.err == "Error: --format json needs --auto-approve: there is no one to ask\n"
    tasks = tmp_path / "tasks.jsonl"
    (tmp_path / "p" / ".evalspec").mkdir(exist_ok=True)
    (tmp_path / "p" / ".evalspec" / "tasks.jsonl").write_text(
        '{"task_id": "t1", "project": {"id": "p1", "name": "P"}, "status": "completed", '
        '"created_at": "2025-01-01T00:00:00Z", "threads": []}\n')
    pulled = run("tasks", "pull", "--project", "P", "-o", str(tasks), "--endpoint", "local",
                 "--format", "json", cwd=tmp_path / "p", env={"SCALE_API_KEY": "k2"})
    assert pulled.code == 0, pulled.err
    summary = json.loads(pulled.out)
    assert (summary["tasks"], summary["pages"], summary["out"]) == (1, 1, str(tasks))
