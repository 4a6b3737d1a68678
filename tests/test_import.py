"""evalspec import: objects made with the official SDK come under the project, plan empty."""

from __future__ import annotations

import time

import yaml

from tests.test_plan_apply import ENV, owned, plan

MODELS = ["openai/gpt-4o", "anthropic/claude-3-5-sonnet"]
TEMPERATURES = [0.0, 0.7]


def chat(model: str, temperature: float) -> dict:
    return {"task_type": "chat_completion", "alias": "answer", "configuration": {
        "model": model, "temperature": temperature,
        "messages": [{"role": "user", "content": "item.question"}]}}


def make_sweep(sdk) -> tuple[list[str], str]:
    dataset = sdk.datasets.create(name="faq", data=[
        {"id": "q1", "question": "Reset my password?"},
        {"id": "q2", "question": "Download invoices?"}], tags=["support"])
    ids = []
    for model in MODELS:
        for temperature in TEMPERATURES:
            slug = model.replace("/", "-").replace(".", "-")
            evaluation = sdk.evaluations.create(evaluation={
                "name": f"faq-{slug}-t{temperature}",
                "description": f"FAQ answered by {model} at {temperature}",
                "tags": ["sweep"], "metadata": {"model": model},
                "dataset_id": dataset.id, "tasks": [chat(model, temperature)]})
            ids.append(evaluation.id)
    group = sdk.evaluation_groups.create(
        name="faq-sweep", evaluation_ids=ids, description="Every model, row by row",
        tags=["sweep"], row_identifiers={i: "id" for i in ids})
    return ids, group.id


def test_a_sweep_made_with_the_sdk_imports_as_a_matrix(project, platform, sdk, run) -> None:
    ids, group_id = make_sweep(sdk)
    single = sdk.evaluations.create(evaluation={
        "name": "capitals", "data": [{"question": "Peru"}, {"question": "Chile"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)], "tags": ["geo"]})
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--group", "faq-sweep", "--evaluation", single.id,
                 "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    names = [f"faq-{m.replace('/', '-').replace('.', '-')}-t{t}" for m in MODELS
             for t in TEMPERATURES]
    assert result.out.splitlines() == [
        "Wrote 5 files under specs/imported:",
        "  specs/imported/data/faq.jsonl",
        "  specs/imported/dataset-faq.yaml",
        "  specs/imported/data/capitals.jsonl",
        "  specs/imported/group-faq-sweep.yaml",
        "  specs/imported/evaluation-capitals.yaml",
        "",
        "They reproduce 7 objects exactly. Import stamps the tag evalspec:demo and evalspec.* "
        "metadata on:",
        f"  Dataset/faq ({sdk.datasets.list().items[0].id})",
        f"  Evaluation/capitals ({single.id})",
        *(f"  Evaluation/{name} ({i})" for name, i in zip(names, ids, strict=True)),
        f"  EvaluationGroup/faq-sweep ({group_id})",
        "Stamped ownership on 7 objects. 'evalspec plan' now finds nothing to change for "
        "them.",
    ]
    documents = list(yaml.safe_load_all((root / "specs/imported/group-faq-sweep.yaml")
                                        .read_text()))
    sweep, group = documents
    assert sweep == {
        "kind": "Evaluation",
        "name": "faq-${{ matrix.model | slug }}-t${{ matrix.temperature }}",
        "description": "FAQ answered by ${{ matrix.model }} at ${{ matrix.temperature }}",
        "tags": ["sweep"],
        "metadata": {"model": "${{ matrix.model }}"},
        "dataset": "faq",
        "tasks": [chat("${{ matrix.model }}", "${{ matrix.temperature }}")],
        "matrix": {"model": MODELS, "temperature": TEMPERATURES},
    }
    assert group == {"kind": "EvaluationGroup", "name": "faq-sweep",
                     "description": "Every model, row by row", "tags": ["sweep"],
                     "members": names,
                     "row_identifier": "id"}
    after = plan(run, root, platform.url, "--detailed-exitcode")
    assert (after.code, after.out) == (0, "No changes. The platform matches the specs.\n")
    assert sorted(e["id"] for e in owned(platform, "demo")) == sorted([*ids, single.id])
    assert sdk.evaluation_groups.retrieve(group_id).tags == ["sweep", "evalspec:demo"]


