"""v2 Tasks from a JSONL file, read with httpx and with scaleapi's V2Api."""

from __future__ import annotations

import json

import httpx
import pytest

from evalspec.errors import LocatedError


def seed_task(i: int, status: str = "completed", project: str = "My Test Project",
              batch: str = "batch-a") -> dict:
    """A task shaped like seed 000 (annotations without id or type)."""
    return {
        "task_id": f"task_{i:05d}",
        "project": {"id": f"project_{project.lower().replace(' ', '_')}", "name": project},
        "batch": {"id": f"batch_{batch}", "name": batch},
        "status": status,
        "created_at": "2025-01-01T08:31:03.169Z",
        "completed_at": f"2025-01-{1 + i % 28:02d}T04:00:39.923Z" if status == "completed"
        else None,
        "threads": [{"id": "thread_0", "turns": [{"id": "turn_0", "messages": [
            {"content": {"text": "prompt"}, "role": "user", "source_id": "user",
             "annotations": []},
            {"content": {"text": "base"}, "role": "assistant", "source_id": "base_model",
             "model_parameters": {"model": "scale-gpt-1.5-turbo", "temperature": 0.9,
                                  "max_completion_tokens": 2048},
             "annotations": [{"key": "overall", "value": 5}, {"key": "safety", "value": 3}]},
        ], "annotations": [{"key": "selected_model_id", "value": "base_model"},
                           {"key": "likert_value", "value": 2}]}], "annotations": []}],
    }


@pytest.fixture
def tasks_platform(tmp_path):
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    tasks = [seed_task(i) for i in range(250)] + [seed_task(250, "pending")] + [
        seed_task(300 + i, project="Other") for i in range(3)]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    server = start_background(Settings(db=tmp_path / "p.db", tasks_file=path))
    yield server
    server.stop()


def get(server, **params):
    return httpx.get(f"{server.url}/v2/tasks", params=params,
                     headers={"Authorization": "Bearer live_test"})


def test_next_token_paging_and_filters(tasks_platform) -> None:
    seen, token = [], None
    while True:
        params = {"project_name": "My Test Project", "limit": 100}
        body = get(tasks_platform, **params, **({"next_token": token} if token else {})).json()
        seen.extend(t["task_id"] for t in body["tasks"])
        token = body.get("next_token")
        if not token:
            break
    assert seen == [f"task_{i:05d}" for i in range(251)]
    completed = get(tasks_platform, project_name="My Test Project", status="completed",
                    limit=100, completed_after="2025-01-27T00:00:00Z").json()
    assert all(t["completed_at"] >= "2025-01-27" for t in completed["tasks"])
    assert len(completed["tasks"]) == 16 and "next_token" not in completed
    pending = get(tasks_platform, batch_name="batch-a", status="pending").json()["tasks"]
    assert [(t["task_id"], t["threads"]) for t in pending] == [("task_00250", [])]


def test_expand_and_ids(tasks_platform) -> None:
    plain = get(tasks_platform, project_id="project_other", limit=1).json()["tasks"][0]
    assert (plain["project"], plain["batch"]) == ("project_other", "batch_batch-a")
    expanded = httpx.get(f"{tasks_platform.url}/v2/tasks",
                         params=[("project_id", "project_other"), ("expand", "project"),
                                 ("expand", "batch"), ("limit", "1")],
                         headers={"Authorization": "Bearer k"}).json()["tasks"][0]
    assert {k: expanded["project"][k] for k in ("id", "name")} == {"id": "project_other",
                                                                 "name": "Other"}
    assert set(expanded["project"]) == {"id", "name", "created_at", "types"}  # a Project
    assert expanded["batch"]["name"] == "batch-a" and "status" in expanded["batch"]
    message = expanded["threads"][0]["turns"][0]["messages"][1]
    assert message["annotations"][0] == {"key": "overall", "value": 5,
                                         "id": "thread_0.turn_0.m1.annotation0",
                                         "type": "integer"}


def test_v2_errors_have_their_own_shape(tasks_platform) -> None:
    no_key = httpx.get(f"{tasks_platform.url}/v2/tasks", params={"project_name": "x"})
    assert (no_key.status_code, no_key.json()) == (
        401, {"status_code": 401, "error": "missing API key: send Authorization: Bearer <key>"})
    no_selector = get(tasks_platform)
    assert no_selector.json() == {
        "status_code": 400,
        "error": "give one of project_id, project_name, batch_id or batch_name"}
    assert get(tasks_platform, project_name="My Test Project",
               next_token="garbage").status_code == 400
    # A project or batch the account does not have is not a project without tasks.
    for selector in ("project_name", "project_id", "batch_name", "batch_id"):
        unknown = get(tasks_platform, **{selector: "x"})
        assert (unknown.status_code, unknown.json()) == (404, {
            "status_code": 404, "error": f"{selector.split('_')[0]} 'x' not found"})


