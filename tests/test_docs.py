"""docs/troubleshooting.md quotes the messages users see: each one is produced here."""

from __future__ import annotations

import json

from tests.conftest import ROOT, copy_example, edit
from tests.test_plan_apply import ENV, apply, apply_saved, owned, plan

DOC = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")


def quoted(text: str) -> None:
    assert text.strip(), "the command printed no message to check"
    for line in text.strip().splitlines():
        assert f"\n{line}\n" in DOC, f"not in docs/troubleshooting.md: {line}"


def test_setting_up_messages(workdir, tmp_path, run, monkeypatch) -> None:
    root = tmp_path / "again"
    copy_example("quickstart", root)
    edit(root / "evalspec.yaml", "endpoint: local\n", "")
    for name in ("SGP_API_KEY", "EVALSPEC_ENDPOINT", "SGP_CLIENT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    quoted(run("plan", str(root)).err)
    quoted(run("plan", str(root), "--endpoint", "https://api.egp.scale.com").err)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    quoted(run("plan", str(outside)).err.replace(str(outside), "<dir>"))
    quoted(run("plan", str(root), "--endpoint", "http://127.0.0.1:9", env=ENV).err
           .replace("/v5/evaluations:", "/v5/datasets:")
           .replace("/v5/evaluation-groups:", "/v5/datasets:")
           .replace("/v5/questions:", "/v5/datasets:").replace("/v5/rubrics:", "/v5/datasets:"))
    local = tmp_path / "in-ci"
    copy_example("quickstart", local)
    quoted(run("plan", str(local), env={"CI": "true"}).err)


def test_spec_messages(workdir, run, tmp_path) -> None:
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "model: openai/gpt-4o-mini", "model: openai/gpt4o-mini")
    quoted(run("validate", cwd=root).err)
    edit(spec, "model: openai/gpt4o-mini", "model: gpt-4o-mini")
    edit(spec, "temperature: 0.0", "tempurature: 0.0")
    quoted(run("validate", cwd=root).err.split("Found")[0])
    sweep = workdir("sweep")
    quoted(run("validate", "--var", "modles=[openai/gpt-4o]", cwd=sweep).err)
    quoted(run("validate", "--var", "models=openai/gpt-4o", cwd=sweep).err.split("Found")[0])
    root = workdir("support-csv")
    (root / "specs" / "many.yaml").write_text(
        "kind: Evaluation\nname: e-${{ matrix.n }}\nmatrix: {n: NUMBERS}\ndata: [{q: 1}]\n"
        "tasks:\n  - task_type: chat_completion\n    alias: a\n    configuration: "
        "{model: openai/gpt-4o, messages: [{role: user, content: hi}]}\n"
        .replace("NUMBERS", str(list(range(1001)))))
    result = run("validate", cwd=root)
    quoted([line for line in result.err.splitlines() if "many.yaml" in line][0])
    root = tmp_path / "again"
    copy_example("quickstart", root)
    edit(root / "evalspec.yaml", "endpoint: local\n",
         "endpoint: local\npolicy:\n  required_tags: ['owner:*']\n")
    quoted(run("validate", cwd=root).err.split("Found")[0])


def test_plan_and_apply_messages(workdir, platform, sdk, run, tmp_path) -> None:
    root = workdir("quickstart")
    quoted(run("apply", str(root), "--endpoint", platform.url, env=ENV).err)
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "name: capitals\n", "name: capitals\nlifecycle: {protect: true}\n")
    assert apply(run, root, platform.url).code == 0
    edit(spec, "temperature: 0.0", "temperature: 0.5")
    quoted(plan(run, root, platform.url).err)
    edit(spec, "temperature: 0.5", "temperature: 0.0")
    edit(spec, "tags: [team:evals, quickstart]", "tags: [team:evals]")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    [evaluation] = owned(platform, "quickstart")
    edit(spec, "tags: [team:evals]", "tags: [team:evals, reviewed]")
    quoted(run("apply", "plan.json", "--project-dir", str(root), "--endpoint", platform.url,
               cwd=tmp_path, env=ENV).err.replace(str(root), "/work/evals"))
    edit(spec, "tags: [team:evals, reviewed]", "tags: [team:evals]")
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "changed meanwhile"})
    quoted(apply_saved(run, saved, root, platform.url).err)


def test_tasks_messages(tmp_path, run, monkeypatch) -> None:
    monkeypatch.delenv("SCALE_API_KEY", raising=False)
    quoted(run("tasks", "pull", "--project", "p", "-o", "tasks.jsonl", cwd=tmp_path).err)
    (tmp_path / "tasks.jsonl").write_text("")
    (tmp_path / "tasks.jsonl.pull-state.json").write_text(json.dumps({"query": {}}))
    quoted(run("tasks", "pull", "--project", "p", "-o", "tasks.jsonl", "--endpoint", "local",
               cwd=tmp_path, env={"SCALE_API_KEY": "k"}).err)
