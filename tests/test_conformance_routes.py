"""Every route the local platform serves, held to scale-gp-beta's types, so that a route added
without a check fails here: each answer is validated strictly against the SDK type its
method reads (tests/test_conformance.py's ``strict``), and each route that takes a body is sent
one the SDK's types forbid, which must be refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.test_conformance import ENVELOPE, strict

ROUTERS = ("datasets", "evaluations", "evaluation_items", "groups", "questions", "item_export")


def served() -> set[tuple[str, str]]:
    """(method, path template) of every v5 route of the local platform."""
    import importlib

    routes = set()
    for name in ROUTERS:
        module = importlib.import_module(f"evalspec.platform.{name}")
        for route in module.router.routes:
            if route.path.startswith("/v5/"):
                routes.update((m, route.path) for m in route.methods - {"HEAD"})
    return routes


class Checked:
    """Sends requests, validates each answer against the SDK's type, and records the route
    template each one exercised."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.covered: set[tuple[str, str]] = set()

    def __call__(self, method: str, template: str, model: Any, *, json: Any = None,
                 params: dict[str, Any] | None = None, many: bool = False,
                 **ids: str) -> Any:
        response = self.http.request(method, template.format(**ids), json=json, params=params)
        assert response.status_code == 200, (method, template, response.text)
        self.covered.add((method, template))
        body = response.json()
        if many:
            assert set(body) == ENVELOPE, body
            for item in body["items"]:
                strict(model, item)
        elif model is not None:
            strict(model, body)
        return body