def test_scaleapi_v2_client_pages_through_tasks(tasks_platform) -> None:
    from scaleapi.api_client.v2 import ApiClient, Configuration, V2Api

    api = V2Api(ApiClient(Configuration(host=tasks_platform.url, access_token="live_test")))
    ids, token = [], None
    while True:
        response = api.get_tasks(project_name="My Test Project", limit=100, next_token=token)
        ids.extend(t.task_id for t in response.tasks)
        token = response.next_token
        if not token:
            break
    assert len(ids) == 251 and len(set(ids)) == 251
    first = api.get_tasks(project_name="My Test Project", limit=1).tasks[0]
    annotation = first.threads[0].turns[0].messages[1].annotations[0]
    assert annotation.actual_instance.key == "overall"


def test_bad_tasks_file_is_located(tmp_path) -> None:
    from evalspec.platform.tasks_v2 import load_tasks

    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(seed_task(1)) + "\n{\"task_id\": \"t3\"}\n")
    with pytest.raises(LocatedError) as exc:
        load_tasks(path)
    assert exc.value.location.line == 2
    assert exc.value.message == "status must be one of pending, completed, canceled, error"


def test_single_task(tasks_platform) -> None:
    headers = {"Authorization": "Bearer k"}
    task = httpx.get(f"{tasks_platform.url}/v2/task", params={"task_id": "task_00007"},
                     headers=headers).json()
    assert (task["task_id"], task["project"]) == ("task_00007", "project_my_test_project")
    missing = httpx.get(f"{tasks_platform.url}/v2/task", params={"task_id": "nope"},
                        headers=headers)
    assert missing.json() == {"status_code": 404, "error": "task 'nope' not found"}


def test_scaleapi_v2_reads_projects_batches_and_expanded_tasks(tasks_platform) -> None:
    """Through scaleapi's generated v2 client: each response parses as its own types."""
    from scaleapi.api_client.v2 import ApiClient, Configuration, V2Api

    api = V2Api(ApiClient(Configuration(host=tasks_platform.url, access_token="live_test")))
    projects = api.get_projects().projects
    assert sorted(p.name for p in projects) == ["My Test Project", "Other"]
    assert api.get_project(project_name="Other").id == "project_other"
    batches = api.get_batches(project_name="My Test Project").batches
    assert [(b.name, b.status.value) for b in batches] == [("batch-a", "in_progress")]
    batch = api.get_batch(batch_name="batch-a", expand=["project"])
    assert batch.project.actual_instance.name == "My Test Project"
    expanded = api.get_tasks(project_name="Other", limit=1, expand=["project", "batch"])
    [task] = expanded.tasks
    assert task.project.actual_instance.name == "Other"
    assert api.get_task(task_id=task.task_id, expand=["project"]).task_id == task.task_id
    missing = httpx.get(f"{tasks_platform.url}/v2/project", params={"project_name": "nope"},
                        headers={"Authorization": "Bearer k"})
    assert (missing.status_code, missing.json()) == (
        404, {"status_code": 404, "error": "project 'nope' not found"})


def test_scaleapi_scale_client_get_tasks_reads_the_v1_envelope(tasks_platform) -> None:
    """scaleapi's ScaleClient (the older client) pointed at the local platform's /v1: its
    get_tasks pages through the docs envelope; a filter the local platform does not apply is
    refused rather than ignored."""
    import scaleapi

    client = scaleapi.ScaleClient("live_test", api_instance_url=f"{tasks_platform.url}/v1")
    tasks = list(client.get_tasks(project_name="My Test Project", limit=100))
    assert len(tasks) == 251 and len({t.id for t in tasks}) == 251
    assert client.get_tasks_count(project_name="My Test Project",
                                  status=scaleapi.TaskStatus.Pending) == 1
    page = client.tasks(project="Other", limit=2)
    assert (len(page.docs), page.total, page.has_more, page.next_token is not None) == (
        2, 3, True, True)
    with pytest.raises(scaleapi.exceptions.ScaleException, match="does not filter on type"):
        client.tasks(project="Other", type="imageannotation")


def test_model_parameters_only_when_opts_asks_and_unknown_opts_are_refused(
        tasks_platform) -> None:
    """Seed 000: opts lists the properties to include; scaleapi's own Option values."""
    from scaleapi.api_client.v2 import ApiClient, Configuration, V2Api
    from scaleapi.api_client.v2.models.option import Option

    api = V2Api(ApiClient(Configuration(host=tasks_platform.url, access_token="live_test")))

    def message(**kwargs):
        [task] = api.get_tasks(project_name="Other", limit=1, **kwargs).tasks
        return task.threads[0].turns[0].messages[1]

    assert message().model_parameters is None
    assert message(opts=[Option.MODEL_PARAMETERS]).model_parameters.model == (
        "scale-gpt-1.5-turbo")
    single = api.get_task(task_id="task_00300", opts=[Option.MODEL_PARAMETERS])
    assert single.threads[0].turns[0].messages[1].model_parameters.temperature == 0.9
    refused = get(tasks_platform, project_name="Other", opts="everything")
    assert (refused.status_code, refused.json()["error"]) == (400, (
        "opts: unknown option 'everything'; options: annotation_details, attachment_details, "
        "model_parameters, submissions"))
