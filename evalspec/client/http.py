"""The request engine under every platform client: one async httpx client, retries by policy,
errors typed and free of credentials.

The transport comes from outside (``httpx.ASGITransport`` for the in-process local platform,
``httpx.MockTransport`` in unit tests, the network otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

from evalspec.client.errors import (
    APIError,
    OutcomeUnknownError,
    RateLimitError,
    TransportError,
    status_error,
)
from evalspec.client.retry import RetryPolicy, parse_retry_after

log = logging.getLogger("evalspec.client")
T = TypeVar("T")

BODY_EXCERPT = 300  # characters of an unexpected error body kept in the message
MAX_PAGE = 1000  # the documented maximum differs between API generations (API.md §2)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LOST = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class HttpCore:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
        max_connections: int = 64,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._secrets = [s for s in secrets if s]
        self._sleep = sleep
        self.requests_sent = 0
        from evalspec import __version__

        headers = {"accept": "application/json", "user-agent": f"evalspec/{__version__}",
                   **headers}
        # A plain-http endpoint never does TLS: loading the CA bundle for it took 40 ms of
        # every start. Its context has no CA certificates, so it would refuse any server.
        plain = self.base_url.startswith("http://")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout,
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if plain else True,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
        )

    def __repr__(self) -> str:
        return f"HttpCore({self.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = None) -> Any:
        """Send a request, retrying as the policy allows; return the decoded JSON body.

        Creates (POST) are retried only when they surely never reached the server; a lost
        answer raises OutcomeUnknownError.
        """
        idempotent = method != "POST"
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            outcome, retry_after = await self._attempt(method, path, params, json, idempotent)
            if isinstance(outcome, _Success):
                return outcome.body
            error = outcome
            elapsed = time.monotonic() - started
            wait = self.retry.delay(attempt, retry_after)
            if not self.retry.allows(attempt, elapsed, wait):
                raise self._final(error, attempt)
            log.debug("retrying %s %s in %.2fs (attempt %d): %s", method, path, wait, attempt,
                      error)
            await self._sleep(wait)

    def _final(self, error: APIError, attempts: int) -> APIError:
        if attempts > 1:
            error.args = (f"{error.args[0]} (after {attempts} attempts)",)
        return error

    async def _attempt(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
                       idempotent: bool) -> tuple[_Success | APIError, float | None]:
        """(_Success, None), or a retryable error and the wait the server asked for; an error
        that must not be retried is raised."""
        self.requests_sent += 1
        try:
            response = await self._client.request(method, path, params=params, json=body)
        except _NEVER_SENT as exc:
            return TransportError(self._explain(method, path, exc), method=method,
                                  path=path), None
        except _LOST as exc:
            message = self._explain(method, path, exc)
            if not idempotent:
                raise OutcomeUnknownError(
                    f"{message}; the request may have taken effect", method=method, path=path
                ) from None
            return TransportError(message, method=method, path=path), None
        if response.is_success:
            return _Success(response.json() if response.content else None), None
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text[:BODY_EXCERPT]
        retry_after = parse_retry_after(response.headers.get("retry-after"),
                                        response.headers.get("retry-after-ms"))
        error = status_error(method, path, response.status_code,
                             self._redact_body(payload), retry_after,
                             response.headers.get("x-request-id"))
        error.args = (self.redact(str(error.args[0])),)
        status = response.status_code
        if not self.retry.retryable_status(status):
            raise error
        if not idempotent and not isinstance(error, RateLimitError):
            raise OutcomeUnknownError(
                f"{error.args[0]}; the request may have taken effect", method=method, path=path
            ) from None
        return error, retry_after

    def _redact_body(self, payload: Any) -> Any:
        if isinstance(payload, str):
            return self.redact(payload)
        return payload

    def _explain(self, method: str, path: str, exc: Exception) -> str:
        reason = str(exc) or type(exc).__name__
        return self.redact(f"{method} {path}: {type(exc).__name__}: {reason} "
                           f"(endpoint {self.base_url})")

    async def iterate(self, path: str, params: dict[str, Any] | None = None,
                      page_size: int = MAX_PAGE) -> AsyncIterator[dict[str, Any]]:
        """Every item of a v5 list, page by page (``starting_after``), until a page says
        ``has_more: false`` or comes back empty. The next page is asked for before this
        page's items are handed out, so handling them overlaps its round trip."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query["limit"] = max(1, min(page_size, MAX_PAGE))
        page = await self.request("GET", path, params=query)
        while True:
            items = page.get("items") or []
            following: asyncio.Task[Any] | None = None
            if items and page.get("has_more") is not False:
                query = {**query, "starting_after": items[-1]["id"]}
                following = asyncio.create_task(self.request("GET", path, params=query))
            try:
                for item in items:
                    yield item
            except BaseException:  # the reader stopped early, or failed: nothing more to read
                if following is not None:
                    following.cancel()
                    if following.done() and not following.cancelled():
                        following.exception()  # seen: not "never retrieved" at collection
                raise
            if following is None:
                return
            page = await following


class _Success:
    __slots__ = ("body",)

    def __init__(self, body: Any) -> None:
        self.body = body


async def create_once(create: Callable[[], Awaitable[T]],
                      lookup: Callable[[], Awaitable[T | None]],
                      attempts: int = 4) -> T:
    """Run a create so that it never happens twice.

    When a create's outcome is unknown (the answer was lost), ``lookup`` looks for the object
    it would have made; if found it is adopted, otherwise the create is tried again.
    """
    tried = 0
    while True:
        tried += 1
        try:
            return await create()
        except OutcomeUnknownError:
            found = await lookup()
            if found is not None:
                return found
            if tried >= attempts:
                raise
