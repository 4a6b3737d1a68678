"""Holding the local platform and evalspec's client to scale-gp-beta's contract.

Responses are validated against the SDK's own pydantic types in strict mode (no field the type
does not declare, no required one missing, enum values the SDK allows); what evalspec's client
sends is recorded over a real socket and checked against the SDK's params types.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typing_extensions import TypedDict

from evalspec.apply.execute import execute
from evalspec.client.config import Credentials, Endpoint, sgp_client
from evalspec.plan.model import Action, Plan
from evalspec.spec.aliases import task_alias
from tests.test_plan_apply import apply, owned

CREDS = Credentials(api_key="k", account_id="default")


@pytest.mark.parametrize("task, alias", [
    ({"task_type": "chat_completion", "configuration": {}}, "chat_completion"),
    ({"task_type": "metric", "configuration": {"type": "rouge1"}}, "rouge1"),
    ({"task_type": "metric", "alias": "score", "configuration": {"type": "rouge1"}}, "score"),
    ({"task_type": "custom_function", "configuration": {
        "function_source": "import re\n\nasync def exact_match(item):\n    return 1\n"}},
     "exact_match"),
    ({"task_type": "custom_function", "configuration": {"function_source": "x = 1"}},
     "custom_function"),
    ({"task_type": "auto_evaluation.question", "configuration": {}},
     "auto_evaluation.question"),
])
def test_default_aliases_follow_the_sdk(task: dict, alias: str) -> None:
    assert task_alias(task) == alias


def test_two_metrics_of_one_type_need_aliases(project, run) -> None:
    spec = ("kind: Evaluation\nname: ev\ndata: [{a: x, b: y}]\ntasks:\n"
            "  - task_type: metric\n    configuration: {type: rouge1, candidate: item.a, "
            "reference: item.b}\n"
            "  - task_type: metric\n    configuration: {type: rouge1, candidate: item.b, "
            "reference: item.a}\n"
            "  - task_type: metric\n    configuration: {type: bleu, candidate: item.a, "
            "reference: item.b}\n")
    result = run("validate", cwd=project({"specs/a.yaml": spec}))
    assert result.err.splitlines()[0] == (
        "specs/a.yaml:7:5: $.tasks[1]: task alias 'rouge1' is already used by tasks[0]; give "
        "each task a distinct alias")


def test_archiving_what_is_already_archived_reads_the_state_not_the_error(workdir, platform,
                                                                          sdk, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.archive(evaluation["id"])  # e.g. a retried DELETE whose answer was lost
    again = httpx.delete(
        f"{platform.url}/v5/evaluations/{evaluation['id']}", headers={"x-api-key": "k"})
    assert again.status_code == 404  # archived objects are not found, as for a GET
    plan = Plan("quickstart", platform.url, (Action(
        "archive", "Evaluation/capitals", "Evaluation", ("gone",),
        remote_id=evaluation["id"]),))

    async def scenario() -> list:
        client = sgp_client(Endpoint(platform.url, "test"), CREDS, root)
        try:
            return await execute(plan, client, parallelism=8)
        finally:
            await client.aclose()

    [outcome] = asyncio.run(scenario())
    assert (outcome.status, outcome.remote_id) == ("done", evaluation["id"])



# -- responses against the SDKs' types ---------------------------------------------------------
# Fields the API reference pages in shared/seeds show that the SDK's types do not declare
# (other API generations): the platform returns them so that clients of either read it.
SEEN_IN_SEEDS = {"Evaluation": {"created_by_user_id"},
                 "EvaluationGroup": {"evaluation_group_metadata"}}


def _extras(value: object, path: str = "$") -> list[str]:
    """Fields a response has that the SDK's type does not declare, anywhere inside it."""
    from pydantic import BaseModel

    found: list[str] = []
    if isinstance(value, BaseModel):
        allowed = SEEN_IN_SEEDS.get(type(value).__name__, set())
        found += [f"{path}.{key}" for key in (value.model_extra or {}) if key not in allowed]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += _extras(item, f"{path}[{i}]")
    return found


