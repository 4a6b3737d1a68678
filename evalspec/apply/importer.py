"""Bring existing platform objects under evalspec: write specs that reproduce them, check
that the next plan would be empty, then stamp ownership on them.

A group's members that differ only in task configuration values (a model, a temperature), with
names, descriptions and metadata that follow those values, are written as one matrix; anything
else is written object by object. Evaluations on a dataset bring the dataset along, so the
project is self-contained. Nothing is stamped unless the written specs reproduce every object
exactly (the same check a plan makes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalspec.apply.import_matrix import matrix_doc
from evalspec.client.sgp import SGPClient
from evalspec.errors import EvalspecError
from evalspec.spec.aliases import task_alias
from evalspec.spec.payloads import (
    FINGERPRINT_TAG_PREFIX,
    OWNER_TAG_PREFIX,
    QUESTION_CONTENT,
    VERSION_TAG_PREFIX,
    known_after_apply,
    map_references,
    owner_tag,
    question_name,
    version_tag,
)

NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"


@dataclass
class Fetched:
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> dataset
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> evaluation
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> group
    # id -> question or rubric; each with "name" set to its evalspec name (a rubric's title,
    # a question's platform name less this project's mark) and the platform's in "_platform"
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    rubrics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def objects(self) -> list[tuple[str, dict[str, Any]]]:
        return ([("Question", q) for q in self.questions.values()]
                + [("Rubric", r) for r in self.rubrics.values()]
                + [("Dataset", d) for d in self.datasets.values()]
                + [("Evaluation", e) for e in self.evaluations.values()]
                + [("EvaluationGroup", g) for g in self.groups.values()])


def _user_tags(tags: list[str] | None) -> list[str]:
    return [t for t in tags or [] if not t.startswith((OWNER_TAG_PREFIX,
                                                       FINGERPRINT_TAG_PREFIX,
                                                       VERSION_TAG_PREFIX))]


def _user_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (metadata or {}).items() if not k.startswith("evalspec.")}


def other_owners(found: Fetched, project: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    """The fetched objects another evalspec project owns: (kind, object, its projects). Its
    tag ``evalspec:<name>`` or its ``evalspec.project`` stamp names the owner."""
    taken = []
    for kind, obj in found.objects():
        names = {t[len(OWNER_TAG_PREFIX):] for t in obj.get("tags") or []
                 if isinstance(t, str) and t.startswith(OWNER_TAG_PREFIX)}
        marked = str(obj.get("_platform") or "")  # a question's mark is its name
        if kind == "Question" and marked.startswith(OWNER_TAG_PREFIX) and "/" in marked:
            names.add(marked[len(OWNER_TAG_PREFIX):].split("/", 1)[0])
        metadata = obj.get("metadata") or obj.get("evaluation_group_metadata") or {}
        stamp = metadata.get("evalspec.project") if isinstance(metadata, dict) else None
        if isinstance(stamp, str) and stamp:
            names.add(stamp)
        others = sorted(names - {project})
        if others:
            taken.append((kind, obj, others))
    return taken


def _check_name(kind: str, obj: dict[str, Any]) -> None:
    name = str(obj.get("name") or "")
    if not name or any(c not in NAME_OK for c in name):
        raise EvalspecError(f"cannot import {kind} {obj['id']}: its name {name!r} is not a "
                            "valid evalspec name (letters, digits, '.', '_', '-')")


# -- reading -----------------------------------------------------------------------------------
async def _fetch_review(client: SGPClient, found: Fetched, project: str,
                        questions: tuple[str, ...], rubrics: tuple[str, ...]) -> None:
    """The questions and rubrics asked for and those the fetched evaluations' tasks use."""
    for evaluation in found.evaluations.values():
        for task in evaluation.get("tasks") or []:
            config = task.get("configuration") or {}
            if isinstance(config.get("question_id"), str):
                questions = (*questions, config["question_id"])
            if isinstance(config.get("rubric_id"), str):
                rubrics = (*rubrics, config["rubric_id"])
    for question_id in dict.fromkeys(questions):
        question = await client.get_question(question_id)
        name = str(question.get("name") or "")
        question["_platform"] = name
        if name.startswith(OWNER_TAG_PREFIX) and "/" in name:  # a project's mark, any project
            name = name.split("/", 1)[1]
        question["name"] = name
        found.questions[question_id] = question
    for rubric_id in dict.fromkeys(rubrics):
        rubric = await client.get_rubric(rubric_id)
        rubric["name"] = rubric.get("title")
        found.rubrics[rubric_id] = rubric


