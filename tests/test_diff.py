"""The diff as the pure function it is: desired payloads against remote objects, no platform.

The end-to-end tests reach these cases only when a platform shows them; here they are built
by hand: member records marked deleted, members the project does not own, and values whose
shape changed between the specs and the platform.
"""

from __future__ import annotations

from typing import Any

from evalspec.plan.diff import diff
from evalspec.plan.model import Change, Plan, deep_changes
from evalspec.plan.refresh import ActualState, Remote
from evalspec.spec.desired import build
from evalspec.spec.payloads import build_payloads
from tests.conftest import edit

URL = "http://platform.test"


def test_deep_changes_name_each_changed_leaf_and_a_changed_shape_whole() -> None:
    before = {"model": "a", "messages": [{"role": "user", "content": "x"}], "stop": ["s"]}
    after = {"model": "b", "messages": [{"role": "user", "content": "y"}], "stop": "s",
             "seed": 1}
    assert deep_changes(before, after, "tasks[0].configuration", True) == [
        Change("tasks[0].configuration.model", "a", "b", True),
        Change("tasks[0].configuration.messages[0].content", "x", "y", True),
        Change("tasks[0].configuration.stop", ["s"], "s", True),
        Change("tasks[0].configuration.seed", None, 1, True),
    ]
    # A mapping or a list on one side only is one change of the whole value.
    assert deep_changes({"a": 1}, "text", "p", False) == [Change("p", {"a": 1}, "text")]
    assert deep_changes("text", {"a": 1}, "p", False) == [Change("p", "text", {"a": 1})]
    assert deep_changes([1, 2], "text", "p", False) == [Change("p", [1, 2], "text")]
    assert deep_changes("text", [1, 2], "p", False) == [Change("p", "text", [1, 2])]
    assert deep_changes([1, 2], [1, 2, 3], "p", False) == [Change("p", [1, 2], [1, 2, 3])]
    assert deep_changes([1, {"k": 2}], [1, {"k": 2}], "p", False) == []


def _as_applied(workdir, group_spec: str = "") -> tuple[Any, list[Any], list[Remote], Remote]:
    """The sweep example's desired state, its payloads, and remote objects exactly as an
    apply of it would have left them (the group last, members and row identifiers by id).
    ``group_spec``: more lines for the group's spec."""
    root = workdir("sweep")
    if group_spec:
        edit(root / "specs" / "support.yaml", "row_identifier: id",
             f"row_identifier: id\n{group_spec}")
    state = build(root)
    payloads = build_payloads(state)
    ids = {p.address: f"id-{p.address.split('/', 1)[1]}" for p in payloads}
    remotes = []
    group = None
    for n, payload in enumerate(payloads):
        body: dict[str, Any] = {**payload.body, "id": ids[payload.address]}
        if payload.kind == "EvaluationGroup":
            members = [ids[a] for a in payload.depends_on]
            body.pop("evaluation_ids", None)
            body["members"] = [{"evaluation_id": m, "deleted_at": None} for m in members]
            body["row_identifiers"] = [{"evaluation_id": m, "column_name": "id"}
                                       for m in members]
            group = Remote(payload.kind, body["id"], payload.address, payload.fingerprint, False,
                           f"2026-01-01T00:00:{n:02d}Z", body)
            continue
        remotes.append(Remote(payload.kind, body["id"], payload.address, payload.fingerprint,
                              False, f"2026-01-01T00:00:{n:02d}Z", body))
    assert group is not None
    return state, payloads, remotes, group


def _with_members(group: Remote, members: list[dict[str, Any]], **fields: Any) -> Remote:
    body = {**group.body, "members": members, **fields}
    return Remote(group.kind, group.id, group.address, group.fingerprint, False,
                  group.created_at, body)


def _built_dataset(root) -> tuple[Any, Any]:
    """The desired state of the project at ``root`` and its one dataset's payload."""
    state = build(root)
    [dataset] = [p for p in build_payloads(state) if p.kind == "Dataset"]
    return state, dataset


