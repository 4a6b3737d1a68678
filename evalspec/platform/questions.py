"""Questions (``/v5/questions``) and rubrics (``/v5/rubrics``, with their criteria).

As scale-gp-beta 0.7.0 describes them (API.md §9): a question's type, prompt, configuration and
conditions are fixed at creation, only its ``name`` can change; it is archived and restored, and
has no tags or metadata. A rubric has a title, tags and criteria; an update writes a new version
of the rubric, a criterion's update a new version of the criterion (criteria are versioned on
their own), and nothing deletes a criterion. Bodies are checked against the SDK's param types
(``question_schema.json``), so what the SDK's types refuse is a 422 here too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query

from evalspec.platform.api import (
    Account,
    JSONRoute,
    ListParams,
    Paging,
    StoreDep,
    get_or_404,
    identity,
    public,
    split_list,
)
from evalspec.platform.store import Store, new_id, now
from evalspec.platform.task_schema import body_problem

router = APIRouter(route_class=JSONRoute)
JsonBody = Body(...)  # checked against the SDK's types in the endpoint, for located errors

QUESTION_TYPES = {"categorical": "Categorical", "rating": "Rating", "number": "Number",
                  "free_text": "FreeText", "form": "Form", "timestamp": "Timestamp"}


def _refuse(path: list[Any], message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", *path], "msg": message, "type": "value_error"}])


def _checked(name: str, body: Any, at: list[Any]) -> None:
    refused = body_problem(name, body)
    if refused is not None:
        path, message = refused
        raise _refuse([*at, *path], message)


# -- questions ------------------------------------------------------------------------------

def _question(store: Store, account: str, question_id: str) -> dict[str, Any]:
    return get_or_404(store, account, "question", question_id, "question")


@router.post("/v5/questions")
async def create_question(body: dict[str, Any] = JsonBody, account: str = Account,
                          store: Store = StoreDep) -> dict[str, Any]:
    # The SDK's questions.create(question=...) sends the question itself as the body.
    given = body
    kind = QUESTION_TYPES.get(given.get("question_type"))  # type: ignore[arg-type]
    if kind is None:  # the response types are told apart by it: the platform needs it
        raise _refuse(["question_type"], f"must be one of {', '.join(QUESTION_TYPES)}")
    _checked(f"Question{kind}QuestionRequest", given, [])
    for key in ("name", "prompt"):
        if not given[key].strip():
            raise _refuse([key], "must not be empty")
    question = {
        "id": new_id("question"), "object": "question", "name": given["name"],
        "prompt": given["prompt"], "question_type": given["question_type"],
        "configuration": given.get("configuration"), "conditions": given.get("conditions"),
        "created_at": now(), "created_by": identity(account), "archived_at": None,
    }
    with store.transaction() as db:
        store.insert(db, account, "question", question)
    return public(question)


@router.get("/v5/questions")
async def list_questions(account: str = Account, store: Store = StoreDep,
                         paging: ListParams = Paging, ids: list[str] | None = Query(None),
                         include_archived: bool = False) -> dict[str, Any]:
    wanted = set(split_list(ids))
    page = paging.page(store, account, "question", include_archived=include_archived,
                       where=(lambda q: q["id"] in wanted) if wanted else None)
    return {"object": "list", "items": [public(q) for q in page.items], "total": page.total,
            "has_more": page.has_more, "limit": paging.limit}


@router.get("/v5/questions/{question_id}")
async def retrieve_question(question_id: str, account: str = Account,
                            store: Store = StoreDep) -> dict[str, Any]:
    return public(_question(store, account, question_id))  # archived ones too, as documented


@router.patch("/v5/questions/{question_id}")
async def update_question(question_id: str, body: dict[str, Any] = JsonBody,
                          account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    _checked("QuestionUpdate", body, [])
    if set(body) != {"name"}:
        unknown = sorted(set(body) - {"name"})
        raise _refuse(unknown[:1], "only a question's name can change; its type, prompt, "
                      "configuration and conditions are fixed at creation")
    with store.transaction() as db:
        question = _question(store, account, question_id)
        if question["archived_at"]:
            raise HTTPException(400, f"question {question_id!r} is archived: restore it first")
        question["name"] = body["name"]
        store.save(db, question)
    return public(question)


def _set_archived(store: Store, account: str, question_id: str, archived: bool
                  ) -> dict[str, Any]:
    """Archive or restore; either is a no-op on a question already so."""
    with store.transaction() as db:
        question = _question(store, account, question_id)
        if bool(question["archived_at"]) != archived:
            question["archived_at"] = now() if archived else None
            store.save(db, question)
    return public(question)


@router.delete("/v5/questions/{question_id}")
async def archive_question(question_id: str, account: str = Account,
                           store: Store = StoreDep) -> dict[str, Any]:
    return _set_archived(store, account, question_id, True)


@router.post("/v5/questions/{question_id}/restore")
async def restore_question(question_id: str, account: str = Account,
                           store: Store = StoreDep) -> dict[str, Any]:
    return _set_archived(store, account, question_id, False)


# -- rubrics --------------------------------------------------------------------------------

def _rubric(store: Store, account: str, rubric_id: str) -> dict[str, Any]:
    return get_or_404(store, account, "rubric", rubric_id, "rubric")


def _current(rubric: dict[str, Any]) -> list[dict[str, Any]]:
    """Each criterion at its latest version, in the order they were added."""
    latest: dict[str, dict[str, Any]] = {}
    for version in rubric["_criteria"]:
        latest[version["id"]] = version
    return list(latest.values())


def _rubric_out(rubric: dict[str, Any], full: bool) -> dict[str, Any]:
    out = public(rubric)
    out["criteria"] = (_current(rubric) if full else
                       [{"title": c["title"], "weight": c.get("weight")} for c in
                        _current(rubric)])
    return out


def _criterion(rubric_id: str, given: dict[str, Any], criterion_id: str | None = None,
               version: int = 1) -> dict[str, Any]:
    return {"id": criterion_id or new_id("rubric_criteria"), "object": "rubric_criteria",
            "rubric_id": rubric_id, "title": given["title"], "version": version,
            "annotations": given.get("annotations"), "weight": given.get("weight"),
            "created_at": now()}


@router.post("/v5/rubrics")
async def create_rubric(body: dict[str, Any] = JsonBody, account: str = Account,
                        store: Store = StoreDep) -> dict[str, Any]:
    _checked("RubricCreate", body, [])
    if "criteria" in body and not body["criteria"]:
        raise _refuse(["criteria"], "when given, criteria must have at least one entry")
    if not body["title"].strip():
        raise _refuse(["title"], "must not be empty")
    rubric_id = new_id("rubric")
    rubric: dict[str, Any] = {
        "id": rubric_id, "object": "rubric", "title": body["title"],
        "tags": list(body.get("tags") or []), "version": 1, "created_at": now(),
        "created_by": identity(account), "updated_at": None, "archived_at": None,
        "_criteria": [_criterion(rubric_id, c) for c in body.get("criteria") or []],
    }
    with store.transaction() as db:
        store.insert(db, account, "rubric", rubric)
    return _rubric_out(rubric, True)


@router.get("/v5/rubrics")
async def list_rubrics(account: str = Account, store: Store = StoreDep,
                       paging: ListParams = Paging, tags: list[str] | None = Query(None),
                       title: str | None = None) -> dict[str, Any]:
    wanted = title.lower() if title else None
    page = paging.page(store, account, "rubric", tags=split_list(tags),
                       where=(lambda r: wanted in r["title"].lower()) if wanted else None)
    return {"object": "list", "items": [_rubric_out(r, False) for r in page.items],
            "total": page.total, "has_more": page.has_more, "limit": paging.limit}


@router.get("/v5/rubrics/{rubric_id}")
async def retrieve_rubric(rubric_id: str, account: str = Account,
                          store: Store = StoreDep) -> dict[str, Any]:
    return _rubric_out(_rubric(store, account, rubric_id), True)


@router.patch("/v5/rubrics/{rubric_id}")
async def update_rubric(rubric_id: str, body: dict[str, Any] = JsonBody,
                        account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    _checked("RubricUpdate", body, [])
    unknown = sorted(set(body) - {"title", "tags", "restore"})
    if unknown:
        raise _refuse(unknown[:1], "a rubric update sets title and tags, or is {restore: true}")
    with store.transaction() as db:
        rubric = _rubric(store, account, rubric_id)
        if body.get("restore") is True:
            if rubric["archived_at"]:
                rubric.update(archived_at=None, version=rubric["version"] + 1,
                              updated_at=now())
                store.save(db, rubric)
            return _rubric_out(rubric, True)
        if rubric["archived_at"]:
            raise HTTPException(400, f"rubric {rubric_id!r} is archived: restore it first")
        if "title" in body and not body["title"].strip():
            raise _refuse(["title"], "must not be empty")
        rubric.update({k: body[k] for k in ("title", "tags") if k in body})
        rubric.update(version=rubric["version"] + 1, updated_at=now())
        store.save(db, rubric)
    return _rubric_out(rubric, True)


@router.delete("/v5/rubrics/{rubric_id}")
async def archive_rubric(rubric_id: str, account: str = Account,
                         store: Store = StoreDep) -> dict[str, Any]:
    with store.transaction() as db:
        rubric = _rubric(store, account, rubric_id)
        if rubric["archived_at"]:
            raise HTTPException(400, f"rubric {rubric_id!r} is already archived")
        rubric["archived_at"] = now()
        store.save(db, rubric)
    return {"id": rubric_id, "deleted": True, "object": "rubric"}


@router.post("/v5/rubrics/{rubric_id}/criteria")
async def create_criterion(rubric_id: str, body: dict[str, Any] = JsonBody,
                           account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    _checked("CriterionCreate", body, [])
    with store.transaction() as db:
        rubric = _rubric(store, account, rubric_id)
        if rubric["archived_at"]:
            raise HTTPException(400, f"rubric {rubric_id!r} is archived: restore it first")
        criterion = _criterion(rubric_id, body)
        rubric["_criteria"].append(criterion)
        store.save(db, rubric)
    return criterion


@router.patch("/v5/rubrics/{rubric_id}/criteria/{criterion_id}")
async def update_criterion(rubric_id: str, criterion_id: str,
                           body: dict[str, Any] = JsonBody, account: str = Account,
                           store: Store = StoreDep) -> dict[str, Any]:
    _checked("CriterionUpdate", {**body, "rubric_id": rubric_id}, [])
    unknown = sorted(set(body) - {"title", "annotations", "weight"})
    if unknown:
        raise _refuse(unknown[:1], "a criterion update sets title, annotations and weight")
    with store.transaction() as db:
        rubric = _rubric(store, account, rubric_id)
        current = {c["id"]: c for c in _current(rubric)}.get(criterion_id)
        if current is None:
            raise HTTPException(404, f"criterion {criterion_id!r} is not in rubric "
                                f"{rubric_id!r}")
        if rubric["archived_at"]:
            raise HTTPException(400, f"rubric {rubric_id!r} is archived: restore it first")
        criterion = _criterion(rubric_id, {**current, **body}, criterion_id,
                               current["version"] + 1)
        rubric["_criteria"].append(criterion)
        store.save(db, rubric)
    return criterion


@router.get("/v5/rubrics/{rubric_id}/criteria/{criterion_id}/versions")
async def criterion_versions(rubric_id: str, criterion_id: str, account: str = Account,
                             store: Store = StoreDep) -> dict[str, Any]:
    rubric = _rubric(store, account, rubric_id)
    versions = [c for c in rubric["_criteria"] if c["id"] == criterion_id]
    if not versions:
        raise HTTPException(404, f"criterion {criterion_id!r} is not in rubric {rubric_id!r}")
    versions.sort(key=lambda c: -c["version"])
    return {"object": "list", "items": versions, "total": len(versions), "has_more": False,
            "limit": len(versions)}