def strict(model: type, body: object) -> None:
    """``body`` is exactly an instance of the SDK's ``model``: required fields present, types
    and enum (Literal) values the SDK allows, and no field the type does not declare.

    One quirk of the SDK is worked around: in its types a field named ``object`` shadows the
    builtin, so ``Dict[str, object]`` declared below it resolves to ``Dict[str, None]`` (the
    SDK never validates responses, it constructs them). Values inside such a mapping are
    accepted as they are; the mapping itself is still checked."""
    import copy

    from pydantic import ValidationError

    data = copy.deepcopy(body)
    for _ in range(1000):
        try:
            parsed = model.model_validate(data)  # type: ignore[attr-defined]
            break
        except ValidationError as exc:
            shadowed = [e["loc"] for e in exc.errors() if e["type"] == "none_required"]
            others = [e for e in exc.errors() if e["type"] != "none_required"]
            if others or not shadowed:
                raise
            for loc in shadowed:
                target = data
                for part in loc[:-1]:
                    target = target[part]
                target[loc[-1]] = None
    assert _extras(parsed) == [], f"{model.__name__}: undeclared fields"


ENVELOPE = {"object", "items", "total", "has_more", "limit"}


def listed(response: httpx.Response, model: type) -> list[dict]:
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == ENVELOPE and page["object"] == "list"
    for item in page["items"]:
        strict(model, item)
    return page["items"]


def test_v5_responses_match_the_sdk_types(http, tmp_path) -> None:
    from scale_gp_beta.types import (
        Dataset,
        DatasetItem,
        Evaluation,
        EvaluationGroup,
        EvaluationItem,
    )

    task = {"task_type": "chat_completion", "alias": "answer", "configuration": {
        "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "item.q"}]}}
    metric = {"task_type": "metric", "configuration": {
        "type": "rouge1", "candidate": "item.answer", "reference": "item.q"}}
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": "a"}, {"q": "b"}],
                                               "tags": ["t"]}).json()
    strict(Dataset, dataset)
    created = http.post("/v5/evaluations", json={
        "name": "e", "dataset_id": dataset["id"], "tags": ["t"], "metadata": {"k": 1},
        "tasks": [task, metric]}).json()
    strict(Evaluation, created)
    inline = http.post("/v5/evaluations", json={"name": "f", "data": [{"q": "x"}],
                                                 "tasks": [task]}).json()
    for params in ({}, {"views": "tasks"}, {"views": "tasks", "include_archived": "true",
                                            "tags": "t"}):
        listed(http.get("/v5/evaluations", params=params), Evaluation)
    strict(Evaluation, http.get(f"/v5/evaluations/{created['id']}",
                                params={"views": "tasks"}).json())
    strict(Evaluation, http.patch(f"/v5/evaluations/{created['id']}",
                                  json={"description": "d", "metadata": {"k": None}}).json())
    items = listed(http.get("/v5/evaluation-items", params={"evaluation_id": created["id"]}),
                   EvaluationItem)
    assert items[0]["dataset_item_version_num"] == 1
    group = http.post("/v5/evaluation-groups", json={
        "name": "g", "evaluation_ids": [created["id"], inline["id"]], "tags": ["t"],
        "row_identifiers": {created["id"]: "q"}}).json()
    strict(EvaluationGroup, group)
    for params in ({}, {"views": "members"}, {"views": ["members", "row_identifiers"]}):
        listed(http.get("/v5/evaluation-groups", params=params), EvaluationGroup)
    strict(EvaluationGroup, http.get(f"/v5/evaluation-groups/{group['id']}").json())
    strict(EvaluationGroup, http.patch(f"/v5/evaluation-groups/{group['id']}",
                                       json={"description": "x"}).json())
    strict(EvaluationGroup, http.put(f"/v5/evaluation-groups/{group['id']}", json={
        "name": "g", "evaluation_ids": [created["id"]]}).json())
    listed(http.get("/v5/datasets", params={"include_archived": "true"}), Dataset)
    listed(http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}), DatasetItem)
    strict(EvaluationGroup, http.delete(f"/v5/evaluation-groups/{group['id']}").json())
    strict(Evaluation, http.delete(f"/v5/evaluations/{inline['id']}").json())


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/v5/evaluations/evaluation_nope", None, 404),
    ("POST", "/v5/evaluations", {"name": "x"}, 422),
    ("POST", "/v5/evaluation-groups", {"name": "g", "evaluation_ids": ["evaluation_no"]}, 400),
    ("GET", "/v5/evaluations?limit=10001", None, 422),
    ("GET", "/v5/evaluations?limit=0", None, 422),
])
def test_v5_errors_have_the_documented_shape(http, method, path, body, status) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == status
    detail = response.json()["detail"]
    assert isinstance(detail, str) or all({"loc", "msg"} <= set(d) for d in detail)