async def fetch(client: SGPClient, groups: tuple[str, ...], evaluations: tuple[str, ...],
                datasets: tuple[str, ...], questions: tuple[str, ...] = (),
                rubrics: tuple[str, ...] = (), project: str = "") -> Fetched:
    found = Fetched()
    for name in groups:
        matches = [g async for g in client.list_groups(name=name,
                                                       views=["members", "row_identifiers"])
                   if g.get("name") == name]
        if not matches:
            raise EvalspecError(f"no evaluation group named {name!r}")
        if len(matches) > 1:
            raise EvalspecError(f"{len(matches)} evaluation groups are named {name!r}; "
                                "import one by archiving or renaming the others first")
        group = matches[0]
        found.groups[group["id"]] = group
        members = [str(m.get("evaluation_id") or m.get("id")) for m in group.get("members") or []
                   if not m.get("deleted_at")]
        evaluations = (*evaluations, *members)
    for evaluation_id in dict.fromkeys(evaluations):
        evaluation = await client.get_evaluation(evaluation_id, views=["tasks"])
        linked = [d["id"] for d in evaluation.get("datasets") or []]
        if linked:
            evaluation["_dataset_id"] = linked[0]
            datasets = (*datasets, linked[0])
        else:
            aliases = {task_alias(t) for t in evaluation.get("tasks") or []}
            evaluation["_rows"] = [
                {k: v for k, v in (item.get("data") or {}).items() if k not in aliases}
                async for item in client.list_evaluation_items(evaluation_id)]
        found.evaluations[evaluation_id] = evaluation
    await _fetch_review(client, found, project, questions, rubrics)
    for dataset_id in dict.fromkeys(datasets):
        dataset = await client.get_dataset(dataset_id)
        dataset["_rows"] = [item.get("data") or {}
                            async for item in client.list_dataset_items(dataset_id)]
        found.datasets[dataset_id] = dataset
    for kind, obj in found.objects():
        _check_name(kind, obj)
    return found