def test_without_confirmation_nothing_is_stamped_and_no_file_stays(project, platform, sdk,
                                                                    run) -> None:
    make_sweep(sdk)
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--group", "faq-sweep", "--endpoint", platform.url,
                 env=ENV)
    assert (result.code, result.err) == (1, "Error: import needs confirmation: run it in a "
                                            "terminal, or pass --auto-approve\n")
    assert not (root / "specs").exists()
    assert owned(platform, "demo") == []


def test_differences_are_refused_before_anything_is_stamped(project, platform, sdk,
                                                             run) -> None:
    make_sweep(sdk)
    root = project({}, config="project: demo\ndefaults:\n  configuration: {max_tokens: 64}\n")
    result = run("import", str(root), "--group", "faq-sweep", "--endpoint", platform.url,
                 "--auto-approve", env=ENV)
    assert result.code == 1
    assert result.err.startswith("Error: the written specs do not reproduce the platform:\n"
                                 "  Evaluation/faq-openai-gpt-4o-t0.0: the specs give other "
                                 "tasks (defaults.configuration in evalspec.yaml applies to "
                                 "imported specs too)\n")
    assert not (root / "specs").exists() and owned(platform, "demo") == []


def test_unknown_names_and_nothing_asked(project, platform, run) -> None:
    root = project({}, config="project: demo\n")
    missing = run("import", str(root), "--group", "nope", "--endpoint", platform.url,
                  "--auto-approve", env=ENV)
    assert missing.err == "Error: no evaluation group named 'nope'\n"
    nothing = run("import", str(root), "--endpoint", platform.url, env=ENV)
    assert nothing.err == ("Error: say what to import: --group NAME, --evaluation ID, "
                           "--dataset ID, --question ID or --rubric ID\n")


def test_a_group_that_is_not_a_sweep_imports_one_document_per_evaluation(project, platform,
                                                                          sdk, run) -> None:
    one = sdk.evaluations.create(evaluation={
        "name": "judge", "data": [{"question": "a"}], "tasks": [chat("openai/gpt-4o", 0.0)]})
    two = sdk.evaluations.create(evaluation={
        "name": "metric", "data": [{"q": "b"}], "tasks": [{
            "task_type": "metric", "alias": "score",
            "configuration": {"type": "rougeL", "candidate": "item.q",
                              "reference": "item.q"}}]})
    sdk.evaluation_groups.create(name="mixed", evaluation_ids=[one.id, two.id])
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--group", "mixed", "--endpoint", platform.url,
                 "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    documents = list(yaml.safe_load_all((root / "specs/imported/group-mixed.yaml").read_text()))
    assert [(d["kind"], d["name"]) for d in documents] == [
        ("Evaluation", "judge"), ("Evaluation", "metric"), ("EvaluationGroup", "mixed")]
    assert documents[0]["data"] == "file://data/judge.jsonl"
    assert (root / "specs/imported/data/judge.jsonl").read_text() == '{"question": "a"}\n'
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"


def test_a_dataset_imports_with_its_rows(project, platform, sdk, run) -> None:
    dataset = sdk.datasets.create(name="rows", data=[{"id": 1, "text": "é"}], tags=["kept"])
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--dataset", dataset.id, "--out", "specs/legacy",
                 "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert yaml.safe_load((root / "specs/legacy/dataset-rows.yaml").read_text()) == {
        "kind": "Dataset", "name": "rows", "tags": ["kept"],
        "items": "file://data/rows.jsonl"}
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"
    assert sdk.datasets.retrieve(dataset.id).tags[:2] == ["kept", "evalspec:demo"]


