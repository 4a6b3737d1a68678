"""evalspec's client against the local platform: over loopback, in-process, and under faults."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from evalspec.client.config import (
    PRODUCTION_URL,
    Credentials,
    Endpoint,
    resolve_endpoint,
    sgp_client,
    tasks_client,
)
from evalspec.client.errors import NotFoundError
from evalspec.client.http import create_once
from evalspec.errors import UsageError

CREDS = Credentials(api_key="k", account_id="default")


def run(coro):
    return asyncio.run(coro)


async def collect(iterator):
    return [item async for item in iterator]


def test_paging_over_a_real_socket(platform, tmp_path) -> None:
    async def scenario():
        client = sgp_client(Endpoint(platform.url, "test"), CREDS, tmp_path)
        for i in range(25):
            await client.create_evaluation({"name": f"e{i}", "data": [{"q": i}],
                                            "tags": ["evalspec:p", "x"]})
        await client.create_evaluation({"name": "other", "data": [{}], "tags": ["x"]})
        before = client.core.requests_sent
        owned = await collect(client.list_evaluations(tags=["evalspec:p"], views=["tasks"],
                                                      page_size=10))
        pages = client.core.requests_sent - before
        await client.aclose()
        return owned, pages

    owned, pages = run(scenario())
    assert [e["name"] for e in owned] == [f"e{i}" for i in range(25)]
    assert pages == 3  # 10 + 10 + 5, and the last page says has_more: false


def test_typed_errors_from_the_platform(platform, tmp_path) -> None:
    async def scenario():
        client = sgp_client(Endpoint(platform.url, "test"), CREDS, tmp_path)
        try:
            await client.get_evaluation("evaluation_missing")
        finally:
            await client.aclose()

    with pytest.raises(NotFoundError) as exc:
        run(scenario())
    assert str(exc.value) == ("GET /v5/evaluations/evaluation_missing failed with 404: "
                              "evaluation 'evaluation_missing' not found")


def test_local_endpoint_runs_in_process_and_persists(tmp_path) -> None:
    async def create():
        client = sgp_client(Endpoint("local", "--endpoint"), Credentials(), tmp_path)
        made = await client.create_evaluation({"name": "local-one", "data": [{"q": 1}]})
        await client.aclose()
        return made

    async def read(evaluation_id):
        client = sgp_client(Endpoint("local", "--endpoint"), Credentials(), tmp_path)
        found = await client.get_evaluation(evaluation_id)
        await client.aclose()
        return found

    made = run(create())
    assert (tmp_path / ".evalspec" / "local.db").is_file()
    assert run(read(made["id"]))["name"] == "local-one"


def test_the_embedded_platform_takes_model_quality_from_the_environment(
        tmp_path, monkeypatch) -> None:
    """EVALSPEC_LOCAL_MODEL_QUALITY (README: "the emulator's truth") sets how often a model's
    answers on the embedded platform echo the reference: always at 1, never at 0."""
    reference = "the cat sat on the mat"
    body = {"name": "q", "data": [{"question": f"q{i}", "reference": reference}
                                  for i in range(5)],
            "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
                "model": "openai/gpt-4o",
                "messages": [{"role": "user", "content": "item.question"}]}}]}

    async def scenario():
        clients = []
        for quality in ("1", "0"):
            monkeypatch.setenv("EVALSPEC_LOCAL_MODEL_QUALITY", f"openai/*={quality}")
            root = tmp_path / quality
            root.mkdir()
            clients.append(sgp_client(Endpoint("local", "--endpoint"), Credentials(), root))
        made = [await client.create_evaluation(body) for client in clients]
        answers = []
        for client, evaluation in zip(clients, made, strict=True):
            while (await client.get_evaluation(evaluation["id"]))["status"] != "completed":
                await asyncio.sleep(0.05)  # the embedded platform completes in about 2 s
            items = await collect(client.list_evaluation_items(evaluation["id"]))
            answers.append([item["data"]["answer"] for item in items])
            await client.aclose()
        return answers

    best, worst = run(scenario())
    assert best == [reference] * 5
    assert len(worst) == 5 and reference not in worst


def test_creates_under_dropped_connections_make_exactly_one_object(tmp_path) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "p.db",
                                       faults=Faults(drop_rate=0.5, fail_rate=0.2, seed=3)))

    async def scenario():
        client = sgp_client(Endpoint(server.url, "test"), CREDS, tmp_path)

        async def make(name):
            async def create():
                return await client.create_evaluation({"name": name, "data": [{}],
                                                       "tags": ["drop-test"]})

            async def lookup():
                found = [e async for e in client.list_evaluations(tags=["drop-test"])
                         if e["name"] == name]
                return found[0] if found else None

            return await create_once(create, lookup, attempts=10)

        made = await asyncio.gather(*(make(f"e{i}") for i in range(30)))
        listed = await collect(client.list_evaluations(tags=["drop-test"]))
        await client.aclose()
        return made, listed

    try:
        made, listed = run(scenario())
    finally:
        server.stop()
    assert sorted(e["name"] for e in listed) == sorted(f"e{i}" for i in range(30))
    assert sorted(e["id"] for e in made) == sorted(e["id"] for e in listed)


def test_v2_tasks_client_pages(tmp_path) -> None:
    import json

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({"task_id": f"t{i}", "project": {"id": "p", "name": "P"},
                                        "status": "pending"}) + "\n" for i in range(7)))
    server = start_background(Settings(db=tmp_path / "p.db", tasks_file=path))

    async def scenario():
        client = tasks_client(Endpoint(server.url, "test"),
                              Credentials(scale_api_key="live_x"), tmp_path)
        pages = [(len(tasks), token is not None)
                 async for tasks, token in client.pages({"project_name": "P", "limit": 3})]
        await client.aclose()
        return pages

    try:
        assert run(scenario()) == [(3, True), (3, True), (1, False)]
    finally:
        server.stop()


def test_endpoint_resolution_order() -> None:
    env = {"EVALSPEC_ENDPOINT": "https://a.test", "SGP_CLIENT_BASE_URL": "https://b.test",
           "SGP_API_KEY": "k"}
    assert resolve_endpoint("local", "https://c.test", env) == Endpoint("local", "--endpoint")
    assert resolve_endpoint(None, "https://c.test", env).url == "https://a.test"
    del env["EVALSPEC_ENDPOINT"]
    assert resolve_endpoint(None, "https://c.test", env).source == "SGP_CLIENT_BASE_URL"
    del env["SGP_CLIENT_BASE_URL"]
    assert resolve_endpoint(None, "https://c.test/", env) == Endpoint("https://c.test",
                                                                      "evalspec.yaml")
    assert resolve_endpoint(None, None, env) == Endpoint(PRODUCTION_URL, "SGP_API_KEY is set")
    with pytest.raises(UsageError) as exc:
        resolve_endpoint(None, None, {})
    assert str(exc.value) == (
        "no platform endpoint: pass --endpoint URL (or --endpoint local for the embedded "
        "platform), set EVALSPEC_ENDPOINT, or set 'endpoint' in evalspec.yaml")
    with pytest.raises(UsageError) as creds:
        resolve_endpoint("https://user:pw@x.test", None, {})
    assert str(creds.value) == ("--endpoint: the endpoint URL must not contain credentials; "
                                "use SGP_API_KEY")
    for given, source in ((("ftp://x.test", None, {}), "--endpoint"),
                          ((None, None, {"EVALSPEC_ENDPOINT": "ftp://x.test"}),
                           "EVALSPEC_ENDPOINT"),
                          ((None, None, {"SGP_CLIENT_BASE_URL": "ftp://x.test"}),
                           "SGP_CLIENT_BASE_URL"),
                          ((None, "ftp://x.test", {}), "evalspec.yaml")):
        with pytest.raises(UsageError) as bad:
            resolve_endpoint(*given)
        assert str(bad.value) == f"{source}: 'ftp://x.test' is not 'local' or an http(s) URL"


def test_credentials_come_from_the_environment_given_and_travel_as_headers(tmp_path) -> None:
    env = {"SGP_API_KEY": "sgp_k", "SGP_ACCOUNT_ID": "acme", "SCALE_API_KEY": "scale_k"}
    assert Credentials.from_env(env) == Credentials("sgp_k", "acme", "scale_k")
    assert Credentials.from_env({"SGP_API_KEY": "", "SGP_ACCOUNT_ID": ""}) == Credentials()
    seen = []

    def handler(request):
        seen.append({k: v for k, v in request.headers.items()
                     if k in ("x-api-key", "x-selected-account-id", "authorization")})
        return httpx.Response(200, json={"items": [], "has_more": False, "tasks": []})

    endpoint = Endpoint("https://platform.test", "test")
    transport = httpx.MockTransport(handler)
    v5 = sgp_client(endpoint, Credentials.from_env(env), tmp_path, transport=transport)
    v2 = tasks_client(endpoint, Credentials.from_env(env), tmp_path, transport=transport)
    run(collect(v5.list_evaluations()))
    run(collect(v2.pages({"project_name": "p"})))
    assert seen == [{"x-api-key": "sgp_k", "x-selected-account-id": "acme"},
                    {"authorization": "Bearer scale_k"}]
    run(v5.aclose())
    run(v2.aclose())


def test_a_remote_endpoint_needs_a_key(tmp_path) -> None:
    with pytest.raises(UsageError) as exc:
        sgp_client(Endpoint("https://x.test", "--endpoint"), Credentials(), tmp_path)
    assert str(exc.value) == ("SGP_API_KEY is not set; it is needed for https://x.test "
                              "(endpoint from --endpoint)")
