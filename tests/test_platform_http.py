"""The local platform's HTTP contract, over a real loopback socket."""

from __future__ import annotations

import concurrent.futures
import json
import socket

import httpx
import pytest


def make(http, n: int, tag: str = "t") -> list[str]:
    ids = []
    for i in range(n):
        r = http.post("/v5/evaluations", json={"name": f"e{i}", "data": [{"q": i}], "tags": [tag]})
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


def test_cursor_paging_both_directions_and_the_empty_page(http) -> None:
    ids = make(http, 5)
    first = http.get("/v5/evaluations", params={"limit": 2}).json()
    assert ([e["id"] for e in first["items"]], first["has_more"], first["total"],
            first["limit"], first["object"]) == (ids[:2], True, 5, 2, "list")
    second = http.get("/v5/evaluations", params={"limit": 2, "starting_after": ids[1]}).json()
    assert [e["id"] for e in second["items"]] == ids[2:4] and second["has_more"] is True
    last = http.get("/v5/evaluations", params={"limit": 2, "starting_after": ids[3]}).json()
    assert [e["id"] for e in last["items"]] == ids[4:] and last["has_more"] is False
    past = http.get("/v5/evaluations", params={"limit": 2, "starting_after": ids[4]}).json()
    assert (past["items"], past["has_more"], past["total"]) == ([], False, 5)
    back = http.get("/v5/evaluations", params={"limit": 2, "ending_before": ids[4]}).json()
    assert [e["id"] for e in back["items"]] == ids[2:4] and back["has_more"] is True
    desc = http.get("/v5/evaluations", params={"limit": 3, "sort_order": "desc"}).json()
    assert [e["id"] for e in desc["items"]] == ids[::-1][:3]


def test_tag_filters_need_every_tag_in_either_query_form(http) -> None:
    both = http.post("/v5/evaluations", json={"name": "a", "data": [{}], "tags": ["x", "y"]})
    http.post("/v5/evaluations", json={"name": "b", "data": [{}], "tags": ["x"]})
    for params in ({"tags": "x,y"}, [("tags", "x"), ("tags", "y")]):
        found = http.get("/v5/evaluations", params=params).json()["items"]
        assert [e["id"] for e in found] == [both.json()["id"]]


def test_views_control_tasks(http) -> None:
    task = {"task_type": "chat_completion",
            "configuration": {"model": "a/b", "messages": [{"role": "user", "content": "x"}]}}
    http.post("/v5/evaluations", json={"name": "a", "data": [{}], "tasks": [task]})
    plain = http.get("/v5/evaluations").json()["items"][0]
    assert "tasks" not in plain
    viewed = http.get("/v5/evaluations", params={"views": "tasks"}).json()["items"][0]
    assert viewed["tasks"] == [task]