def test_v2_responses_match_the_sdk_types(tmp_path) -> None:
    from scaleapi.api_client.v2.models.get_tasks_response import GetTasksResponse

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "v2.db", sample_tasks=30))
    try:
        headers = {"authorization": "Bearer any"}
        page = httpx.get(f"{server.url}/v2/tasks", headers=headers, params={
            "project_name": "Support FAQ review", "limit": 10}).json()
        parsed = GetTasksResponse.from_dict(page)  # how scaleapi's V2Api reads a page
        assert parsed is not None and len(parsed.tasks) == 10 and parsed.next_token
        assert _extras(parsed) == []
        for limit in ("0", "101", "ten"):
            bad = httpx.get(f"{server.url}/v2/tasks", headers=headers, params={
                "project_name": "Support FAQ review", "limit": limit})
            assert (bad.status_code, set(bad.json())) == (400, {"status_code", "error"})
            assert bad.json()["error"] == "limit must be an integer from 1 to 100"
    finally:
        server.stop()


def test_the_strict_check_itself_catches_extra_and_missing_fields() -> None:
    from pydantic import ValidationError
    from scale_gp_beta.types import EvaluationGroupMember

    member = {"id": "m", "created_at": "2026-01-01T00:00:00Z", "evaluation_group_id": "g",
              "evaluation_id": "e", "object": "evaluation_group.member"}
    strict(EvaluationGroupMember, member)
    with pytest.raises(AssertionError):
        strict(EvaluationGroupMember, {**member, "name": "a full evaluation's field"})
    with pytest.raises(ValidationError):
        strict(EvaluationGroupMember, {k: v for k, v in member.items() if k != "evaluation_id"})
    with pytest.raises(ValidationError):
        strict(EvaluationGroupMember, {**member, "object": "evaluation"})