def test_project_defaults_are_left_out_of_imported_specs(project, platform, sdk, run) -> None:
    # evalspec init's project has defaults.tags [team:evals]: imported specs must not repeat
    # what the defaults merge back in, or the plan after import would change the objects.
    dataset = sdk.datasets.create(name="faq", data=[{"id": "q1", "question": "Hi?"}])
    evaluation = sdk.evaluations.create(evaluation={
        "name": "faq-answers", "dataset_id": dataset.id, "tags": ["sweep", "team:evals"],
        "metadata": {"owner": "evals", "model": "gpt"},
        "tasks": [{**chat("openai/gpt-4o", 0.0), "configuration": {
            **chat("openai/gpt-4o", 0.0)["configuration"], "max_tokens": 64}}]})
    config = ("project: demo\ndefaults:\n  tags: [team:evals]\n  metadata: {owner: evals}\n"
              "  configuration: {max_tokens: 64}\n")
    root = project({}, config=config)
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    [doc] = yaml.safe_load_all((root / "specs/imported/evaluation-faq-answers.yaml").read_text())
    assert (doc["tags"], doc["metadata"]) == (["sweep"], {"model": "gpt"})
    assert "max_tokens" not in doc["tasks"][0]["configuration"]
    again = plan(run, root, platform.url)
    assert (again.code, again.out) == (0, "No changes. The platform matches the specs.\n")


def test_defaults_the_platform_lacks_are_named_with_both_values(project, platform, sdk,
                                                                run) -> None:
    evaluation = sdk.evaluations.create(evaluation={
        "name": "capitals", "data": [{"question": "Peru"}], "tags": ["geo"],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    root = project({}, config="project: demo\ndefaults:\n  tags: [team:evals]\n")
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.err) == (1, (
        "Error: the written specs do not reproduce the platform:\n"
        '  Evaluation/capitals would be updated: tags: the platform has ["geo"], the specs give '
        '["team:evals", "geo"] (evalspec.yaml defaults.tags is merged into every evaluation; '
        "it adds what the platform lacks)\n"))
    assert not (root / "specs").exists() and owned(platform, "demo") == []


def _member(name: str, config: dict, rows: list, **fields) -> dict:
    return {"id": f"evaluation_{name}", "name": name, "tags": ["sweep"], "_rows": rows,
            "tasks": [{"task_type": "chat_completion", "alias": "answer",
                       "configuration": {"model": "m/a", **config,
                                         "messages": [{"role": "user", "content": "q"}]}}],
            **fields}


def _group(name: str, members: list[dict]) -> dict:
    return {"id": f"group_{name}", "name": name, "tags": [],
            "members": [{"evaluation_id": m["id"]} for m in members]}


def test_a_sweep_with_a_gap_numbers_that_contain_each_other_and_shared_rows(tmp_path) -> None:
    """write_specs alone (no platform): a sweep missing one combination gets an ``exclude``;
    a name holding 100 and 1 is templated longest value first; metadata that equals an axis
    value (a number) becomes that axis; members sharing rows share one data file; evalspec's
    own metadata from elsewhere is left out; two members are already a sweep."""
    from evalspec.apply.importer import Fetched, write_specs

    rows = [{"question": "q1"}, {"question": "q2"}]
    sweep = [_member(f"run-{tokens}-t{temperature}",
                     {"max_tokens": tokens, "temperature": temperature}, rows,
                     metadata={"temperature": temperature, "team": "evals",
                               "evalspec.address": "Evaluation/elsewhere"})
             for tokens, temperature in ((100, 1), (100, 0), (1000, 1))]
    pair = [_member(f"pair-{model.replace('/', '-')}", {"model": model}, [{"question": i}])
            for i, model in enumerate(("m/b", "m/c"))]
    found = Fetched(evaluations={m["id"]: m for m in [*sweep, *pair]},
                    groups={g["id"]: g for g in (_group("sweep", sweep), _group("pair", pair))})
    out = tmp_path / "specs"
    files = write_specs(found, out, tmp_path, matrices=True)
    assert sorted(str(p.relative_to(out)) for p in files) == [
        "data/pair-m-b.jsonl", "data/pair-m-c.jsonl", "data/sweep.jsonl", "group-pair.yaml",
        "group-sweep.yaml"]
    assert files[out / "data/sweep.jsonl"] == '{"question": "q1"}\n{"question": "q2"}\n'
    document, group = yaml.safe_load_all(files[out / "group-sweep.yaml"])
    assert document == {
        "kind": "Evaluation", "name": "run-${{ matrix.max_tokens }}-t${{ matrix.temperature }}",
        "tags": ["sweep"],
        "metadata": {"temperature": "${{ matrix.temperature }}", "team": "evals"},
        "data": "file://data/sweep.jsonl",
        "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
            "model": "m/a", "max_tokens": "${{ matrix.max_tokens }}",
            "temperature": "${{ matrix.temperature }}",
            "messages": [{"role": "user", "content": "q"}]}}],
        "matrix": {"max_tokens": [100, 1000], "temperature": [1, 0],
                   "exclude": [{"max_tokens": 1000, "temperature": 0}]}}
    assert group["members"] == [m["name"] for m in sweep]
    document, _ = yaml.safe_load_all(files[out / "group-pair.yaml"])
    assert (document["name"], document["data"], document["matrix"]) == (
        "pair-${{ matrix.model | slug }}", "file://data/pair-${{ matrix.model | slug }}.jsonl",
        {"model": ["m/b", "m/c"]})