@pytest.mark.parametrize("method, path, body, status, detail", [
    ("get", "/v5/evaluations/evaluation_nope", None, 404,
     "evaluation 'evaluation_nope' not found"),
    ("patch", "/v5/datasets/dataset_nope", {"name": "x"}, 404, "dataset 'dataset_nope' not found"),
    ("post", "/v5/evaluations", {"name": "x", "dataset_id": "dataset_nope"}, 400,
     "dataset 'dataset_nope' does not exist"),
    ("post", "/v5/evaluation-groups", {"name": "g", "evaluation_ids": ["evaluation_nope"]}, 400,
     "evaluation 'evaluation_nope' does not exist"),
    ("get", "/v5/evaluations?starting_after=evaluation_nope", None, 400,
     "cursor 'evaluation_nope' is not a known id"),
])
def test_error_statuses(http, method, path, body, status, detail) -> None:
    response = http.request(method.upper(), path, json=body)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_malformed_bodies_are_422_with_locations(http) -> None:
    response = http.post("/v5/evaluations", json={"name": "x", "data": "rows"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data"]
    response = http.post("/v5/evaluations", json={"name": "x", "data": [{}], "tasks": [
        {"task_type": "chat_completion", "configuration": {"model": "a/b"}}]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "tasks", 0, "configuration",
                                                   "messages"]


def test_a_create_gets_the_same_answer_with_or_without_the_hot_path(http) -> None:
    """Creates sent as ``application/json`` are served by the hot path (evalspec.platform.
    hotpath); with a charset in the content type they go to the FastAPI route. Each answer is
    the same either way, errors included, and a refused create writes nothing."""
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": 1}]}).json()["id"]
    task = {"task_type": "chat_completion",
            "configuration": {"model": "a/b", "messages": [{"role": "user", "content": "x"}]}}
    bodies = [
        b'{"name": "ok", "data": [{"q": 1}], "tags": ["t"], "tasks": [%s]}'
        % json.dumps(task).encode(),
        b'{"name": "from-dataset", "dataset_id": "%s"}' % dataset.encode(),
        b'{"name": "x", "dataset_id": "dataset_nope"}',
        b'{"name": "x", "data": "rows"}',
        b'{"name": "x", "data": [{}], "tasks": [{"task_type": "chat_completion", '
        b'"configuration": {"model": "a/b"}}]}',
        b'{"name": "x", "data": [{}], "unknown": 1}',
        b'{"name": ',
        b'{"name": "x", "data": [{"q": NaN}]}',
        b"",
    ]

    def answer(body: bytes, content_type: str, headers: dict[str, str]) -> tuple[int, object]:
        response = http.post("/v5/evaluations", content=body,
                             headers={"content-type": content_type, **headers})
        found = response.json()
        if response.status_code == 200:
            for key in ("id", "created_at"):
                found.pop(key)
        return response.status_code, found

    for headers in ({}, {"x-api-key": ""}):
        for body in bodies:
            hot = answer(body, "application/json", headers)
            assert hot == answer(body, "application/json; charset=utf-8", headers), body
    assert [answer(b, "application/json", {})[0] for b in bodies] == [
        200, 200, 400, 422, 422, 422, 422, 422, 422]
    assert answer(bodies[0], "application/json", {"x-api-key": ""})[0] == 401
    assert answer(bodies[7], "application/json", {}) == (
        422, {"detail": "the body holds NaN or Infinity, which JSON cannot carry"})
    # The two good bodies, created twice in the comparison and once after it.
    listed = http.get("/v5/evaluations", params={"limit": 100}).json()["items"]
    assert sorted(e["name"] for e in listed) == sorted(["ok", "from-dataset"] * 3)


def test_a_create_sent_in_pieces_is_read_whole_and_one_cut_off_writes_nothing(
        http, platform, capfd) -> None:
    """The hot path reads a body that arrives in several parts; a client that leaves before
    its body ends gets no answer, and nothing is created or logged as an error."""
    pieces = iter([b'{"name": "pieces", ', b'"data": [{"q": 1}], ', b'"tags": ["t"]}'])
    response = http.post("/v5/evaluations", content=pieces,
                         headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["tags"]) == ("pieces", ["t"])

    host, port = platform.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /v5/evaluations HTTP/1.1\r\nhost: x\r\nx-api-key: k\r\n"
                     b"content-type: application/json\r\ncontent-length: 100\r\n\r\n"
                     b'{"name": "cut off", ')
    # The server handles the disconnect before this later request, on the same event loop.
    names = [e["name"] for e in http.get("/v5/evaluations").json()["items"]]
    assert names == ["pieces"]
    assert capfd.readouterr().err == ""


def test_group_patch_rules(http) -> None:
    [e] = make(http, 1)
    group = http.post("/v5/evaluation-groups", json={
        "name": "g", "evaluation_ids": [e], "metadata": {"a": 1}, "description": "d",
        "row_identifiers": {e: "id", "evaluation_other": "ignored"}}).json()
    assert group["row_identifiers"] == [
        {"object": "evaluation_group.row_identifier", "evaluation_id": e, "column_name": "id"}]
    assert group["evaluation_group_metadata"] == {"a": 1}
    empty = http.patch(f"/v5/evaluation-groups/{group['id']}", json={})
    assert (empty.status_code, empty.json()) == (400, {"detail": "nothing to update: the body "
                                                                 "is empty"})
    outside = http.patch(f"/v5/evaluation-groups/{group['id']}",
                         json={"row_identifiers": {e: "id", "evaluation_x": "id"}})
    assert (outside.status_code, outside.json()) == (400, {
        "detail": "row_identifiers names evaluation 'evaluation_x', which is not a member of "
                  "the group"})
    cleared = http.patch(f"/v5/evaluation-groups/{group['id']}", json={"row_identifiers": {}})
    assert cleared.json()["row_identifiers"] == []
    put = http.put(f"/v5/evaluation-groups/{group['id']}", json={"name": "g"}).json()
    assert (put["description"], put["metadata"], put["tags"]) == (None, {}, [])
    assert [m["evaluation_id"] for m in put["members"]] == [e]
    bad = http.put(f"/v5/evaluation-groups/{group['id']}", json={"evaluation_ids": [e, e]})
    assert bad.status_code == 400


def test_dataset_archive_is_not_idempotent_and_patch_needs_restore(http) -> None:
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": 1}]}).json()
    deleted = http.delete(f"/v5/datasets/{dataset['id']}")
    assert deleted.json() == {"id": dataset["id"], "deleted": True, "object": "dataset"}
    again = http.delete(f"/v5/datasets/{dataset['id']}")
    assert again.status_code == 400
    assert http.get(f"/v5/datasets/{dataset['id']}").status_code == 404
    assert http.get(f"/v5/datasets/{dataset['id']}?include_archived=true").status_code == 200
    assert http.patch(f"/v5/datasets/{dataset['id']}", json={"name": "x"}).status_code == 400
    restored = http.patch(f"/v5/datasets/{dataset['id']}", json={"restore": True}).json()
    assert restored["archived_at"] is None
    items = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()
    assert [i["data"] for i in items["items"]] == [{"q": 1}]


def test_dataset_item_update_and_delete_make_versions(http) -> None:
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": 1}, {"q": 2}]}).json()
    items = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()["items"]
    http.patch(f"/v5/dataset-items/{items[0]['id']}", json={"data": {"q": 10}})
    http.delete(f"/v5/dataset-items/{items[1]['id']}")
    assert http.delete(f"/v5/dataset-items/{items[1]['id']}").status_code == 400
    assert http.get(f"/v5/datasets/{dataset['id']}").json()["current_version_num"] == 3

    def at(version: int | None) -> list[object]:
        params = {"dataset_id": dataset["id"], **({"version": version} if version else {})}
        items = http.get("/v5/dataset-items", params=params).json()["items"]
        return [i["data"]["q"] for i in items]

    assert (at(1), at(2), at(3), at(None)) == ([1, 2], [10, 2], [10], [10])


def test_auth_and_account_isolation(tmp_path) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "p.db",
                                       api_keys={"key-a": "acme", "key-b": "globex"}))
    try:
        anonymous = httpx.get(f"{server.url}/v5/evaluations")
        assert (anonymous.status_code, anonymous.json()) == (
            401, {"detail": "missing API key: send it in the x-api-key header"})
        wrong = httpx.get(f"{server.url}/v5/evaluations", headers={"x-api-key": "nope"})
        assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid API key"})
        with httpx.Client(base_url=server.url, headers={"x-api-key": "key-a"}) as a, \
                httpx.Client(base_url=server.url, headers={"x-api-key": "key-b"}) as b:
            check_isolation(a, b)
    finally:
        server.stop()


