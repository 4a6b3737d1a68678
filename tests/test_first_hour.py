"""Mistakes a new user makes that used to pass silently: each is now said, at its place."""

from __future__ import annotations

SWEEP = """\
kind: Evaluation
name: faq-${{ matrix.model | slug }}
matrix:
  model: ${{ vars.models }}
data: [{q: a}]
tasks:
  - task_type: chat_completion
    configuration:
      model: ${{ matrix.model }}
      messages: [{role: user, content: item.q}]
"""


def _config(models: str, extra: str = "") -> str:
    return f"project: demo\nvars:\n  models: {models}\n{extra}"


def test_a_misspelled_model_is_warned_with_the_nearest_known_name(project, run) -> None:
    root = project({"specs/a.yaml": SWEEP},
                   _config("[openai/gpt4o, anthropic/claude-3-5-sonet, openai/gpt-4o]"))
    result = run("validate", cwd=root)
    where = "specs/a.yaml:9:14: $.tasks[0].configuration.model: warning:"
    assert (result.code, result.err) == (0, (
        f"{where} model 'anthropic/claude-3-5-sonet' is not one evalspec knows (did you mean "
        "'anthropic/claude-3-5-sonnet'?); if the name is right, list it in "
        "policy.allowed_models\n"
        f"{where} model 'openai/gpt4o' is not one evalspec knows (did you mean "
        "'openai/gpt-4o'?); if the name is right, list it in policy.allowed_models\n"))


def test_a_model_the_catalogue_lacks_is_a_warning_and_allowed_models_names_it(project,
                                                                              run) -> None:
    root = project({"specs/a.yaml": SWEEP}, _config("[acme/brand-new-model]"))
    result = run("validate", cwd=root)
    assert result.code == 0
    assert result.err == (
        "specs/a.yaml:9:14: $.tasks[0].configuration.model: warning: model "
        "'acme/brand-new-model' is not one evalspec knows; if the name is right, list it in "
        "policy.allowed_models\n")
    # An exact name in allowed_models is known; a glob there does not make every name known.
    named = project({"specs/a.yaml": SWEEP}, _config(
        "[acme/brand-new-model]", "policy:\n  allowed_models: [acme/brand-new-model]\n"))
    assert run("validate", cwd=named).err == ""
    globbed = project({"specs/a.yaml": SWEEP}, _config(
        "[openai/gpt4o]", "policy:\n  allowed_models: ['openai/*']\n"))
    assert "model 'openai/gpt4o' is not one evalspec knows" in run("validate",
                                                                    cwd=globbed).err


def test_every_model_the_examples_and_init_use_is_known() -> None:
    import re

    from evalspec.spec.checks import known_models
    from tests.conftest import ROOT

    used = set()
    for path in [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("evalspec/scaffold/**/*.yaml")]:
        used |= set(re.findall(r"\b(?:openai|anthropic)/[a-z0-9.-]+", path.read_text()))
    assert used and used <= known_models(), used - known_models()


def test_a_variable_nothing_declares_or_reads_is_refused(project, run, tmp_path) -> None:
    root = project({"specs/a.yaml": SWEEP}, _config("[openai/gpt-4o]"))
    refused = "no variable 'modles' is declared in evalspec.yaml's vars or read by a spec " \
              "(did you mean 'models'?)"
    result = run("validate", "--var", "modles=[openai/gpt-4o-mini]", cwd=root)
    assert (result.code, result.err) == (1, f"Error: --var modles: {refused}\n")
    result = run("plan", "--endpoint", "local", cwd=root, env={"EVALSPEC_VAR_modles": "x"})
    assert (result.code, result.err) == (1, f"Error: EVALSPEC_VAR_modles: {refused}\n")


def test_a_variable_a_spec_reads_may_be_given_without_a_default(project, run) -> None:
    spec = SWEEP.replace("data: [{q: a}]", "data: [{q: a}]\ndescription: ${{ vars.stage }}")
    root = project({"specs/a.yaml": spec}, _config("[openai/gpt-4o]"))
    assert run("validate", "--var", "stage=dev", cwd=root).code == 0
    # A var file may serve several projects: a name this one does not use is a warning there.
    (root / "shared.yaml").write_text("stage: dev\nregion: eu\n")
    result = run("validate", "--var-file", "shared.yaml", cwd=root)
    assert (result.code, result.err) == (0, (
        "shared.yaml:2:9: $.region: warning: no variable 'region' is declared in "
        "evalspec.yaml's vars or read by a spec\n"))