def _on_platform(payload: Any, **fields: Any) -> Remote:
    """``payload`` as an apply left it on the platform (id ``id-ds`` or ``id-ev``), with
    ``fields`` of its body changed by hand."""
    object_id = "id-ds" if payload.kind == "Dataset" else "id-ev"
    return Remote(payload.kind, object_id, payload.address, payload.fingerprint, False,
                  "2026-01-01T00:00:00Z", {**payload.body, "id": object_id, **fields})


def _change_a_row(root) -> None:
    rows = root / "data" / "support-faq.jsonl"
    rows.write_text(rows.read_text().replace("reset", "change"))


def test_what_an_apply_left_behind_plans_nothing(workdir) -> None:
    state, payloads, remotes, group = _as_applied(workdir)
    plan = diff(state, payloads, ActualState((*remotes, group), 3), URL)
    assert (plan.actions, plan.errors) == ((), ())


def test_a_member_record_marked_deleted_is_not_a_member(workdir) -> None:
    state, payloads, remotes, group = _as_applied(workdir)
    gone = {"evaluation_id": "id-removed-long-ago", "deleted_at": "2026-01-02T00:00:00Z"}
    plan = diff(state, payloads,
                ActualState((*remotes, _with_members(group, [*group.body["members"], gone])), 3),
                URL)
    assert plan.actions == ()


def test_a_deleted_group_is_created_again_not_restored(workdir) -> None:
    """Groups have no restore: one the platform lists as deleted (plan reads groups without
    include_deleted, but a platform may list them) is left alone and the group created."""
    state, payloads, remotes, group = _as_applied(workdir)
    deleted = Remote(group.kind, group.id, group.address, group.fingerprint, True,
                     group.created_at, {**group.body, "deleted_at": "2026-01-02T00:00:00Z"})
    plan = diff(state, payloads, ActualState((*remotes, deleted), 3), URL)
    assert [(a.action, a.address, a.remote_id) for a in plan.actions] == [
        ("create", "EvaluationGroup/faq-sweep", None)]


def test_a_member_archived_and_created_anew_is_a_replaced_member(workdir) -> None:
    """A platform that keeps an archived evaluation in its groups: the new evaluation at its
    address is a member replaced, not a member added."""
    state, payloads, remotes, group = _as_applied(workdir)
    old = next(r for r in remotes if r.address == "Evaluation/faq-openai-gpt-4o-t0.0")
    archived = Remote(old.kind, old.id, old.address, "an older fingerprint", True,
                      old.created_at, {**old.body, "archived_at": "2026-01-02T00:00:00Z"})
    plan = diff(state, payloads,
                ActualState((*[r for r in remotes if r is not old], archived, group), 3), URL)
    assert [(a.action, a.address, a.reasons) for a in plan.actions] == [
        ("create", "Evaluation/faq-openai-gpt-4o-t0.0", ()),
        ("update", "EvaluationGroup/faq-sweep",
         ("member Evaluation/faq-openai-gpt-4o-t0.0 replaced",))]


def test_a_member_the_project_does_not_own_shows_as_its_id_and_is_removed(workdir) -> None:
    state, payloads, remotes, group = _as_applied(workdir)
    foreign = {"evaluation_id": "evaluation_added_by_hand", "deleted_at": None}
    idents = [*group.body["row_identifiers"],
              {"evaluation_id": "evaluation_added_by_hand", "column_name": "question"}]
    changed = _with_members(group, [*group.body["members"], foreign], row_identifiers=idents)
    plan = diff(state, payloads, ActualState((*remotes, changed), 3), URL)
    [action] = plan.actions
    assert (action.action, action.address, action.reasons) == (
        "update", "EvaluationGroup/faq-sweep", ("members changed", "row identifiers changed"))
    owned = sorted(r.address for r in remotes if r.kind == "Evaluation")
    assert action.changes == (
        Change("members", sorted([*owned, "evaluation_added_by_hand"]), owned),
        Change("row_identifiers[evaluation_added_by_hand]", "question", None))


def test_members_listed_as_whole_evaluations_are_read_by_their_ids(workdir) -> None:
    """Seed 002 shows a group's members as whole evaluation objects (an older view than the
    member records): the same members, no change."""
    state, payloads, remotes, group = _as_applied(workdir)
    whole = [{"id": m["evaluation_id"], "object": "evaluation"} for m in group.body["members"]]
    plan = diff(state, payloads, ActualState((*remotes, _with_members(group, whole)), 3), URL)
    assert plan.actions == ()