def check_isolation(a: httpx.Client, b: httpx.Client) -> None:
    mine = a.post("/v5/evaluations", json={"name": "secret", "data": [{}]}).json()
    assert mine["created_by"]["id"] == "user_acme"
    assert b.get(f"/v5/evaluations/{mine['id']}").status_code == 404
    assert b.get("/v5/evaluations").json()["total"] == 0
    assert b.delete(f"/v5/evaluations/{mine['id']}").status_code == 404
    denied = b.get("/v5/evaluations", headers={"x-selected-account-id": "acme"})
    assert denied.status_code == 403
    assert a.get("/v5/evaluations").json()["total"] == 1


def test_objects_survive_a_restart(tmp_path) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    settings = Settings(db=tmp_path / "p.db")
    first = start_background(settings)
    created = httpx.post(f"{first.url}/v5/evaluations", headers={"x-api-key": "k"},
                         json={"name": "kept", "data": [{"q": 1}]}).json()
    first.stop()
    second = start_background(settings)
    try:
        again = httpx.get(f"{second.url}/v5/evaluations/{created['id']}",
                          headers={"x-api-key": "k"})
        assert again.json()["name"] == "kept"
    finally:
        second.stop()


def test_concurrent_writers_lose_nothing(platform) -> None:
    def create(i: int) -> str:
        with httpx.Client(base_url=platform.url, headers={"x-api-key": "k"}) as client:
            r = client.post("/v5/evaluations", json={"name": f"c{i}", "data": [{"i": i}],
                                                     "tags": ["conc"]})
            r.raise_for_status()
            return str(r.json()["id"])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(create, range(200)))
    assert len(set(ids)) == 200
    listed = httpx.get(f"{platform.url}/v5/evaluations", params={"tags": "conc", "limit": 1000},
                       headers={"x-api-key": "k"}).json()
    assert listed["total"] == 200
    assert sorted(e["name"] for e in listed["items"]) == sorted(f"c{i}" for i in range(200))