def test_a_variable_that_is_not_a_list_where_a_matrix_needs_one_names_its_source(
        project, run) -> None:
    root = project({"specs/a.yaml": SWEEP}, _config("[openai/gpt-4o]"))
    where = "specs/a.yaml:4:10: $.matrix.model: matrix axis 'model' must be a non-empty list: "
    text = run("validate", "--var", "models=openai/gpt-4o", cwd=root)
    assert (text.code, text.err) == (1, (
        f"{where}--var models gave the text 'openai/gpt-4o'; a list is written [a, b], for "
        "example --var 'models=[openai/gpt-4o]'\nFound 1 error in 1 file.\n"))
    broken = run("validate", "--var", "models=[openai/gpt-4o, openai/o3", cwd=root)
    assert broken.err == (
        f"{where}--var models gave the text '[openai/gpt-4o, openai/o3', which is not valid "
        "YAML: check its brackets and quotes\nFound 1 error in 1 file.\n")
    empty = run("validate", cwd=root, env={"EVALSPEC_VAR_models": "[]"})
    assert empty.err == f"{where}EVALSPEC_VAR_models gave []\nFound 1 error in 1 file.\n"


def test_a_value_listed_twice_in_a_sweep_is_named_at_the_list(project, run) -> None:
    inline = SWEEP.replace("model: ${{ vars.models }}",
                           "model:\n    - openai/gpt-4o\n    - openai/gpt-4o-mini\n"
                           "    - openai/gpt-4o")
    root = project({"specs/a.yaml": inline}, "project: demo\n")
    result = run("validate", cwd=root)
    assert (result.code, result.err) == (1, (
        "specs/a.yaml:7:7: $.matrix.model[2]: matrix axis 'model' lists 'openai/gpt-4o' twice "
        "(values 1 and 3): each value once\nFound 1 error in 1 file.\n"))
    root = project({"specs/a.yaml": SWEEP},
                   _config("[openai/gpt-4o, openai/gpt-4o-mini, openai/gpt-4o]"))
    assert "matrix axis 'model' lists 'openai/gpt-4o' twice (values 1 and 3)" in run(
        "validate", cwd=root).err


def test_a_renamed_project_is_pointed_at_import_take_over(workdir, platform, run) -> None:
    from tests.conftest import edit
    from tests.test_plan_apply import ENV, apply, owned, plan

    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    first = plan(run, root, platform.url, "--target", "Evaluation/faq-openai-gpt-4o-t0.0")
    assert "exists in evalspec project" not in first.err  # it owns them: nothing to say
    edit(root / "evalspec.yaml", "project: support-sweep", "project: support-faq")
    renamed = plan(run, root, platform.url)
    [old] = [e for e in owned(platform, "support-sweep") if e["name"] == "faq-openai-gpt-4o-t0.0"]
    assert renamed.err == (
        f"warning: Evaluation/faq-openai-gpt-4o-t0.0 exists in evalspec project 'support-sweep' "
        f"({old['id']}) and project 'support-faq' owns nothing yet: if 'project:' was renamed, "
        "apply creates everything again and leaves those objects live. To move them to this "
        f"project instead: evalspec import --take-over --evaluation {old['id']} (or --group "
        "NAME for a sweep)\n")
    # Some defined and some not: which specs to write is unclear, so nothing is done.
    other = workdir("quickstart")
    assert apply(run, other, platform.url).code == 0
    [capitals] = owned(platform, "quickstart")
    mixed = run("import", str(root), "--evaluation", old["id"], "--evaluation",
                capitals["id"], "--take-over", "--auto-approve", "--endpoint", platform.url,
                env=ENV)
    assert (mixed.code, mixed.err) == (1, (
        "Error: Dataset/support-faq is defined in the project's specs already; "
        "import either objects the specs do not define (their specs are written) or only ones "
        "they do (a renamed project takes its objects back)\n"))
    # The specs define the objects already: import writes nothing and takes them over.
    taken = run("import", str(root), "--group", "faq-sweep", "--take-over", "--auto-approve",
                "--endpoint", platform.url, env=ENV)
    assert taken.code == 0, taken.err
    assert "nothing to write" in taken.out
    assert not (root / "specs" / "imported").exists()
    again = plan(run, root, platform.url)
    assert (again.out, again.err) == ("No changes. The platform matches the specs.\n", "")
    assert owned(platform, "support-sweep") == []
    assert len(owned(platform, "support-faq")) == 6