def test_a_group_renamed_by_hand_is_renamed_back_keeping_what_it_ignores(workdir) -> None:
    state, payloads, remotes, group = _as_applied(
        workdir, "lifecycle: {ignore_fields: [description, tags]}")
    renamed = _with_members(group, group.body["members"], name="renamed-by-hand",
                            description="edited by hand",
                            tags=["by-hand", "evalspec:support-sweep"])
    plan = diff(state, payloads, ActualState((*remotes, renamed), 3), URL)
    [action] = plan.actions
    assert (action.action, action.address, action.reasons, action.changes) == (
        "update", "EvaluationGroup/faq-sweep", (),
        (Change("name", "renamed-by-hand", "faq-sweep"),))
    assert action.depends_on == ()  # a rename waits for no member (a failed one skips nothing)
    assert action.desired is not None
    assert action.desired["body"]["description"] == "edited by hand"
    assert action.desired["body"]["name"] == "faq-sweep"
    assert action.desired["body"]["tags"] == ["by-hand", "evalspec:support-sweep"]


def test_a_dataset_update_keeps_the_tags_it_ignores_as_the_platform_has_them(workdir) -> None:
    root = workdir("sweep")
    edit(root / "specs" / "support.yaml", "key: id", "key: id\nlifecycle: {ignore_fields: [tags]}")
    state, dataset = _built_dataset(root)
    remote = _on_platform(dataset, description="edited by hand", tags=[
        "by-hand", *[t for t in dataset.body["tags"] if t.startswith("evalspec")]])
    plan = diff(state, [dataset], ActualState((remote,), 3), URL)
    [action] = plan.actions
    assert (action.action, action.reasons, action.changes) == ("update", (), (
        Change("description", "edited by hand",
               "Customer support questions with reference answers."),))
    assert action.desired is not None
    assert action.desired["body"]["tags"] == [
        "by-hand", *[t for t in dataset.body["tags"] if t.startswith("evalspec")]]


def test_metadata_on_a_dataset_is_no_change(workdir) -> None:
    """Datasets carry no metadata in the specs and updates never send any: metadata found on
    one (set by hand, or by another tool) is not a change, or every plan would show it."""
    state, dataset = _built_dataset(workdir("sweep"))
    for metadata in ({"curated": True}, {}):
        remote = _on_platform(dataset, metadata=metadata)
        plan = diff(state, [dataset], ActualState((remote,), 3), URL)
        assert (plan.actions, plan.errors) == ((), ())


def test_a_keyed_dataset_syncs_its_items_keeping_the_tags_it_ignores(workdir) -> None:
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    edit(spec, "key: id", "key: id\nlifecycle: {ignore_fields: [tags]}")
    _, old = _built_dataset(root)
    _change_a_row(root)
    state, dataset = _built_dataset(root)
    ours = [t for t in old.body["tags"] if t.startswith("evalspec")]
    remote = _on_platform(old, tags=["by-hand", *ours])
    items = [{"id": f"item-{n}", "data": row} for n, row in enumerate(old.body["data"])]
    plan = diff(state, [dataset], ActualState((remote,), 3), URL,
                dataset_items={"id-ds": items})
    [action] = plan.actions
    assert (action.action, action.reasons, action.changes) == ("update", ("items changed",), ())
    assert action.items is not None and len(action.items.update) == 1
    assert action.desired is not None
    assert action.desired["body"]["tags"] == ["by-hand", *[
        t for t in dataset.body["tags"] if t.startswith("evalspec")]]


def test_a_protected_dataset_whose_rows_changed_is_refused(workdir) -> None:
    """Without a key its rows cannot be synced one by one: it would be replaced."""
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    edit(spec, "key: id", "lifecycle: {protect: true}")
    _, old = _built_dataset(root)
    _change_a_row(root)
    state, dataset = _built_dataset(root)
    plan = diff(state, [dataset], ActualState((_on_platform(old),), 3), URL)
    assert [(a.action, a.reasons) for a in plan.actions] == [("replace", ("items changed",))]
    assert plan.errors == ("Dataset/support-faq is protected (lifecycle.protect) but would be "
                           "replaced: items changed",)