def test_group_views_and_include_deleted(http) -> None:
    [e] = make(http, 1)
    group = http.post("/v5/evaluation-groups", json={"name": "g", "evaluation_ids": [e]}).json()
    plain = http.get("/v5/evaluation-groups").json()["items"][0]
    assert "members" not in plain and plain["row_identifiers"] is None
    viewed = http.get("/v5/evaluation-groups", params={"views": "members"}).json()["items"][0]
    member = viewed["members"][0]
    assert (member["evaluation_id"], member["evaluation_group_id"], member["object"],
            member["evaluation_name"]) == (e, group["id"], "evaluation_group.member", "e0")
    assert viewed["row_identifiers"] is None  # only the views asked for
    both = http.get("/v5/evaluation-groups", params={"views": ["members", "row_identifiers"]})
    assert both.json()["items"][0]["row_identifiers"] == []
    http.delete(f"/v5/evaluation-groups/{group['id']}")
    assert http.get("/v5/evaluation-groups").json()["total"] == 0
    deleted = http.get("/v5/evaluation-groups", params={"include_deleted": "true",
                                                        "views": "members"}).json()["items"]
    assert deleted[0]["deleted_at"] is not None
    assert deleted[0]["members"][0]["deleted_at"] is not None
    assert http.get(f"/v5/evaluation-groups/{group['id']}").status_code == 404


def test_seed_001_create_response_shape(http) -> None:
    created = http.post("/v5/evaluations", json={
        "name": "n", "description": "d", "tags": ["t"], "data": [{}],
        "tasks": [{"task_type": "chat_completion", "alias": "a", "configuration": {
            "model": "openai/gpt-4o", "messages": [{}], "temperature": 0.5}}]}).json()
    assert {"id", "object", "name", "description", "created_at", "created_by_user_id",
            "archived_at", "tags", "datasets", "status", "tasks"} <= set(created)
    assert created["object"] == "evaluation" and created["status"] in ("running", "completed")
    assert created["tasks"][0]["configuration"]["temperature"] == 0.5


def test_single_items_and_the_tasks_sub_resource(http) -> None:
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": 1}]}).json()
    [item] = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()["items"]
    assert http.get(f"/v5/dataset-items/{item['id']}").json()["data"] == {"q": 1}
    evaluation = http.post("/v5/evaluations", json={"name": "e", "dataset_id": dataset["id"]})
    evaluation_id = evaluation.json()["id"]
    [eval_item] = http.get("/v5/evaluation-items",
                           params={"evaluation_id": evaluation_id}).json()["items"]
    assert eval_item["dataset_item_id"] == item["id"]
    assert http.get(f"/v5/evaluation-items/{eval_item['id']}").json() == eval_item
    question = {"task_type": "contributor_evaluation.question", "alias": "review",
                "configuration": {"question_id": "q1", "layout": {"children": []}}}
    added = http.post(f"/v5/evaluations/{evaluation_id}/tasks", json={"task": question})
    assert [t["alias"] for t in added.json()["tasks"]] == ["review"]
    again = http.post(f"/v5/evaluations/{evaluation_id}/tasks", json={"task": question})
    assert again.json() == {"detail": "task alias 'review' already exists"}
    llm = {"task_type": "chat_completion", "configuration": {"model": "a/b", "messages": []}}
    refused = http.post(f"/v5/evaluations/{evaluation_id}/tasks", json={"task": llm})
    assert refused.json() == {"detail": "only contributor_evaluation.question tasks can be added"}
    changed = http.patch(f"/v5/evaluations/{evaluation_id}/tasks/review",
                         json={"configuration": {"question_id": "q2",
                                                 "layout": {"children": []}}})
    assert changed.json()["tasks"][0]["configuration"] == {"question_id": "q2",
                                                          "layout": {"children": []}}
    # A layout the SDK's types refuse (a container needs its children) is refused.
    refused = http.patch(f"/v5/evaluations/{evaluation_id}/tasks/review",
                         json={"configuration": {"question_id": "q2", "layout": {}}})
    assert refused.status_code == 422
    unknown = http.patch(f"/v5/evaluations/{evaluation_id}/tasks/nope",
                         json={"configuration": {}})
    assert unknown.status_code == 400