def test_every_route_answers_as_the_sdk_types_it(http) -> None:
    from pydantic import TypeAdapter
    from scale_gp_beta.types import (
        Dataset,
        DatasetArchiveResponse,
        DatasetItem,
        DatasetItemArchiveResponse,
        DatasetItemBatchCreateResponse,
        Evaluation,
        EvaluationGroup,
        EvaluationGroupRetrieveSchemaResponse,
        EvaluationItem,
        EvaluationItemExport,
        EvaluationSchemaResponse,
        Question,
        RubricArchiveResponse,
        RubricResponse,
    )
    from scale_gp_beta.types.rubrics import (
        CriterionListVersionsResponse,
        RubricCriteriaResponse,
    )

    question_type = _AdapterModel(TypeAdapter(Question))
    call = Checked(http)
    chat = {"task_type": "chat_completion", "alias": "answer", "configuration": {
        "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "item.q"}]}}
    rater = {"task_type": "contributor_evaluation.question", "alias": "rater",
             "configuration": {"question_id": "q", "layout": {"children": [
                 {"data": "item.q"}]}}}

    dataset = call("POST", "/v5/datasets", Dataset, json={"name": "d", "data": [{"q": "a"}]})
    d = dataset["id"]
    call("GET", "/v5/datasets", Dataset, many=True)
    call("GET", "/v5/datasets/{d}", Dataset, d=d)
    call("PATCH", "/v5/datasets/{d}", Dataset, json={"description": "x"}, d=d)
    call("POST", "/v5/dataset-items/batch", DatasetItemBatchCreateResponse,
         json={"dataset_id": d, "data": [{"q": "b"}]})
    items = call("GET", "/v5/dataset-items", DatasetItem, params={"dataset_id": d}, many=True)
    item = items["items"][0]["id"]
    call("GET", "/v5/dataset-items/{i}", DatasetItem, i=item)
    call("PATCH", "/v5/dataset-items/{i}", DatasetItem, json={"data": {"q": "c"}}, i=item)
    call("DELETE", "/v5/dataset-items/{i}", DatasetItemArchiveResponse, i=item)

    evaluation = call("POST", "/v5/evaluations", Evaluation, json={
        "name": "e", "data": [{"q": "a"}], "tasks": [chat, rater],
        "taxonomy_params": {"area": "support"}})
    e = evaluation["id"]
    call("GET", "/v5/evaluations", Evaluation, params={"views": "tasks"}, many=True)
    call("POST", "/v5/evaluations/filter", Evaluation, json={"filters": []}, many=True)
    call("GET", "/v5/evaluations/{e}", Evaluation, params={"views": "tasks"}, e=e)
    call("PATCH", "/v5/evaluations/{e}", Evaluation, json={"description": "x"}, e=e)
    call("POST", "/v5/evaluations/{e}/tasks", Evaluation, json={"task": {
        **rater, "alias": "second"}}, e=e)
    call("PATCH", "/v5/evaluations/{e}/tasks/{alias}", Evaluation, json={"configuration": {
        **rater["configuration"], "required": True}}, e=e, alias="rater")
    assert call("GET", "/v5/evaluations/{e}/taxonomy", None, e=e) == {"area": "support"}
    call("GET", "/v5/evaluations/{e}/schema", EvaluationSchemaResponse, e=e)
    listed = call("GET", "/v5/evaluation-items", EvaluationItem, params={"evaluation_id": e},
                  many=True)
    call("GET", "/v5/evaluation-items/{i}", EvaluationItem, i=listed["items"][0]["id"])
    call("POST", "/v5/evaluation-items/export", EvaluationItemExport, json={
        "evaluation_id": e, "export_format": "csv", "export_method": "direct"})

    group = call("POST", "/v5/evaluation-groups", EvaluationGroup,
                 json={"name": "g", "evaluation_ids": [e]})
    g = group["id"]
    call("GET", "/v5/evaluation-groups", EvaluationGroup, many=True)
    call("GET", "/v5/evaluation-groups/{g}", EvaluationGroup, g=g)
    call("PATCH", "/v5/evaluation-groups/{g}", EvaluationGroup, json={"description": "x"}, g=g)
    call("PUT", "/v5/evaluation-groups/{g}", EvaluationGroup,
         json={"name": "g", "evaluation_ids": [e]}, g=g)
    call("GET", "/v5/evaluation-groups/{g}/schema", EvaluationGroupRetrieveSchemaResponse, g=g)

    question = call("POST", "/v5/questions", question_type, json={
        "question_type": "categorical", "name": "n", "prompt": "p",
        "configuration": {"choices": ["a", "b"]}})
    q = question["id"]
    call("GET", "/v5/questions", question_type, params={"include_archived": True}, many=True)
    call("GET", "/v5/questions/{q}", question_type, q=q)
    call("PATCH", "/v5/questions/{q}", question_type, json={"name": "m"}, q=q)
    call("DELETE", "/v5/questions/{q}", question_type, q=q)
    call("POST", "/v5/questions/{q}/restore", question_type, q=q)

    rubric = call("POST", "/v5/rubrics", RubricResponse, json={
        "title": "r", "tags": ["t"], "criteria": [{"title": "c", "weight": 1.0}]})
    r = rubric["id"]
    call("GET", "/v5/rubrics", RubricResponse, params={"tags": "t"}, many=True)
    call("GET", "/v5/rubrics/{r}", RubricResponse, r=r)
    call("PATCH", "/v5/rubrics/{r}", RubricResponse, json={"title": "s"}, r=r)
    criterion = call("POST", "/v5/rubrics/{r}/criteria", RubricCriteriaResponse,
                     json={"title": "d"}, r=r)
    call("PATCH", "/v5/rubrics/{r}/criteria/{c}", RubricCriteriaResponse,
         json={"weight": 2.0}, r=r, c=criterion["id"])
    call("GET", "/v5/rubrics/{r}/criteria/{c}/versions", CriterionListVersionsResponse,
         r=r, c=criterion["id"])
    call("DELETE", "/v5/rubrics/{r}", RubricArchiveResponse, r=r)

    call("DELETE", "/v5/evaluation-groups/{g}", EvaluationGroup, g=g)
    call("DELETE", "/v5/evaluations/{e}", Evaluation, e=e)
    call("DELETE", "/v5/datasets/{d}", DatasetArchiveResponse, d=d)

    paths = {(m, _template(p)) for m, p in served()}
    assert {(m, _template(p)) for m, p in call.covered} == paths


def _template(path: str) -> str:
    """A route's path with its parameters unnamed: /v5/rubrics/{}/criteria/{}."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


class _AdapterModel:
    """A union type (questions) validated as strict() validates a model."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter
        self.__name__ = "Question"

    def model_validate(self, data: Any) -> Any:
        return self.adapter.validate_python(data)


# What scale-gp-beta's types forbid, per route that takes a body: each must be refused.
FORBIDDEN = {
    ("POST", "/v5/datasets"): {"name": "d"},
    ("PATCH", "/v5/datasets/{}"): {"name": 3},
    ("POST", "/v5/dataset-items/batch"): {"dataset_id": "{d}"},
    ("PATCH", "/v5/dataset-items/{}"): {"data": "text"},
    ("POST", "/v5/evaluations"): {"name": "e", "data": [{"q": 1}], "tasks": [{
        "task_type": "metric", "configuration": {"type": "bleurt", "candidate": "item.q",
                                                 "reference": "item.q"}}]},
    ("POST", "/v5/evaluations/filter"): {"limit": "many"},
    ("PATCH", "/v5/evaluations/{}"): {"tags": "t"},
    ("POST", "/v5/evaluations/{}/tasks"): {"task": {
        "task_type": "contributor_evaluation.question", "configuration": {"question_id": "q"}}},
    ("PATCH", "/v5/evaluations/{}/tasks/{}"): {"configuration": {"question_id": 3}},
    ("POST", "/v5/evaluation-items/export"): {"evaluation_id": "{e}", "export_format": "xml"},
    ("POST", "/v5/evaluation-groups"): {"name": "g"},
    ("PATCH", "/v5/evaluation-groups/{}"): {"tags": "t"},
    ("PUT", "/v5/evaluation-groups/{}"): {"row_identifiers": ["q"]},
    ("POST", "/v5/questions"): {"question_type": "rating", "name": "n", "prompt": "p",
                                "configuration": {"steps": 5}},
    ("PATCH", "/v5/questions/{}"): {"name": 3},
    ("POST", "/v5/rubrics"): {"title": "r", "criteria": [{"weight": 1}]},
    ("PATCH", "/v5/rubrics/{}"): {"title": ["r"]},
    ("POST", "/v5/rubrics/{}/criteria"): {"weight": 1},
    ("PATCH", "/v5/rubrics/{}/criteria/{}"): {"weight": "heavy"},
}


def test_every_route_that_takes_a_body_refuses_what_the_sdk_forbids(http) -> None:
    bodied = {(m, _template(p)) for m, p in served() if m in ("POST", "PATCH", "PUT")}
    bodied -= {("POST", "/v5/questions/{}/restore")}  # no body
    assert set(FORBIDDEN) == bodied
    d = http.post("/v5/datasets", json={"name": "d", "data": [{"q": "a"}]}).json()["id"]
    item = http.get("/v5/dataset-items", params={"dataset_id": d}).json()["items"][0]["id"]
    rater = {"task_type": "contributor_evaluation.question", "alias": "rater",
             "configuration": {"question_id": "q", "layout": {"children": []}}}
    e = http.post("/v5/evaluations", json={"name": "e", "data": [{"q": "a"}],
                                           "tasks": [rater]}).json()["id"]
    g = http.post("/v5/evaluation-groups", json={"name": "g", "evaluation_ids": [e]}).json()
    q = http.post("/v5/questions", json={"question_type": "free_text", "name": "n",
                                         "prompt": "p"}).json()["id"]
    rubric = http.post("/v5/rubrics", json={"title": "r", "criteria": [{"title": "c"}]}).json()
    ids = {"/v5/datasets/{}": [d], "/v5/dataset-items/{}": [item],
           "/v5/evaluations/{}": [e], "/v5/evaluations/{}/tasks": [e],
           "/v5/evaluations/{}/tasks/{}": [e, "rater"], "/v5/evaluation-groups/{}": [g["id"]],
           "/v5/questions/{}": [q], "/v5/rubrics/{}": [rubric["id"]],
           "/v5/rubrics/{}/criteria": [rubric["id"]],
           "/v5/rubrics/{}/criteria/{}": [rubric["id"], rubric["criteria"][0]["id"]]}
    for (method, template), body in sorted(FORBIDDEN.items()):
        path = template.replace("{}", "%s") % tuple(ids.get(template, []))
        sent = {k: (v.format(d=d, e=e) if isinstance(v, str) else v) for k, v in body.items()}
        response = http.request(method, path, json=sent)
        assert response.status_code in (400, 422), (method, template, response.text)
    # nothing was made by the refused bodies
    assert [x["name"] for x in http.get("/v5/evaluations").json()["items"]] == ["e"]
    assert len(http.get("/v5/questions").json()["items"]) == 1