# -- what evalspec's client sends, against the SDK's params types ------------------------------
class Recording(httpx.AsyncHTTPTransport):
    """A real socket transport that keeps every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await super().handle_async_request(request)


def _conforms(params: object, body: object) -> bool:
    """``body`` fits the SDK's params TypedDict (or one member of a union of them): only keys
    it declares, every required one, values of the declared types."""
    from typing import Union, get_args, get_origin

    from pydantic import TypeAdapter, ValidationError

    candidates = get_args(params) if get_origin(params) is Union else (params,)
    for candidate in candidates:
        keys = candidate.__required_keys__ | candidate.__optional_keys__  # type: ignore[union-attr]
        if not isinstance(body, dict) or not set(body) <= keys:
            continue
        try:
            TypeAdapter(candidate).validate_python(body)
        except ValidationError:
            continue
        return True
    return False


class _NoParams(TypedDict):
    """A request the SDK sends without a query or a body."""


class _CriterionUpdateBody(TypedDict, total=False):
    title: str
    annotations: dict[str, object]
    weight: float


def _params_types() -> dict[tuple[str, str], object]:
    from scale_gp_beta.types import (
        dataset_create_params,
        dataset_item_batch_create_params,
        dataset_item_list_params,
        dataset_item_update_params,
        dataset_list_params,
        dataset_retrieve_params,
        dataset_update_params,
        evaluation_create_params,
        evaluation_group_create_params,
        evaluation_group_list_params,
        evaluation_group_replace_params,
        evaluation_group_retrieve_params,
        evaluation_group_update_params,
        evaluation_item_list_params,
        evaluation_list_params,
        evaluation_retrieve_params,
        evaluation_update_params,
        question_create_params,
        question_list_params,
        question_update_params,
        rubric_create_params,
        rubric_list_params,
        rubric_update_params,
    )
    from scale_gp_beta.types.evaluations import task_add_params, task_update_params
    from scale_gp_beta.types.rubrics import criterion_create_params

    return {
        ("POST", "/v5/evaluations"): evaluation_create_params.Evaluation,
        ("PATCH", "/v5/evaluations/*"): evaluation_update_params.Evaluation,
        ("GET", "/v5/evaluations"): evaluation_list_params.EvaluationListParams,
        ("GET", "/v5/evaluations/*"): evaluation_retrieve_params.EvaluationRetrieveParams,
        ("GET", "/v5/evaluation-items"): evaluation_item_list_params.EvaluationItemListParams,
        ("POST", "/v5/evaluation-groups"):
            evaluation_group_create_params.EvaluationGroupCreateParams,
        ("PATCH", "/v5/evaluation-groups/*"):
            evaluation_group_update_params.EvaluationGroupUpdateParams,
        ("PUT", "/v5/evaluation-groups/*"):
            evaluation_group_replace_params.EvaluationGroupReplaceParams,
        ("GET", "/v5/evaluation-groups"): evaluation_group_list_params.EvaluationGroupListParams,
        ("GET", "/v5/evaluation-groups/*"):
            evaluation_group_retrieve_params.EvaluationGroupRetrieveParams,
        ("POST", "/v5/datasets"): dataset_create_params.DatasetCreateParams,
        ("PATCH", "/v5/datasets/*"): dataset_update_params.Dataset,
        ("GET", "/v5/datasets"): dataset_list_params.DatasetListParams,
        ("GET", "/v5/datasets/*"): dataset_retrieve_params.DatasetRetrieveParams,
        ("POST", "/v5/dataset-items/batch"):
            dataset_item_batch_create_params.DatasetItemBatchCreateParams,
        ("PATCH", "/v5/dataset-items/*"): dataset_item_update_params.DatasetItemUpdateParams,
        ("GET", "/v5/dataset-items"): dataset_item_list_params.DatasetItemListParams,
        # questions.create(question=...) and rubrics.update(rubric=...) send the union itself
        ("POST", "/v5/questions"): question_create_params.Question,
        ("GET", "/v5/questions"): question_list_params.QuestionListParams,
        ("GET", "/v5/questions/*"): _NoParams,
        ("PATCH", "/v5/questions/*"): question_update_params.QuestionUpdateParams,
        ("POST", "/v5/questions/*/restore"): _NoParams,
        ("POST", "/v5/rubrics"): rubric_create_params.RubricCreateParams,
        ("GET", "/v5/rubrics"): rubric_list_params.RubricListParams,
        ("GET", "/v5/rubrics/*"): _NoParams,
        ("PATCH", "/v5/rubrics/*"): rubric_update_params.Rubric,
        ("POST", "/v5/rubrics/*/criteria"): criterion_create_params.CriterionCreateParams,
        # the SDK's update params add rubric_id, which it sends in the path
        ("PATCH", "/v5/rubrics/*/criteria/*"): _CriterionUpdateBody,
        ("POST", "/v5/evaluations/*/tasks"): task_add_params.TaskAddParams,
        ("PATCH", "/v5/evaluations/*/tasks/*"): task_update_params.TaskUpdateParams,
    }


def _route(request: httpx.Request) -> tuple[str, str]:
    """The route with its ids as ``*``: /v5/rubrics/*/criteria/*."""
    parts = request.url.path.split("/")
    parts = ["*" if i in (3, 5) and part != "batch" else part for i, part in enumerate(parts)]
    return request.method, "/".join(parts)


def test_what_evalspec_sends_matches_the_sdk_params(workdir, platform, run) -> None:
    from tests.conftest import edit

    root = workdir("sweep")
    transport = Recording()
    plan_and_apply = _scenario(root, platform, transport)
    asyncio.run(plan_and_apply())  # creates of every kind
    edit(root / "specs" / "support.yaml", "row_identifier: id", "row_identifier: question")
    edit(root / "specs" / "support.yaml", "Customer support questions",
         "Support questions")
    rows = root / "data" / "support-faq.jsonl"
    lines = rows.read_text().splitlines()
    rows.write_text("\n".join([lines[0].replace("reset", "change"), *lines[2:],
                               '{"id": "faq-new", "question": "q?", "reference": "r"}']) + "\n")
    asyncio.run(plan_and_apply())  # updates, item sync, group PUT, replacements, archives
    asyncio.run(plan_and_apply(destroying=True))  # archives of every kind
    routes = _check_sent(transport)
    assert {("POST", "/v5/evaluations"), ("POST", "/v5/datasets"),
            ("POST", "/v5/evaluation-groups"), ("PUT", "/v5/evaluation-groups/*"),
            ("PATCH", "/v5/datasets/*"), ("POST", "/v5/dataset-items/batch"),
            ("PATCH", "/v5/dataset-items/*"), ("DELETE", "/v5/dataset-items/*"),
            ("DELETE", "/v5/evaluations/*"), ("DELETE", "/v5/datasets/*"),
            ("DELETE", "/v5/evaluation-groups/*"), ("GET", "/v5/evaluations")} <= routes


# A contributor question task added at the end of the evaluation (the last document of
# examples/human-review), and the question it uses.
SECOND_QUESTION = """\
  - task_type: contributor_evaluation.question
    alias: tone
    configuration:
      question_id: tone
      layout: {children: [{data: item.answer}]}
---
kind: Question
name: tone
question_type: rating
prompt: How friendly is the answer?
configuration: {min_label: cold, max_label: warm, steps: 5}
"""


def test_questions_and_rubrics_sent_match_the_sdk_params(workdir, platform) -> None:
    """examples/human-review created, changed (a question replaced, a rubric's criteria
    changed and added, a contributor task added in place, a question renamed with moved_from)
    and destroyed: every request as the SDK's types describe it."""
    from tests.conftest import edit

    root = workdir("human-review")
    transport = Recording()
    plan_and_apply = _scenario(root, platform, transport)
    asyncio.run(plan_and_apply())
    spec = root / "specs" / "review.yaml"
    edit(spec, "choices: [accurate, partly accurate, inaccurate]",
         "choices: [accurate, inaccurate]")
    edit(spec, "  - title: Tells the customer what to do next",
         "  - title: Tells the customer what to do next\n    weight: 1\n  - title: Is polite")
    spec.write_text(spec.read_text() + SECOND_QUESTION)
    asyncio.run(plan_and_apply())
    edit(spec, "name: tone\n", "name: friendliness\nlifecycle: {moved_from: [tone]}\n")
    edit(spec, "question_id: tone", "question_id: friendliness")
    asyncio.run(plan_and_apply())
    asyncio.run(plan_and_apply(destroying=True))
    routes = _check_sent(transport)
    assert {("POST", "/v5/questions"), ("GET", "/v5/questions"), ("PATCH", "/v5/questions/*"),
            ("DELETE", "/v5/questions/*"), ("POST", "/v5/rubrics"), ("GET", "/v5/rubrics"),
            ("GET", "/v5/rubrics/*"), ("PATCH", "/v5/rubrics/*"),
            ("POST", "/v5/rubrics/*/criteria"), ("PATCH", "/v5/rubrics/*/criteria/*"),
            ("DELETE", "/v5/rubrics/*")} <= routes


def _scenario(root, platform, transport):
    async def plan_and_apply(destroying: bool = False) -> None:
        import dataclasses

        from evalspec.plan.planner import make_plan
        from evalspec.spec.desired import build

        client = sgp_client(Endpoint(platform.url, "test"), CREDS, root, transport=transport)
        try:
            state = build(root)
            if destroying:
                state = dataclasses.replace(state, objects=[])
            made = await make_plan(state, client, platform.url)
            outcomes = await execute(made, client, parallelism=8)
            assert all(o.status == "done" for o in outcomes), outcomes
        finally:
            await client.aclose()

    return plan_and_apply


def _check_sent(transport) -> set[tuple[str, str]]:
    import json

    from evalspec import __version__

    types = _params_types()
    routes = set()
    for request in transport.sent:
        route = _route(request)
        routes.add(route)
        assert request.headers["accept"] == "application/json"
        assert request.headers["user-agent"] == f"evalspec/{__version__}"
        if request.method == "DELETE":
            continue
        assert route in types, f"no SDK params type for {route}"
        if request.method == "GET":
            query = set(request.url.params.keys())
            declared = types[route].__required_keys__ | types[route].__optional_keys__
            assert query <= declared, (route, query - declared)
        elif request.content:
            body = json.loads(request.content)
            assert _conforms(types[route], body), (route, body)
    return routes


def test_a_group_changed_in_place_is_patched_and_replaced_only_when_it_must_be(
        workdir, platform) -> None:
    """Name, description, tags and added metadata keys go in a PATCH; a removed metadata key
    needs the PUT (a PATCH merges metadata). Recorded over a real socket."""
    from evalspec.spec.desired import build
    from tests.conftest import edit

    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    edit(spec, "row_identifier: id", "row_identifier: id\nmetadata: {owner: evals}")

    def plan_and_apply() -> list[tuple[str, str]]:
        transport = Recording()

        async def scenario() -> None:
            client = sgp_client(Endpoint(platform.url, "test"), CREDS, root, transport=transport)
            try:
                made = await make_plan(build(root), client, platform.url)
                outcomes = await execute(made, client, parallelism=8)
                assert all(o.status == "done" for o in outcomes), outcomes
            finally:
                await client.aclose()

        asyncio.run(scenario())
        return [_route(r) for r in transport.sent if r.method in ("PATCH", "PUT")]

    from evalspec.plan.planner import make_plan

    plan_and_apply()
    headers = {"x-api-key": "k"}
    [group] = httpx.get(f"{platform.url}/v5/evaluation-groups", headers=headers).json()["items"]
    httpx.patch(f"{platform.url}/v5/evaluation-groups/{group['id']}", headers=headers,
                json={"name": "renamed-by-hand"}).raise_for_status()
    edit(spec, "metadata: {owner: evals}", "metadata: {owner: evals, stage: review}")
    assert plan_and_apply() == [("PATCH", "/v5/evaluation-groups/*")]
    group = httpx.get(f"{platform.url}/v5/evaluation-groups/{group['id']}",
                      headers=headers).json()
    assert group["name"] == "faq-sweep"
    assert {k: v for k, v in group["metadata"].items() if not k.startswith("evalspec.")} == {
        "owner": "evals", "stage": "review"}
    edit(spec, "metadata: {owner: evals, stage: review}", "metadata: {owner: evals}")
    assert plan_and_apply() == [("PUT", "/v5/evaluation-groups/*")]
    group = httpx.get(f"{platform.url}/v5/evaluation-groups/{group['id']}",
                      headers=headers).json()
    assert "stage" not in group["metadata"]


class InFlight(httpx.AsyncHTTPTransport):
    """A real socket transport that counts how many writes are in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.now = self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        write = request.method != "GET"
        self.now += write
        self.most = max(self.most, self.now)
        try:
            return await super().handle_async_request(request)
        finally:
            self.now -= write


@pytest.mark.parametrize("parallelism, most", [(1, 1), (3, 3)])
def test_apply_sends_at_most_parallelism_writes_at_once(parallelism, most, workdir,
                                                        tmp_path) -> None:
    from evalspec.plan.planner import make_plan
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background
    from evalspec.spec.desired import build

    # 30 ms per request, so that writes overlap whenever apply lets them.
    server = start_background(Settings(db=tmp_path / "slow.db", faults=Faults(latency_ms=30)))
    root = workdir("sweep")
    transport = InFlight()

    async def scenario() -> None:
        client = sgp_client(Endpoint(server.url, "test"), CREDS, root, transport=transport)
        try:
            made = await make_plan(build(root), client, server.url)
            outcomes = await execute(made, client, parallelism=parallelism)
            assert [o.status for o in outcomes] == ["done"] * 8
        finally:
            await client.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    assert transport.most == most