def test_a_database_written_before_the_split_storage_is_upgraded_in_place(tmp_path) -> None:
    """Databases kept one JSON ``body`` per object until stored texts were split into public
    and private parts; opening one upgrades it, and every object reads back as it was."""
    import json
    import sqlite3

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    db = tmp_path / "old.db"
    old = sqlite3.connect(db)
    old.executescript("""
        CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT, name TEXT,
            archived_at TEXT, body TEXT NOT NULL);
        CREATE INDEX objects_by_kind ON objects (account, kind, seq);
        CREATE INDEX objects_by_parent ON objects (parent, kind, seq);
        CREATE TABLE tags (object_seq INTEGER NOT NULL, tag TEXT NOT NULL,
            PRIMARY KEY (tag, object_seq));
    """)
    creator = {"id": "user_default", "type": "user", "object": "identity"}
    dataset = {"id": "dataset_1", "object": "dataset", "name": "qa", "description": None,
               "tags": [], "created_at": "2026-11-01T00:00:00.000000Z", "created_by": creator,
               "archived_at": None, "current_version_num": 1}
    task = {"task_type": "chat_completion", "alias": "answer",
            "configuration": {"model": "openai/gpt-4o", "messages": []}}
    evaluation = {"id": "evaluation_1", "object": "evaluation", "name": "old", "description": None,
                  "tags": ["evalspec:old"], "metadata": {"k": "v"},
                  "created_at": "2026-11-01T00:00:00.000000Z", "created_by": creator,
                  "created_by_user_id": "user_default", "archived_at": None,
                  "status_reason": None, "error_count": 0, "tasks": [task],
                  "_dataset_ids": ["dataset_1"], "_item_count": 2, "_created": 1761955200.0}
    rows = {"id": "evaluation_1.rows", "rows": [{"q": 1}, {"q": 2}], "item_ids": [None, None],
            "files": None, "version_num": 1}
    for kind, body, parent in (("dataset", dataset, None), ("evaluation", evaluation, None),
                               ("evaluation.rows", rows, "evaluation_1")):
        old.execute("INSERT INTO objects (id, account, kind, parent, name, archived_at, body) "
                    "VALUES (?, 'default', ?, ?, ?, NULL, ?)",
                    (body["id"], kind, parent, body.get("name"), json.dumps(body)))
    old.execute("INSERT INTO tags VALUES (2, 'evalspec:old')")
    old.commit()
    old.close()

    server = start_background(Settings(db=db, complete_after=0.3))
    try:
        with httpx.Client(base_url=server.url, headers={"x-api-key": "k"}) as http:
            page = http.get("/v5/evaluations", params={"views": "tasks", "tags": "evalspec:old"})
            assert page.text.count('"status_reason"') == 1  # not kept twice in one object
            [listed] = page.json()["items"]
            assert listed == {
                **{k: v for k, v in evaluation.items() if not k.startswith("_")},
                "datasets": [dataset], "status": "completed", "status_reason": None,
                "progress": {"workflows": {"total": 1, "completed": 1, "failed": 0, "pending": 0},
                             "items": {"total": 2, "successful": 2, "failed": 0, "pending": 0,
                                       "failed_items": []}}}
            items = http.get("/v5/evaluation-items", params={"evaluation_id": "evaluation_1"})
            assert [i["data"]["q"] for i in items.json()["items"]] == [1, 2]
            renamed = http.patch("/v5/evaluations/evaluation_1", json={"name": "renamed"})
            assert renamed.status_code == 200, renamed.text
            assert http.get("/v5/evaluations/evaluation_1").json()["name"] == "renamed"
    finally:
        server.stop()
    reader = sqlite3.connect(db)
    try:
        columns = [r[1] for r in reader.execute("PRAGMA table_info(objects)")]
    finally:
        reader.close()  # Python 3.13 warns of a connection left to the collector
    assert "body" not in columns and {"public", "private"} <= set(columns)