# -- writing -----------------------------------------------------------------------------------
def _common(obj: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if obj.get("description"):
        doc["description"] = obj["description"]
    if _user_tags(obj.get("tags")):
        doc["tags"] = _user_tags(obj.get("tags"))
    return doc


def _tasks(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks as a spec writes them: a copy, since documents are edited into templates."""
    tasks = [{k: t[k] for k in ("task_type", "alias", "configuration") if k in t}
             for t in evaluation.get("tasks") or []]
    copied: list[dict[str, Any]] = json.loads(json.dumps(tasks))
    return copied


def _evaluation_doc(evaluation: dict[str, Any], found: Fetched, data_file: str | None
                    ) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "Evaluation", "name": evaluation["name"],
                           **_common(evaluation)}
    metadata = _user_metadata(evaluation.get("metadata"))
    if metadata:
        doc["metadata"] = metadata
    if "_dataset_id" in evaluation:
        doc["dataset"] = found.datasets[evaluation["_dataset_id"]]["name"]
    else:
        doc["data"] = f"file://{data_file}"
    names = {i: o["name"] for i, o in (*found.questions.items(), *found.rubrics.items())}
    doc["tasks"] = map_references(_tasks(evaluation), lambda kind, value: names.get(value, value))
    return doc


def _review_docs(found: Fetched) -> list[dict[str, Any]]:
    """The Question and Rubric documents, each with what the platform keeps of it."""
    documents: list[dict[str, Any]] = []
    for question in found.questions.values():
        doc = {"kind": "Question", "name": question["name"]}
        doc.update({k: question[k] for k in QUESTION_CONTENT if question.get(k) is not None})
        documents.append(doc)
    for rubric in found.rubrics.values():
        doc = {"kind": "Rubric", "name": rubric["name"], **_common(rubric)}
        doc["criteria"] = [{k: c[k] for k in ("title", "weight", "annotations")
                            if c.get(k) is not None} for c in rubric.get("criteria") or []]
        documents.append(doc)
    return documents


def _dump(documents: list[dict[str, Any]], schema: str | None) -> str:
    head = f"# yaml-language-server: $schema={schema}\n" if schema else ""
    body = "---\n".join(yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=100)
                        for d in documents)
    return head + "# Written by evalspec import.\n" + body


def _rows_text(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def without_defaults(doc: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A copy of an Evaluation document less what evalspec.yaml's ``defaults`` will merge back
    into it, so that the document with the defaults reproduces the platform (tags, metadata
    entries and chat_completion configuration keys the defaults give with the same value)."""
    tags = defaults.get("tags") or []
    if tags and isinstance(doc.get("tags"), list):
        kept = [t for t in doc["tags"] if t not in tags]
        doc = {k: v for k, v in doc.items() if k != "tags"} | ({"tags": kept} if kept else {})
    metadata = defaults.get("metadata") or {}
    if metadata and isinstance(doc.get("metadata"), dict):
        kept_meta = {k: v for k, v in doc["metadata"].items()
                     if k not in metadata or metadata[k] != v}
        doc = {k: v for k, v in doc.items() if k != "metadata"} | (
            {"metadata": kept_meta} if kept_meta else {})
    config = {k: v for k, v in (defaults.get("configuration") or {}).items() if v is not None}
    if config and isinstance(doc.get("tasks"), list):
        doc = {**doc, "tasks": [_thinned(task, config) for task in doc["tasks"]]}
    return doc


def _thinned(task: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A chat_completion task less the configuration the defaults give with the same value."""
    if task.get("task_type") != "chat_completion" or not isinstance(
            task.get("configuration"), dict):
        return task
    return {**task, "configuration": {k: v for k, v in task["configuration"].items()
                                      if k not in config or config[k] != v}}


def write_specs(found: Fetched, out: Path, root: Path, *, matrices: bool,
                defaults: dict[str, Any] | None = None) -> dict[Path, str]:
    """The files to write (path -> text); nothing is written here. ``defaults`` are those of
    evalspec.yaml: what they add to every evaluation is left out of the written documents."""
    files: dict[Path, str] = {}
    schema = root / "evalspec.schema.json"
    schema_ref = (Path(*[".."] * len(out.relative_to(root).parts)) / "evalspec.schema.json"
                  ).as_posix() if schema.exists() else None
    data_files: dict[str, str] = {}
    for dataset in found.datasets.values():
        files[out / "data" / f"{dataset['name']}.jsonl"] = _rows_text(dataset["_rows"])
        files[out / f"dataset-{dataset['name']}.yaml"] = _dump([{
            "kind": "Dataset", "name": dataset["name"], **_common(dataset),
            "items": f"file://data/{dataset['name']}.jsonl"}], schema_ref)
    groups = list(found.groups.values())
    member_lists = [[found.evaluations[str(m.get("evaluation_id") or m.get("id"))]
                     for m in g.get("members") or [] if not m.get("deleted_at")]
                    for g in groups]
    for group, members in zip(groups, member_lists, strict=True):
        inline = [m for m in members if "_rows" in m]
        if len(inline) > 1 and len(inline) == len(members) and all(
                m["_rows"] == inline[0]["_rows"] for m in inline):
            path = f"data/{group['name']}.jsonl"  # one copy of rows the members share
            files[out / path] = _rows_text(inline[0]["_rows"])
            data_files.update({m["id"]: path for m in inline})
    for evaluation in found.evaluations.values():
        if "_rows" in evaluation and evaluation["id"] not in data_files:
            path = f"data/{evaluation['name']}.jsonl"
            files[out / path] = _rows_text(evaluation["_rows"])
            data_files[evaluation["id"]] = path
    review = _review_docs(found)
    if review:
        files[out / "questions-and-rubrics.yaml"] = _dump(review, schema_ref)
    written: set[str] = set()
    for group, members in zip(groups, member_lists, strict=True):
        matrix = matrix_doc(members, lambda m: _evaluation_doc(
            m, found, data_files.get(m["id"]))) if matrices else None
        documents = [matrix] if matrix else [
            _evaluation_doc(m, found, data_files.get(m["id"])) for m in members]
        documents = [without_defaults(d, defaults or {}) for d in documents]
        columns = {r["evaluation_id"]: r["column_name"]
                   for r in group.get("row_identifiers") or []}
        group_doc: dict[str, Any] = {"kind": "EvaluationGroup", "name": group["name"],
                                     **_common(group)}
        metadata = _user_metadata(group.get("metadata") or group.get(
            "evaluation_group_metadata"))
        if metadata:
            group_doc["metadata"] = metadata
        group_doc["members"] = [m["name"] for m in members]
        by_name = {found.evaluations[e]["name"]: c for e, c in columns.items()
                   if e in found.evaluations}
        if by_name and len(set(by_name.values())) == 1 and len(by_name) == len(members):
            group_doc["row_identifier"] = next(iter(by_name.values()))
        elif by_name:
            group_doc["row_identifier"] = by_name
        files[out / f"group-{group['name']}.yaml"] = _dump([*documents, group_doc], schema_ref)
        written.update(m["id"] for m in members)
    for evaluation in found.evaluations.values():
        if evaluation["id"] not in written:
            document = _evaluation_doc(evaluation, found, data_files.get(evaluation["id"]))
            files[out / f"evaluation-{evaluation['name']}.yaml"] = _dump(
                [without_defaults(document, defaults or {})], schema_ref)
    return files


# -- checking and stamping ---------------------------------------------------------------------
def stamped(kind: str, obj: dict[str, Any], project: str, fingerprint: str
            ) -> dict[str, Any]:
    """``obj`` as it will be once owned: the ownership tag and stamps added."""
    body = {k: v for k, v in obj.items() if not k.startswith("_")}
    if kind == "Question":  # no tags or metadata: the mark is the name
        return {**body, "name": question_name(project, obj["name"])}
    if kind == "Rubric":
        body.pop("name", None)  # the title is the rubric's name
    tags = _user_tags(obj.get("tags")) + [owner_tag(project)]
    if kind in ("Dataset", "Rubric"):
        tags.append(FINGERPRINT_TAG_PREFIX + fingerprint)
        if isinstance(obj.get("current_version_num"), int):  # its items were just compared
            tags.append(version_tag(obj["current_version_num"]))
    else:
        key = "metadata"
        metadata = dict(obj.get("metadata") or obj.get("evaluation_group_metadata") or {})
        metadata.update({"evalspec.project": project,
                         "evalspec.address": f"{kind}/{obj['name']}",
                         "evalspec.fingerprint": fingerprint})
        body[key] = metadata
    body["tags"] = tags
    return body


async def stamp(client: SGPClient, kind: str, obj: dict[str, Any], project: str,
                fingerprint: str) -> None:
    owned = stamped(kind, obj, project, fingerprint)
    if kind == "Question":
        await client.rename_question(obj["id"], owned["name"])
    elif kind == "Rubric":
        await client.update_rubric(obj["id"], {"tags": owned["tags"]})
    elif kind == "Dataset":
        await client.update_dataset(obj["id"], {"tags": owned["tags"]})
    elif kind == "Evaluation":
        await client.update_evaluation(obj["id"], {"tags": owned["tags"],
                                                   "metadata": owned["metadata"]})
    else:
        await client.patch_group(obj["id"], {"tags": owned["tags"],
                                             "metadata": owned["metadata"]})


def _difference(address: str, action: str, change: Any, defaults: dict[str, Any]) -> str:
    """One way the written specs differ from the platform: the field, both values, a cause."""
    if change is None:
        return f"{address} would be {action}d"
    field = change.path.split(".")[0].split("[")[0]
    text = (f"{address} would be {action}d: {change.path}: the platform has "
            f"{json.dumps(change.before, ensure_ascii=False)}, the specs give "
            f"{json.dumps(change.after, ensure_ascii=False)}")
    if field in defaults or (field == "tasks" and "configuration" in defaults):
        text += (f" (evalspec.yaml defaults.{'configuration' if field == 'tasks' else field} "
                 "is merged into every evaluation; it adds what the platform lacks)")
    return text


def verify(found: Fetched, state: Any, actual: Any, endpoint: str,
           defaults: dict[str, Any] | None = None) -> dict[str, str]:
    """Check that the specs reproduce every fetched object once it is stamped; returns the
    fingerprint to stamp per object id. Raises with every difference otherwise."""
    from evalspec.plan.diff import diff
    from evalspec.plan.refresh import ActualState, _remote
    from evalspec.spec.payloads import build_payloads

    payloads = {p.address: p for p in build_payloads(state)}
    ids = {known_after_apply(f"{k}/{o['name']}"): o["id"] for k, o in found.objects()}
    problems: list[str] = []
    prints: dict[str, str] = {}
    for kind, obj in found.objects():
        address = f"{kind}/{obj['name']}"
        payload = payloads.get(address)
        if payload is None:
            problems.append(f"{address} is not in the specs (is --out inside the project's "
                            "spec patterns?)")
            continue
        prints[obj["id"]] = payload.fingerprint
        sent = payload.body.get("tasks")
        if sent is not None:  # the ids of the questions and rubrics imported with it
            sent = map_references(sent, lambda kind, value: ids.get(value, value))
        if kind == "Evaluation" and sent != _tasks(obj):
            problems.append(f"{address}: the specs give other tasks (defaults.configuration "
                            "in evalspec.yaml applies to imported specs too)")
        if kind == "Evaluation" and "_rows" in obj and payload.body.get("data") != obj["_rows"]:
            problems.append(f"{address}: the specs give other rows")
        if kind == "Dataset" and payload.body.get("data") != obj["_rows"]:
            problems.append(f"{address}: the specs give other items")
    if problems:
        raise EvalspecError("the written specs do not reproduce the platform:\n  "
                            + "\n  ".join(problems))
    imported = {o["id"] for _, o in found.objects()}
    remotes = [r for r in actual.objects if r.id not in imported] + [
        _remote(kind, stamped(kind, obj, state.project, prints[obj["id"]]), state.project)
        for kind, obj in found.objects()]
    plan = diff(state, list(payloads.values()), ActualState(tuple(remotes), 0), endpoint)
    addresses = {f"{kind}/{obj['name']}" for kind, obj in found.objects()}
    defaults = defaults or {}
    changes = [_difference(a.address, a.action, c, defaults) for a in plan.actions
               if a.address in addresses for c in (a.changes or [None])]
    if changes:
        raise EvalspecError("the written specs do not reproduce the platform:\n  "
                            + "\n  ".join(changes))
    return prints