def test_what_defaults_give_back_is_left_out_and_keys_left_empty_go() -> None:
    """without_defaults: tags and metadata the defaults merge back are dropped (the key too
    when nothing is left; a different value is kept), and defaults.configuration only
    thins chat_completion tasks, never a judge's configuration."""
    from evalspec.apply.importer import without_defaults

    judge = {"task_type": "auto_evaluation.question", "alias": "judge",
             "configuration": {"model": "m/judge", "max_tokens": 64}}
    doc = {"kind": "Evaluation", "name": "e", "tags": ["team:evals"],
           "metadata": {"owner": "evals"},
           "tasks": [{"task_type": "chat_completion", "alias": "answer",
                      "configuration": {"model": "m/a", "max_tokens": 64, "temperature": 0.5}},
                     judge]}
    defaults = {"tags": ["team:evals"], "metadata": {"owner": "evals"},
                "configuration": {"max_tokens": 64, "temperature": 0.0, "top_p": None}}
    assert without_defaults(doc, defaults) == {
        "kind": "Evaluation", "name": "e",
        "tasks": [{"task_type": "chat_completion", "alias": "answer",
                   "configuration": {"model": "m/a", "temperature": 0.5}},
                  {"task_type": "auto_evaluation.question", "alias": "judge",
                   "configuration": {"model": "m/judge", "max_tokens": 64}}]}
    assert doc["tasks"][0]["configuration"]["max_tokens"] == 64  # the document is left as it was
    kept = {**doc, "tags": ["team:evals", "sweep"], "metadata": {"owner": "ml", "x": 1}}
    thinned = without_defaults(kept, defaults)
    assert (thinned["tags"], thinned["metadata"]) == (["sweep"], {"owner": "ml", "x": 1})