def test_tasks_pull_of_a_misspelt_project_fails_and_an_empty_one_says_so(run, tmp_path) -> None:
    import json

    from evalspec.platform.api import Settings
    from evalspec.platform.sample_tasks import sample_tasks
    from evalspec.platform.server import start_background

    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in sample_tasks(20)))
    server = start_background(Settings(db=tmp_path / "p.db", tasks_file=path))
    env = {"SCALE_API_KEY": "live_test_key"}
    try:
        out = tmp_path / "out.jsonl"
        missing = run("tasks", "pull", "--project", "Support FAQ reveiw", "-o", str(out),
                      "--endpoint", server.url, env=env)
        assert (missing.code, missing.err) == (1, (
            "Error: GET /v2/tasks failed with 404: project 'Support FAQ reveiw' not found (did "
            "you mean "
            "'Support FAQ review'?)\n"))
        assert not out.exists()
        # A project that exists but has no task matching the filters: said, not an error.
        empty = run("tasks", "pull", "--project", "Support FAQ review", "--completed-after",
                    "2100-01-01", "-o", str(out), "--endpoint", server.url, env=env)
        assert empty.code == 0
        assert empty.err.startswith(
            "No tasks matched project_name 'Support FAQ review', completed_after "
            "2100-01-01T00:00:00Z: the file is empty.\n")
    finally:
        server.stop()


DATASET = """\
kind: Dataset
name: tickets
key: id
items: file://../data/rows.EXT
"""


def test_every_problem_in_a_data_file_is_reported_at_its_line(project, run) -> None:
    csv_text = ("id,question\n"
                "a,fine\n"
                "b,one,too many\n"
                "c,fine\n"
                "d\n"
                "e,fine\n"
                'f,"never closed\n'
                "g,swallowed\n")
    root = project({"specs/a.yaml": DATASET.replace("EXT", "csv"), "data/rows.csv": csv_text})
    result = run("validate", cwd=root)
    assert (result.code, result.err) == (1, (
        "data/rows.csv:3:1: $.items: row has 3 fields but the header has 2\n"
        "data/rows.csv:5:1: $.items: row has 1 fields but the header has 2\n"
        "data/rows.csv:7:1: $.items: invalid CSV: a quoted field opened in this row is never "
        "closed (a '\"' inside a field is written '\"\"')\n"
        "Found 3 errors in 1 file.\n"))
    jsonl = '{"id": "a"}\n{"id": \n[1]\n{"id": "b"}\n"text"\n'
    root = project({"specs/a.yaml": DATASET.replace("EXT", "jsonl"), "data/rows.jsonl": jsonl})
    assert run("validate", cwd=root).err == (
        "data/rows.jsonl:2:8: $.items: invalid JSON: Expecting value\n"
        "data/rows.jsonl:3:1: $.items: each row must be an object, got an array\n"
        "data/rows.jsonl:5:1: $.items: each row must be an object, got a string\n"
        "Found 3 errors in 1 file.\n")


def test_a_data_file_reports_at_most_fifty_problems_and_counts_the_rest(project, run) -> None:
    rows = "id,question\n" + "x\n" * 60
    root = project({"specs/a.yaml": DATASET.replace("EXT", "csv"), "data/rows.csv": rows})
    lines = run("validate", cwd=root).err.splitlines()
    assert len(lines) == 52
    assert lines[-2] == ("data/rows.csv:52:1: $.items: ... and 10 more problems in this file "
                         "from here on")


def test_an_empty_key_is_refused_in_a_keyed_dataset(project, run) -> None:
    root = project({"specs/a.yaml": DATASET.replace("EXT", "csv"),
                    "data/rows.csv": "id,question\na,fine\n ,blank key\n"})
    result = run("validate", cwd=root)
    assert (result.code, result.err) == (1, (
        "data/rows.csv:3:1: $.items[1]: item's dataset key 'id' is empty: each item needs its "
        "own value\nFound 1 error in 1 file.\n"))


def test_a_path_written_from_the_project_root_gets_a_hint(project, run) -> None:
    spec = DATASET.replace("file://../data/rows.EXT", "file://data/rows.csv")
    root = project({"specs/a.yaml": spec, "data/rows.csv": "id,question\na,fine\n"})
    result = run("validate", cwd=root)
    assert (result.code, result.err) == (1, (
        "specs/a.yaml:4:8: $.items: 'file://data/rows.csv': no such file (specs/data/rows.csv); "
        "paths are relative to the spec file, not the project root: did you mean "
        "'file://../data/rows.csv'?\nFound 1 error in 1 file.\n"))
