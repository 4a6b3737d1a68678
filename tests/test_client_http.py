"""Client edge cases with httpx.MockTransport: retries, Retry-After, lost answers, redaction."""

from __future__ import annotations

import asyncio
import random
import ssl

import httpx
import pytest

from evalspec.client.errors import (
    APIError,
    BadRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
    status_error,
)
from evalspec.client.http import HttpCore, create_once
from evalspec.client.retry import RetryPolicy, parse_retry_after

KEY = "sk-live-very-secret"


def core(handler, **kwargs):
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(random=random.Random(1), **kwargs)
    client = HttpCore("https://api.example.test", {"x-api-key": KEY},
                      transport=httpx.MockTransport(handler), retry=policy, secrets=[KEY],
                      sleep=sleep)
    return client, sleeps


def scripted(*responses):
    """A handler answering with each response in turn; exceptions are raised."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, calls


def run(coro):
    return asyncio.run(coro)


def test_https_endpoints_verify_against_the_ca_bundle_and_plain_http_loads_none() -> None:
    # httpcore's pool keeps the context httpx built (a private attribute: no public one shows
    # it). A plain-http endpoint never does TLS, so its client skips the 40 ms bundle load.
    def context(url: str):
        return HttpCore(url, {})._client._transport._pool._ssl_context

    secure = context("https://api.example.test")
    assert secure.verify_mode == ssl.CERT_REQUIRED and secure.check_hostname
    assert secure.cert_store_stats()["x509_ca"] > 0
    plain = context("http://127.0.0.1:8080")
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0


def test_get_is_retried_on_503_then_succeeds() -> None:
    handler, calls = scripted(httpx.Response(503, json={"detail": "busy"}),
                              httpx.Response(200, json={"ok": True}))
    client, sleeps = core(handler)
    assert run(client.request("GET", "/v5/x")) == {"ok": True}
    assert len(calls) == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.25


def test_an_answer_without_a_body_reads_as_none() -> None:
    handler, _ = scripted(httpx.Response(204))
    client, _ = core(handler)
    assert run(client.request("DELETE", "/v5/datasets/dataset_1")) is None


def test_each_retry_is_logged_for_debugging(caplog) -> None:
    """For a library user who turns on logging: the ``evalspec.client`` logger says at DEBUG
    what is retried, after how long, and why."""
    handler, _ = scripted(httpx.Response(503, json={"detail": "busy"}),
                          httpx.Response(200, json={"ok": True}))
    client, sleeps = core(handler)
    with caplog.at_level("DEBUG", logger="evalspec.client"):
        run(client.request("GET", "/v5/x"))
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("evalspec.client", "DEBUG", f"retrying GET /v5/x in {sleeps[0]:.2f}s (attempt 1): "
                                     "GET /v5/x failed with 503: busy")]


def test_retry_after_is_honoured() -> None:
    handler, calls = scripted(httpx.Response(429, headers={"Retry-After": "3"},
                                             json={"detail": "slow down"}),
                              httpx.Response(200, json={}))
    client, sleeps = core(handler)
    run(client.request("POST", "/v5/evaluations", json={}))  # a 429 create is safe to retry
    assert sleeps == [3.0] and len(calls) == 2


def test_attempts_are_bounded() -> None:
    handler, calls = scripted(httpx.Response(503, json={"detail": "down"}))
    client, sleeps = core(handler, max_attempts=4)
    with pytest.raises(ServerError) as exc:
        run(client.request("GET", "/v5/evaluations"))
    assert str(exc.value) == ("GET /v5/evaluations failed with 503: down (after 4 attempts)")
    assert len(calls) == 4 and len(sleeps) == 3
    assert all(s <= 0.25 * 2 ** i for i, s in enumerate(sleeps))


def test_total_time_is_bounded() -> None:
    policy = RetryPolicy(max_total=10)
    assert policy.allows(1, elapsed=2, wait=8) is True
    assert policy.allows(1, elapsed=2, wait=8.5) is False
    assert RetryPolicy(max_attempts=3).allows(3, 0, 0) is False


def test_a_create_whose_answer_is_lost_is_not_retried() -> None:
    for failure in (httpx.Response(500, json={"detail": "oops"}),
                    httpx.RemoteProtocolError("Server disconnected without sending a response."),
                    httpx.ReadTimeout("timed out")):
        handler, calls = scripted(failure, httpx.Response(200, json={}))
        client, _ = core(handler)
        with pytest.raises(OutcomeUnknownError) as exc:
            run(client.request("POST", "/v5/evaluations", json={"name": "x"}))
        assert len(calls) == 1
        assert str(exc.value).endswith("the request may have taken effect")


def test_a_create_that_never_connected_is_retried() -> None:
    handler, calls = scripted(httpx.ConnectError("connection refused"),
                              httpx.Response(200, json={"id": "e1"}))
    client, _ = core(handler)
    assert run(client.request("POST", "/v5/evaluations", json={})) == {"id": "e1"}
    assert len(calls) == 2


def test_a_dropped_read_is_retried() -> None:
    handler, calls = scripted(httpx.RemoteProtocolError("dropped"),
                              httpx.Response(200, json={"items": []}))
    client, _ = core(handler)
    assert run(client.request("GET", "/v5/evaluations")) == {"items": []}
    handler, calls = scripted(httpx.ReadTimeout("timed out"), httpx.ReadTimeout("timed out"))
    client, _ = core(handler, max_attempts=2)
    with pytest.raises(TransportError) as lost:
        run(client.request("GET", "/v5/evaluations"))
    assert (str(lost.value), len(calls)) == (
        "GET /v5/evaluations: ReadTimeout: timed out (endpoint https://api.example.test) "
        "(after 2 attempts)", 2)


def test_client_errors_are_typed_and_not_retried() -> None:
    handler, calls = scripted(httpx.Response(404, json={"detail": "evaluation 'x' not found"}))
    client, _ = core(handler)
    with pytest.raises(NotFoundError) as exc:
        run(client.request("GET", "/v5/evaluations/x"))
    assert str(exc.value) == "GET /v5/evaluations/x failed with 404: evaluation 'x' not found"
    assert len(calls) == 1
    handler, _ = scripted(httpx.Response(422, json={"detail": [
        {"loc": ["body", "name"], "msg": "Input should be a valid string", "type": "x"}]}))
    client, _ = core(handler)
    with pytest.raises(BadRequestError) as bad:
        run(client.request("POST", "/v5/evaluations", json={"name": 1}))
    assert str(bad.value) == ("POST /v5/evaluations failed with 422: name: Input should be a "
                              "valid string")


def test_rate_limit_error_after_retries_carries_retry_after() -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "1"}, json={}))
    client, _ = core(handler, max_attempts=2)
    with pytest.raises(RateLimitError) as exc:
        run(client.request("GET", "/v5/evaluations"))
    assert exc.value.retry_after == 1.0


def test_credentials_never_appear_in_errors_or_reprs() -> None:
    from evalspec.client.errors import AuthenticationError

    handler, _ = scripted(httpx.Response(401, text=f"bad key {KEY}"))
    client, _ = core(handler)
    with pytest.raises(AuthenticationError) as exc:
        run(client.request("GET", "/v5/evaluations"))
    assert KEY not in str(exc.value) and "***" in str(exc.value)
    assert str(exc.value).endswith("(check SGP_API_KEY)")
    assert KEY not in repr(client)
    from evalspec.client.config import Credentials

    creds = Credentials(api_key=KEY, account_id="acme", scale_api_key=KEY)
    assert KEY not in repr(creds)


def test_the_clients_evalspec_builds_redact_both_keys(tmp_path) -> None:
    """sgp_client and tasks_client hand both keys to the request engine for redaction: a
    server that echoes either key in an error never gets it printed."""
    from evalspec.client.config import Credentials, Endpoint, sgp_client, tasks_client

    v5_key, v2_key = "sgp_live_0123456789", "scale_live_9876543210"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"detail": f"keys {v5_key} and {v2_key} refused"})

    creds = Credentials(api_key=v5_key, scale_api_key=v2_key)
    endpoint = Endpoint("https://platform.test", "test")
    transport = httpx.MockTransport(echo)
    clients = [sgp_client(endpoint, creds, tmp_path, transport=transport),
               tasks_client(endpoint, creds, tmp_path, transport=transport)]
    for client in clients:
        with pytest.raises(APIError) as exc:
            run(client.core.request("GET", "/v5/evaluations"))
        assert str(exc.value) == ("GET /v5/evaluations failed with 400: keys *** and *** "
                                  "refused")
        run(client.aclose())


def test_create_once_adopts_what_a_lost_create_made() -> None:
    made: list[str] = []

    async def create() -> str:
        made.append("x")
        raise OutcomeUnknownError("lost")

    async def found() -> str | None:
        return "adopted"

    assert run(create_once(create, found)) == "adopted" and made == ["x"]

    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OutcomeUnknownError("lost")
        return "created"

    async def nothing() -> None:
        return None

    assert run(create_once(flaky, nothing)) == "created" and len(attempts) == 2

    tries: list[str] = []

    async def always_lost() -> str:
        tries.append("create")
        raise OutcomeUnknownError(f"lost {tries.count('create')}")

    async def looked() -> None:
        tries.append("lookup")

    with pytest.raises(OutcomeUnknownError, match="^lost 4$"):
        run(create_once(always_lost, looked))
    assert tries == ["create", "lookup"] * 4  # four tries by default, each looked up after
    tries.clear()
    with pytest.raises(OutcomeUnknownError, match="^lost 1$"):
        run(create_once(always_lost, looked, attempts=1))
    assert tries == ["create", "lookup"]


def test_an_unexpected_error_body_keeps_its_status_request_id_and_a_redacted_excerpt() -> None:
    body = {"message": f"upstream rejected key {KEY}", "code": "E42", "trace": "x" * 1000}
    handler, _ = scripted(httpx.Response(418, json=body, headers={"x-request-id": "req_7"}))
    client, _ = core(handler)
    from evalspec.client.errors import APIStatusError

    with pytest.raises(APIStatusError) as caught:
        run(client.request("GET", "/v5/x"))
    assert caught.value.status_code == 418
    message = str(caught.value)
    assert message.startswith('GET /v5/x failed with 418: unexpected body: {"message": '
                              '"upstream rejected key ')
    assert KEY not in message and "(request id req_7)" in message
    assert len(message) < 450  # a bounded excerpt, not the whole body
    handler, _ = scripted(httpx.Response(500, text="<html>Bad gateway</html>"))
    client, _ = core(handler, max_attempts=1)
    with pytest.raises(ServerError) as server:
        run(client.request("GET", "/v5/x"))
    assert str(server.value) == ("GET /v5/x failed with 500: unexpected body: "
                                 "<html>Bad gateway</html>")


def test_retry_after_ms_is_honoured_before_retry_after() -> None:
    handler, calls = scripted(
        httpx.Response(429, json={"detail": "slow"}, headers={"retry-after-ms": "1500",
                                                              "retry-after": "9"}),
        httpx.Response(200, json={"ok": True}))
    client, sleeps = core(handler)
    assert run(client.request("GET", "/v5/x")) == {"ok": True}
    assert sleeps == [1.5]


def test_the_next_page_is_asked_for_while_the_reader_handles_this_one() -> None:
    """Paging overlaps the reader's work on a page with the next page's round trip; a reader
    that stops early leaves no request behind it."""
    pages = [httpx.Response(200, json={"items": [{"id": "a"}, {"id": "b"}], "has_more": True}),
             httpx.Response(200, json={"items": [{"id": "c"}], "has_more": True}),
             httpx.Response(200, json={"items": [{"id": "d"}], "has_more": False})]
    handler, calls = scripted(*pages)
    client, _ = core(handler)

    async def read_all() -> list[tuple[str, int]]:
        seen = []
        async for item in client.iterate("/v5/evaluations", {}):
            await asyncio.sleep(0.01)  # the reader's own work on the item
            seen.append((item["id"], len(calls)))
        return seen

    # While "a" was handled, page 2 had been asked for; page 3 while "c" was.
    assert run(read_all()) == [("a", 2), ("b", 2), ("c", 3), ("d", 3)]
    assert client.requests_sent == 3
    from evalspec import __version__

    assert [(c.headers["user-agent"], c.headers["accept"], c.url.host) for c in calls] == [
        (f"evalspec/{__version__}", "application/json", "api.example.test")] * 3

    handler, calls = scripted(*pages)
    client, _ = core(handler)

    async def first_only() -> str:
        items = client.iterate("/v5/evaluations", {})
        first = await anext(items)
        await items.aclose()
        await asyncio.sleep(0.05)
        return str(first["id"])

    assert run(first_only()) == "a"
    assert [c.url.params.get("starting_after") for c in calls] in ([None], [None, "b"])

    finished: list[str] = []

    async def slow_second_page(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("starting_after")
        if after is not None:
            await asyncio.sleep(0.2)  # still on its way when the reader stops
            finished.append(after)
        return pages[0 if after is None else 1]

    client = HttpCore("https://platform.test", {}, transport=httpx.MockTransport(
        slow_second_page))

    async def stop_early() -> None:
        items = client.iterate("/v5/evaluations", {})
        await anext(items)
        await items.aclose()
        await asyncio.sleep(0.4)  # long enough for an abandoned request to have finished

    run(stop_early())
    assert finished == []  # the request for page 2 was cancelled, not left to run


def test_paging_goes_on_until_an_empty_page_when_has_more_is_absent() -> None:
    pages = [httpx.Response(200, json={"items": [{"id": "a"}, {"id": "b"}]}),
             httpx.Response(200, json={"items": [{"id": "c"}]}),
             httpx.Response(200, json={"items": []})]
    handler, calls = scripted(*pages)
    client, _ = core(handler)

    async def collect() -> list[str]:
        return [item["id"] async for item in client.iterate("/v5/evaluations", {})]

    assert run(collect()) == ["a", "b", "c"]
    assert [c.url.params.get("starting_after") for c in calls] == [None, "b", "c"]
    assert all(c.headers["accept"] == "application/json" for c in calls)
    assert calls[0].headers["user-agent"].startswith("evalspec/")


def test_retry_waits_grow_exponentially_up_to_a_ceiling_and_honour_retry_after() -> None:
    class Longest(random.Random):  # full jitter at its top: the ceiling itself
        def uniform(self, a: float, b: float) -> float:
            return b

    class Shortest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return a

    policy = RetryPolicy(random=Longest())
    assert [policy.delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(1, retry_after=3.0) == 3.0  # the server's wait wins when longer
    assert policy.delay(6, retry_after=3.0) == 8.0  # and ours when ours is
    assert RetryPolicy(random=Shortest()).delay(3, retry_after=100.0) == 60.0  # max_total


def test_retry_after_is_read_from_milliseconds_first_then_seconds() -> None:
    cases = {("2", None): 2.0, (None, "1500"): 1.5, ("2", "500"): 0.5, ("2", "soon"): 2.0,
             ("2", "-5"): 2.0, ("2", "0"): 0.0, ("0", None): 0.0, ("-1", None): None,
             (None, None): None, ("Wed, 21 Oct 2015 07:28:00 GMT", None): None}
    assert {k: parse_retry_after(*k) for k in cases} == cases


def test_which_statuses_are_retried() -> None:
    statuses = [400, 401, 403, 404, 408, 409, 422, 429, 499, 500, 501, 502, 503, 504, 599]
    assert [s for s in statuses if RetryPolicy().retryable_status(s)] == [
        408, 409, 429, 500, 501, 502, 503, 504, 599]


@pytest.mark.parametrize("path, status, body, message", [
    ("/v5/evaluations", 422, {"detail": [
        {"loc": ["body", "tasks", 0, "alias"], "msg": "too long"},
        {"loc": ["body"], "msg": "no rows"}, {"msg": "odd"}, "plain text"]},
     "POST /v5/evaluations failed with 422: tasks.0.alias: too long; no rows; odd; plain text"),
    ("/v5/evaluations", 400, {"detail": "dataset 'x' does not exist"},
     "POST /v5/evaluations failed with 400: dataset 'x' does not exist"),
    ("/v2/tasks", 400, {"error": "bad cursor"}, "POST /v2/tasks failed with 400: bad cursor"),
    ("/v2/tasks", 401, {"error": "no key"},
     "POST /v2/tasks failed with 401: no key (check SCALE_API_KEY)"),
    ("/v5/evaluations", 401, {"detail": ""},
     "POST /v5/evaluations failed with 401: no detail given (check SGP_API_KEY)"),
    ("/v5/evaluations", 409, {"detail": None, "trace": "t-1"},  # nothing else is lost
     'POST /v5/evaluations failed with 409: unexpected body: {"detail": null, "trace": "t-1"}'),
    ("/v5/evaluations", 403, None,
     "POST /v5/evaluations failed with 403: no detail given (check SGP_ACCOUNT_ID)"),
    ("/v5/evaluations", 500, "", "POST /v5/evaluations failed with 500: no detail given"),
    ("/v5/evaluations", 418, [], "POST /v5/evaluations failed with 418: no detail given"),
    ("/v5/evaluations", 502, {"message": "upstream  café"},  # whitespace runs become one
     'POST /v5/evaluations failed with 502: unexpected body: {"message": "upstream café"}'),
    ("/v5/evaluations", 503, "busy\n\n  try later", (
        "POST /v5/evaluations failed with 503: unexpected body: busy try later")),
    ("/v5/evaluations", 500, "x" * 301,
     f"POST /v5/evaluations failed with 500: unexpected body: {'x' * 300}..."),
    ("/v5/evaluations", 500, "y" * 300,
     f"POST /v5/evaluations failed with 500: unexpected body: {'y' * 300}"),
])
def test_a_failed_response_reads_as_one_line_with_what_the_server_said(path, status, body,
                                                                       message) -> None:
    error = status_error("POST", path, status, body, request_id=None)
    assert (str(error), error.method, error.path, error.status_code) == (
        message, "POST", path, status)
    kinds = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
             409: "ConflictError", 418: "APIStatusError", 422: "BadRequestError"}
    assert type(error).__name__ == kinds.get(status, "ServerError")
    expected = body.get("detail", body.get("error")) if isinstance(body, dict) and (
        "detail" in body or "error" in body) else body
    assert error.detail == expected


def test_a_rate_limit_error_keeps_its_wait_and_a_request_id_is_named() -> None:
    error = status_error("GET", "/v5/evaluations", 429, {"detail": "slow down"},
                         retry_after=2.5, request_id="req_1")
    assert isinstance(error, RateLimitError)
    assert (str(error), error.retry_after) == (
        "GET /v5/evaluations failed with 429: slow down (request id req_1)", 2.5)


def test_a_connection_failure_names_the_request_the_error_and_the_endpoint() -> None:
    """A failure without a message is named by its type; the attempts are counted only when
    there was more than one."""
    handler, calls = scripted(httpx.ConnectError(""))
    client, _ = core(handler, max_attempts=1)
    with pytest.raises(TransportError) as once:
        run(client.request("GET", "/v5/x"))
    assert str(once.value) == (
        "GET /v5/x: ConnectError: ConnectError (endpoint https://api.example.test)")
    handler, calls = scripted(httpx.ConnectError(f"refused for {KEY}"))
    client, _ = core(handler, max_attempts=2)
    with pytest.raises(TransportError) as twice:
        run(client.request("GET", "/v5/x"))
    assert (str(twice.value), len(calls)) == (
        "GET /v5/x: ConnectError: refused for *** (endpoint https://api.example.test) "
        "(after 2 attempts)", 2)