@pytest.fixture
def keyed(tmp_path):
    """The platform as a server other people's clients reach: keys per account, a small
    body limit, v2 tasks of two accounts."""
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({
        "task_id": f"t{i}", "status": "pending", "project": {"id": "p1", "name": "P"},
        "created_at": "2025-01-01T00:00:00Z", "type": "chat",
        **({"account": "globex"} if i % 2 else {})}) + "\n" for i in range(6)))
    server = start_background(Settings(db=tmp_path / "k.db", max_body_bytes=4096,
                                       api_keys={"key-a": "default", "key-b": "globex"},
                                       tasks_file=tasks))
    yield server
    server.stop()


HOSTILE_BODIES = {
    "NaN": '{"name": "x", "data": [{"a": NaN}], "evaluation_ids": ["e"]}',
    "Infinity": '{"name": "x", "data": [{"a": -Infinity}], "evaluation_ids": ["e"]}',
    "1e999": '{"name": "x", "data": [{"a": 1e999}], "evaluation_ids": ["e"]}',
    "surrogate value": '{"name": "x\\ud800", "data": [{"a": 1}], "evaluation_ids": ["e"]}',
    "surrogate key": '{"name": "x", "data": [{"\\udc00": 1}], "evaluation_ids": ["e"]}',
    "NaN in a refused body": '{"name": 5, "data": NaN}',
    "nested deep": '{"name": "x", "data": [' + "[" * 900 + "]" * 900 + "]}",
    "not JSON": "{",
}