def test_an_ignored_description_the_platform_lacks_is_not_sent(workdir) -> None:
    """ignore_fields: [description] means the platform's description stands, even when it has
    none: an update for another field sends no description at all."""
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    edit(spec, "key: id", "key: id\nlifecycle: {ignore_fields: [description]}")
    for description in ("description: Customer support questions with reference answers.\n",
                        ""):  # with and without one in the spec
        if not description:
            edit(spec, "description: Customer support questions with reference answers.\n", "")
        state, dataset = _built_dataset(root)
        remote = _on_platform(dataset, description=None,
                              tags=[t for t in dataset.body["tags"] if t != "support"])
        [action] = diff(state, [dataset], ActualState((remote,), 3), URL).actions
        assert [c.path for c in action.changes] == ["tags"]
        assert action.desired is not None
        assert "description" not in action.desired["body"]


def test_a_keyed_dataset_renamed_and_changed_at_once_is_replaced(workdir) -> None:
    """moved_from finds the dataset under its old name; with its rows changed as well, and no
    items read for the old name, it is replaced rather than synced item by item."""
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    _, old = _built_dataset(root)
    edit(spec, "name: support-faq\n", "name: faq\nlifecycle: {moved_from: [support-faq]}\n")
    edit(spec, "dataset: support-faq", "dataset: faq")
    _change_a_row(root)
    state, dataset = _built_dataset(root)
    plan = diff(state, [dataset], ActualState((_on_platform(old),), 3), URL)
    [action] = plan.actions
    assert (action.action, action.address, action.reasons, action.remote_id) == (
        "replace", "Dataset/faq", ("items changed",), "id-ds")
    assert [c.path for c in action.changes] == ["name"]


def test_an_evaluation_update_keeps_the_tags_it_ignores(workdir) -> None:
    root = workdir("quickstart")
    edit(root / "specs" / "capitals.yaml", "tags: [team:evals, quickstart]",
         "tags: [team:evals, quickstart]\nlifecycle: {ignore_fields: [tags]}")
    state = build(root)
    [evaluation] = build_payloads(state)
    ours = [t for t in evaluation.body["tags"] if t.startswith("evalspec:")]
    remote = _on_platform(evaluation, description="edited by hand", tags=["by-hand", *ours])
    [action] = diff(state, [evaluation], ActualState((remote,), 3), URL).actions
    assert (action.action, [c.path for c in action.changes]) == ("update", ["description"])
    assert action.desired is not None
    assert action.desired["body"]["tags"] == ["by-hand", *ours]


def test_a_task_added_or_removed_is_one_line_of_its_own() -> None:
    from evalspec.plan.model import Action
    from evalspec.plan.render_text import render_text
    from evalspec.plan.task_changes import task_list_changes

    answer = {"task_type": "chat_completion", "alias": "answer",
              "configuration": {"model": "openai/gpt-4o", "messages": [{"role": "user",
                                                                       "content": "x" * 400}]}}
    rouge = {"task_type": "metric", "alias": "rouge", "configuration": {"type": "rougeL"}}
    bleu = {"task_type": "metric", "alias": "bleu", "configuration": {"type": "bleu"}}
    changes = task_list_changes([answer, rouge], [answer, bleu, {**rouge, "configuration": {
        "type": "rouge1"}}])
    assert changes == [Change("tasks[1]", None, bleu, True),
                       Change("tasks[2].configuration.type", "rougeL", "rouge1", True)]
    removed = task_list_changes([answer, rouge, bleu], [answer, bleu])
    assert removed == [Change("tasks[1]", rouge, None, True)]
    # The same tasks in another order change the list, position by position.
    assert task_list_changes([rouge, bleu], [bleu, rouge])[0].path == "tasks[0].alias"
    action = Action("replace", "Evaluation/e", "Evaluation", remote_id="evaluation_1",
                    changes=tuple(changes + removed), reasons=("tasks changed",))
    assert render_text(Plan("demo", "local", (action,))).splitlines()[3:7] == [
        "-/+ Evaluation/e",
        "      + task bleu: metric bleu  # forces replacement",
        "      ~ tasks[2].configuration.type: \"rougeL\" -> \"rouge1\"  # forces replacement",
        "      - task rouge: metric rougeL  # forces replacement",
    ]