def test_a_name_evalspec_cannot_address_is_refused_before_anything_is_written(
        project, platform, sdk, run) -> None:
    evaluation = sdk.evaluations.create(evaluation={
        "name": "capitals of Europe", "data": [{"question": "Peru"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.err) == (1, (
        f"Error: cannot import Evaluation {evaluation.id}: its name 'capitals of Europe' is "
        "not a valid evalspec name (letters, digits, '.', '_', '-')\n"))
    assert not (root / "specs").exists() and owned(platform, "demo") == []


def test_written_files_word_for_word(tmp_path) -> None:
    """An evaluation written alone: the schema comment when the project has the schema (a path
    from the file's folder), keys in spec order, text kept as written (no escapes, no folding
    before 100 columns), rows as JSON lines; with matrices off, a sweep is written one
    document per member."""
    from evalspec.apply.importer import Fetched, write_specs

    (tmp_path / "evalspec.schema.json").write_text("{}")
    description = "Réponses en français, notées par un juge; " + "long " * 6 + "end"
    single = _member("café", {"temperature": 0.5}, [{"question": "Où est la gare ?"}],
                     description=description)
    found = Fetched(evaluations={single["id"]: single})
    out = tmp_path / "specs" / "imported"
    files = write_specs(found, out, tmp_path, matrices=True)
    assert files[out / "data/café.jsonl"] == '{"question": "Où est la gare ?"}\n'
    assert files[out / "evaluation-café.yaml"] == (
        "# yaml-language-server: $schema=../../evalspec.schema.json\n"
        "# Written by evalspec import.\n"
        "kind: Evaluation\n"
        "name: café\n"
        f"description: {description}\n"
        "tags:\n- sweep\n"
        "data: file://data/café.jsonl\n"
        "tasks:\n- task_type: chat_completion\n  alias: answer\n  configuration:\n"
        "    model: m/a\n    temperature: 0.5\n    messages:\n    - role: user\n"
        "      content: q\n")
    sweep = [{**_member(f"s-t{t}", {"temperature": t}, []), "_dataset_id": "dataset_1"}
             for t in (0, 1)]
    for member in sweep:
        del member["_rows"]
    found = Fetched(datasets={"dataset_1": {"id": "dataset_1", "name": "faq", "_rows": []}},
                    evaluations={m["id"]: m for m in sweep}, groups={"g": _group("s", sweep)})
    files = write_specs(found, out, tmp_path, matrices=False)
    documents = list(yaml.safe_load_all(files[out / "group-s.yaml"]))
    assert [(d["name"], d.get("dataset")) for d in documents] == [
        ("s-t0", "faq"), ("s-t1", "faq"), ("s", None)]


def test_a_group_in_the_older_shape_keeps_its_metadata_when_stamped() -> None:
    from evalspec.apply.importer import stamped

    group = {"id": "g1", "name": "g", "tags": ["x", "evalspec:other"],
             "evaluation_group_metadata": {"team": "evals"}}
    assert stamped("EvaluationGroup", group, "demo", "f" * 8) == {
        **group, "tags": ["x", "evalspec:demo"],
        "metadata": {"team": "evals", "evalspec.project": "demo",
                     "evalspec.address": "EvaluationGroup/g", "evalspec.fingerprint": "f" * 8}}


def test_a_difference_names_the_field_both_values_and_the_default_behind_it() -> None:
    from evalspec.apply.importer import _difference
    from evalspec.plan.model import Change

    change = Change("tasks[0].configuration.max_tokens", None, 64)
    assert _difference("Evaluation/e", "update", change, {"configuration": {}}) == (
        "Evaluation/e would be updated: tasks[0].configuration.max_tokens: the platform has "
        "null, the specs give 64 (evalspec.yaml defaults.configuration is merged into every "
        "evaluation; it adds what the platform lacks)")
    change = Change("metadata.owner", "équipe", "évals")
    assert _difference("Evaluation/e", "update", change, {"metadata": {}}) == (
        'Evaluation/e would be updated: metadata.owner: the platform has "équipe", the specs '
        'give "évals" (evalspec.yaml defaults.metadata is merged into every evaluation; it '
        "adds what the platform lacks)")
    assert _difference("Evaluation/e", "update", change, {"configuration": {}}) == (
        'Evaluation/e would be updated: metadata.owner: the platform has "équipe", the specs '
        'give "évals"')
    assert _difference("Dataset/d", "create", None, {}) == "Dataset/d would be created"


def test_members_in_the_older_shape_deleted_members_and_a_group_of_one(tmp_path) -> None:
    """Members listed as ``{"id"}`` (the older API) are read like ``{"evaluation_id"}``; a
    member deleted from the group is left out; a lone member keeps its rows under its own
    name; a dataset's document carries the schema comment too."""
    from evalspec.apply.importer import Fetched, write_specs

    (tmp_path / "evalspec.schema.json").write_text("{}")
    kept, dropped, alone = (_member(n, {}, [{"question": n}]) for n in ("kept", "gone", "one"))
    older = {"id": "group_old", "name": "old", "tags": [],
             "members": [{"id": kept["id"]}, {"id": dropped["id"], "deleted_at": "2025-01-01"}]}
    dataset = {"id": "dataset_1", "name": "faq", "_rows": [{"q": 1}]}
    found = Fetched(datasets={"dataset_1": dataset},
                    evaluations={m["id"]: m for m in (kept, dropped, alone)},
                    groups={"group_old": older, "group_one": _group("lone", [alone])})
    out = tmp_path / "specs"
    files = write_specs(found, out, tmp_path, matrices=True)
    assert sorted(str(p.relative_to(out)) for p in files) == [
        "data/faq.jsonl", "data/gone.jsonl", "data/kept.jsonl", "data/one.jsonl",
        "dataset-faq.yaml", "evaluation-gone.yaml", "group-lone.yaml", "group-old.yaml"]
    *_, group = yaml.safe_load_all(files[out / "group-old.yaml"])
    assert group["members"] == ["kept"]
    assert files[out / "dataset-faq.yaml"] == (
        "# yaml-language-server: $schema=../evalspec.schema.json\n"
        "# Written by evalspec import.\n"
        "kind: Dataset\nname: faq\nitems: file://data/faq.jsonl\n")


def test_an_evaluation_with_answers_imports_its_rows_without_them(project, platform, sdk,
                                                                   run) -> None:
    """Items of a finished evaluation carry each task's output under its alias: the written
    rows are the inputs only, and the plan after import is empty."""
    evaluation = sdk.evaluations.create(evaluation={
        "name": "capitals", "data": [{"question": "Peru"}, {"question": "Chile"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    deadline = time.monotonic() + 10
    while sdk.evaluations.retrieve(evaluation.id).status != "completed":
        assert time.monotonic() < deadline, "the evaluation did not complete"
        time.sleep(0.05)
    items = sdk.evaluation_items.list(evaluation_id=evaluation.id).items
    assert all("answer" in item.data for item in items)  # what the import must leave out
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert (root / "specs/imported/data/capitals.jsonl").read_text() == (
        '{"question": "Peru"}\n{"question": "Chile"}\n')
    # A second import into the project, which now owns the first.
    rivers = sdk.evaluations.create(evaluation={
        "name": "rivers", "data": [{"question": "Nile"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    result = run("import", str(root), "--evaluation", rivers.id, "--out", "specs/more",
                 "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert sorted(e["name"] for e in owned(platform, "demo")) == ["capitals", "rivers"]
    after = plan(run, root, platform.url, "--detailed-exitcode")
    assert (after.code, after.out) == (0, "No changes. The platform matches the specs.\n")


def test_two_groups_of_one_name_and_specs_written_outside_the_patterns_are_refused(
        project, platform, sdk, run) -> None:
    first = sdk.evaluations.create(evaluation={
        "name": "capitals", "data": [{"question": "Peru"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    for _ in range(2):
        sdk.evaluation_groups.create(name="dup", evaluation_ids=[first.id])
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--group", "dup", "--endpoint", platform.url,
                 "--auto-approve", env=ENV)
    assert (result.code, result.err) == (1, "Error: 2 evaluation groups are named 'dup'; "
                                            "import one by archiving or renaming the others "
                                            "first\n")
    second = sdk.evaluations.create(evaluation={
        "name": "rivers", "data": [{"question": "Nile"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    result = run("import", str(root), "--evaluation", first.id, "--evaluation", second.id,
                 "--out", "elsewhere", "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.err) == (1, (
        "Error: the written specs do not reproduce the platform:\n"
        "  Evaluation/capitals is not in the specs (is --out inside the project's spec "
        "patterns?)\n"
        "  Evaluation/rivers is not in the specs (is --out inside the project's spec "
        "patterns?)\n"))
    assert not (root / "elsewhere").exists() and owned(platform, "demo") == []


def test_an_archived_evaluation_is_not_found(project, platform, sdk, run) -> None:
    evaluation = sdk.evaluations.create(evaluation={
        "name": "capitals", "data": [{"question": "Peru"}],
        "tasks": [chat("openai/gpt-4o-mini", 0.0)]})
    sdk.evaluations.archive(evaluation.id)
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.err) == (1, (
        f"Error: GET /v5/evaluations/{evaluation.id} failed with 404: evaluation "
        f"'{evaluation.id}' not found\n"))
    assert not (root / "specs").exists()


def test_axes_are_templated_longest_value_first_and_twin_axes_are_no_sweep(tmp_path) -> None:
    """'5' is inside '0.25': the longer value is put in first whatever the axes are called;
    two tasks whose models both vary would make two axes named ``model``, so the members are
    written one by one; with no schema in the project the files start with the banner."""
    from evalspec.apply.importer import Fetched, write_specs

    mix = [_member(f"mix-{tokens}-t{temperature}",
                   {"max_tokens": tokens, "temperature": temperature}, [{"question": "q"}])
           for tokens in (5, 10) for temperature in (0.25, 0.5)]
    twins = []
    for model in ("m/b", "m/c"):
        twin = _member(f"twin-{model.replace('/', '-')}", {"model": model}, [{"question": "q"}])
        twin["tasks"].append({"task_type": "chat_completion", "alias": "again",
                              "configuration": {"model": model, "messages": []}})
        twins.append(twin)
    found = Fetched(evaluations={m["id"]: m for m in [*mix, *twins]},
                    groups={g["id"]: g for g in (_group("mix", mix), _group("twins", twins))})
    out = tmp_path / "specs"
    files = write_specs(found, out, tmp_path, matrices=True)
    assert files[out / "group-mix.yaml"].startswith("# Written by evalspec import.\nkind: ")
    document, _ = yaml.safe_load_all(files[out / "group-mix.yaml"])
    assert (document["name"], document["matrix"]) == (
        "mix-${{ matrix.max_tokens }}-t${{ matrix.temperature }}",
        {"max_tokens": [5, 10], "temperature": [0.25, 0.5]})
    names = [d["name"] for d in yaml.safe_load_all(files[out / "group-twins.yaml"])]
    assert names == ["twin-m-b", "twin-m-c", "twins"]


def test_a_group_document_keeps_metadata_and_each_members_row_identifier(tmp_path) -> None:
    """A group's own metadata (either API shape, evalspec's keys left out), one
    row_identifier when every member names the same column, a mapping by member otherwise;
    two members with the same rows share the group's data file; the schema comment."""
    from evalspec.apply.importer import Fetched, write_specs

    (tmp_path / "evalspec.schema.json").write_text("{}")
    rows = [{"id": "r1", "key": "k1"}]
    same = [_member(f"same-t{t}", {"temperature": t}, rows) for t in (0, 1)]
    mixed = [_member(f"mixed-{n}", {}, [{"n": n}], description=n) for n in ("a", "b")]
    groups = [
        {**_group("same", same), "metadata": {"team": "evals", "evalspec.project": "other"},
         "row_identifiers": [{"evaluation_id": m["id"], "column_name": "id"} for m in same]},
        {**_group("mixed", mixed), "evaluation_group_metadata": {"owner": "ml"},
         "row_identifiers": [{"evaluation_id": mixed[0]["id"], "column_name": "id"},
                             {"evaluation_id": mixed[1]["id"], "column_name": "key"},
                             {"evaluation_id": "evaluation_elsewhere", "column_name": "x"}]},
    ]
    found = Fetched(evaluations={m["id"]: m for m in [*same, *mixed]},
                    groups={g["id"]: g for g in groups})
    out = tmp_path / "specs"
    files = write_specs(found, out, tmp_path, matrices=True)
    assert files[out / "data/same.jsonl"] == '{"id": "r1", "key": "k1"}\n'
    assert files[out / "group-same.yaml"].startswith(
        "# yaml-language-server: $schema=../evalspec.schema.json\n")
    *_, group = yaml.safe_load_all(files[out / "group-same.yaml"])
    assert (group["metadata"], group["row_identifier"]) == ({"team": "evals"}, "id")
    *_, group = yaml.safe_load_all(files[out / "group-mixed.yaml"])
    assert (group["metadata"], group["row_identifier"]) == (
        {"owner": "ml"}, {"mixed-a": "id", "mixed-b": "key"})


def test_another_projects_objects_are_taken_only_when_asked(workdir, project, platform,
                                                            run) -> None:
    theirs = workdir("quickstart")
    assert run("apply", str(theirs), "--endpoint", platform.url, "--auto-approve",
               env=ENV).code == 0
    [evaluation] = owned(platform, "quickstart")
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--evaluation", evaluation["id"], "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.out, result.err) == (1, "", (
        "Error: these objects belong to another evalspec project, whose next plan would "
        "create them again if they were taken:\n"
        f"  Evaluation/capitals ({evaluation['id']}): from project 'quickstart' to 'demo'\n"
        "Nothing was written. Pass --take-over to move them to this project anyway.\n"))
    assert not (root / "specs").exists()
    assert [e["id"] for e in owned(platform, "quickstart")] == [evaluation["id"]]
    assert owned(platform, "demo") == []
    taken = run("import", str(root), "--evaluation", evaluation["id"], "--endpoint",
                platform.url, "--auto-approve", "--take-over", env=ENV)
    assert taken.code == 0, taken.err
    assert ("These change hands (--take-over): the projects named lose them.\n"
            f"  Evaluation/capitals ({evaluation['id']}): from project 'quickstart' to 'demo'\n"
            ) in taken.out
    assert owned(platform, "quickstart") == []
    [mine] = owned(platform, "demo")
    assert mine["metadata"]["evalspec.project"] == "demo"
    assert "evalspec:quickstart" not in mine["tags"]


def test_an_evaluation_brings_the_question_and_rubric_its_tasks_use(project, platform, sdk,
                                                                      run) -> None:
    """Made by hand with the SDK: a question, a rubric and an evaluation whose rater task uses
    both. Import writes a Question and a Rubric, tasks that name them, renames the question
    with the project's mark, tags the rubric, and the next plan finds nothing to change."""
    question = sdk.questions.create(question={
        "question_type": "rating", "name": "helpfulness", "prompt": "How helpful?",
        "configuration": {"min_label": "not", "max_label": "very", "steps": 5}})
    rubric = sdk.rubrics.create(title="helpful-rubric", tags=["team"], criteria=[
        {"title": "On topic", "weight": 2.0}, {"title": "Kind"}])
    evaluation = sdk.evaluations.create(evaluation={
        "name": "rated", "data": [{"q": "a"}, {"q": "b"}], "tasks": [{
            "task_type": "contributor_evaluation.question", "alias": "rater",
            "configuration": {"question_id": question.id, "rubric_id": rubric.id,
                              "layout": {"children": [{"data": "item.q"}]}}}]})
    root = project({}, config="project: demo\n")
    result = run("import", str(root), "--evaluation", evaluation.id, "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert "Stamped ownership on 3 objects." in result.out
    written = list(yaml.safe_load_all(
        (root / "specs" / "imported" / "questions-and-rubrics.yaml").read_text()))
    assert written == [
        {"kind": "Question", "name": "helpfulness", "question_type": "rating",
         "prompt": "How helpful?",
         "configuration": {"min_label": "not", "max_label": "very", "steps": 5}},
        {"kind": "Rubric", "name": "helpful-rubric", "tags": ["team"], "criteria": [
            {"title": "On topic", "weight": 2.0}, {"title": "Kind"}]}]
    [doc] = yaml.safe_load_all((root / "specs" / "imported" / "evaluation-rated.yaml")
                               .read_text())
    config = doc["tasks"][0]["configuration"]
    assert (config["question_id"], config["rubric_id"]) == ("helpfulness", "helpful-rubric")
    assert sdk.questions.retrieve(question.id).name == "evalspec:demo/helpfulness"
    assert "evalspec:demo" in sdk.rubrics.retrieve(rubric.id).tags
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"


def test_another_projects_question_is_refused_unless_taken_over(project, platform, sdk,
                                                                 run) -> None:
    question = sdk.questions.create(question={
        "question_type": "free_text", "name": "evalspec:other/notes", "prompt": "Notes"})
    root = project({}, config="project: demo\n")
    refused = run("import", str(root), "--question", question.id, "--endpoint", platform.url,
                  "--auto-approve", env=ENV)
    assert refused.code == 1
    assert f"  Question/notes ({question.id}): from project 'other' to 'demo'" in refused.err
    assert sdk.questions.retrieve(question.id).name == "evalspec:other/notes"