@pytest.mark.parametrize("path", ["/v5/evaluations", "/v5/datasets", "/v5/evaluation-groups"])
@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_a_hostile_body_is_a_4xx_in_the_apis_error_shape(keyed, path, case) -> None:
    response = httpx.post(f"{keyed.url}{path}", content=HOSTILE_BODIES[case],
                          headers={"x-api-key": "key-a", "content-type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert set(response.json()) == {"detail"}
    assert httpx.get(f"{keyed.url}{path}", headers={"x-api-key": "key-a"}).json()["total"] == 0


def test_a_filter_of_a_thousand_tags_is_refused(keyed) -> None:
    for path in ("/v5/evaluations", "/v5/datasets", "/v5/evaluation-groups"):
        many = [("tags", f"t{i}") for i in range(1001)]
        response = httpx.get(f"{keyed.url}{path}", params=many, headers={"x-api-key": "key-a"})
        assert (response.status_code, response.json()) == (
            422, {"detail": "at most 100 values in one filter, got 1,001"})
    joined = httpx.get(f"{keyed.url}/v5/evaluations", headers={"x-api-key": "key-a"},
                       params={"tags": ",".join(f"t{i}" for i in range(101))})
    assert joined.status_code == 422
    hundred = httpx.get(f"{keyed.url}/v5/evaluations", headers={"x-api-key": "key-a"},
                        params={"tags": ",".join(f"t{i}" for i in range(100))})
    assert hundred.status_code == 200


def test_a_body_over_the_limit_is_413_before_it_is_read(keyed) -> None:
    headers = {"x-api-key": "key-a", "content-type": "application/json"}
    body = json.dumps({"name": "big", "data": [{"q": "x" * 5000}]}).encode()
    expected = (413, {"detail": "the request body is larger than the 4,096 bytes this "
                                "platform accepts"})
    for path in ("/v5/evaluations", "/v5/datasets"):
        sized = httpx.post(f"{keyed.url}{path}", content=body, headers=headers)
        assert (sized.status_code, sized.json()) == expected

    def pieces():  # no Content-Length: counted as it streams in
        yield body[:3000]
        yield body[3000:]

    streamed = httpx.post(f"{keyed.url}/v5/evaluations", content=pieces(), headers=headers)
    assert (streamed.status_code, streamed.json()) == expected
    small = json.dumps({"name": "small", "data": [{"q": "x"}]}).encode()

    def small_pieces():
        yield small[:10]
        yield small[10:]

    fine = httpx.post(f"{keyed.url}/v5/evaluations", content=small_pieces(), headers=headers)
    assert fine.status_code == 200 and fine.json()["name"] == "small"
    names = [e["name"] for e in httpx.get(f"{keyed.url}/v5/evaluations",
                                          headers=headers).json()["items"]]
    assert names == ["small"]


def test_v2_tasks_are_scoped_to_the_keys_account(keyed) -> None:
    import base64

    def ids(key: str) -> list[str]:
        response = httpx.get(f"{keyed.url}/v2/tasks", params={"project_id": "p1"},
                             headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert all("account" not in t for t in response.json()["tasks"])
        return [t["task_id"] for t in response.json()["tasks"]]

    assert ids("key-a") == ["t0", "t2", "t4"]
    assert ids("key-b") == ["t1", "t3", "t5"]
    other = httpx.get(f"{keyed.url}/v2/task", params={"task_id": "t1"},
                      headers={"Authorization": "Bearer key-a"})
    assert other.status_code == 404
    for offset in ("-1", "1e3", " 2"):
        token = base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()
        response = httpx.get(f"{keyed.url}/v2/tasks",
                             params={"project_id": "p1", "next_token": token},
                             headers={"Authorization": "Bearer key-a"})
        assert (response.status_code, response.json()) == (
            400, {"status_code": 400, "error": "next_token is not valid"})


def test_the_committed_task_schema_is_the_sdks() -> None:
    from evalspec.platform import task_schema

    assert task_schema.SCHEMA_PATH.read_text(encoding="utf-8") == task_schema.text(), (
        "evalspec/platform/task_schema.json is out of date: run 'python -m "
        "evalspec.platform.task_schema > evalspec/platform/task_schema.json'")
    assert task_schema.QUESTION_SCHEMA_PATH.read_text(encoding="utf-8") == task_schema.text(
        "questions"), (
        "evalspec/platform/question_schema.json is out of date: run 'python -m "
        "evalspec.platform.task_schema questions > evalspec/platform/question_schema.json'")


REFUSED_TASKS = {
    "a metric the SDK does not know": (
        {"task_type": "metric", "configuration": {"type": "bleurt", "candidate": "item.a",
                                                  "reference": "item.b"}},
        ["body", "tasks", 0, "configuration"]),
    "a metric without its reference": (
        {"task_type": "metric", "configuration": {"type": "bleu", "candidate": "item.a"}},
        ["body", "tasks", 0, "configuration"]),
    "a question judge without question_id": (
        {"task_type": "auto_evaluation.question",
         "configuration": {"model": "openai/gpt-4o", "prompt": "p"}},
        ["body", "tasks", 0, "configuration", "question_id"]),
    "a contributor task without layout": (
        {"task_type": "contributor_evaluation.question", "configuration": {"question_id": "q"}},
        ["body", "tasks", 0, "configuration", "layout"]),
    "custom_function without function_source": (
        {"task_type": "custom_function", "configuration": {}},
        ["body", "tasks", 0, "configuration", "function_source"]),
    "guided_decoding of {}": (
        {"task_type": "auto_evaluation.guided_decoding", "configuration": {}},
        ["body", "tasks", 0, "configuration"]),
    "a temperature that is neither a number nor a locator": (
        {"task_type": "chat_completion", "configuration": {
            "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}],
            "temperature": "hot"}},
        ["body", "tasks", 0, "configuration", "temperature"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED_TASKS))
def test_a_task_the_sdks_types_refuse_is_refused(http, case) -> None:
    task, where = REFUSED_TASKS[case]
    response = http.post("/v5/evaluations", json={"name": "e", "data": [{"a": 1}],
                                                  "tasks": [task]})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == where
    assert http.get("/v5/evaluations").json()["total"] == 0


def test_a_task_update_is_held_to_its_types_schema(http) -> None:
    made = http.post("/v5/evaluations", json={"name": "e", "data": [{"a": "x"}], "tasks": [{
        "task_type": "chat_completion", "alias": "answer", "configuration": {
            "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "item.a"}],
            "temperature": "item.t"}}]}).json()
    bad = http.patch(f"/v5/evaluations/{made['id']}/tasks/answer",
                     json={"configuration": {"messages": []}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["msg"] == (
        "'model' is a required property")
    good = http.patch(f"/v5/evaluations/{made['id']}/tasks/answer", json={"configuration": {
        "model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}})
    assert good.status_code == 200


@pytest.mark.parametrize("mixed", [{"files": [{"f": "a"}]},
                                   {"dataset": {"name": "d2"}, "data": [{"q": 1}]}])
def test_a_create_body_mixing_two_sdk_shapes_is_refused(http, mixed) -> None:
    dataset = http.post("/v5/datasets", json={"name": "d", "data": [{"q": 1}]}).json()
    response = http.post("/v5/evaluations", json={"name": "e", "dataset_id": dataset["id"],
                                                  **mixed})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "files" if "files" in mixed else "dataset"]
    assert http.get("/v5/evaluations").json()["total"] == 0
