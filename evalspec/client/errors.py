"""Errors from the platform, typed by what a caller can do about them::

    APIError                      (an EvalspecError: shown without a traceback, exit 1)
    ├── APIStatusError            the platform answered with an error status
    │   ├── BadRequestError           400 / 422: the request is wrong; ``detail`` says why
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── RateLimitError            429 (``retry_after`` seconds, when given)
    │   └── ServerError               5xx
    ├── TransportError            no usable answer: connection refused, reset, timed out
    └── OutcomeUnknownError       a non-idempotent request was sent and its answer was lost:
                                  the change may or may not have happened

Messages name the method, the path and the platform's own detail; never a credential.
"""

from __future__ import annotations

import json
from typing import Any

from evalspec.errors import EvalspecError


class APIError(EvalspecError):
    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class APIStatusError(APIError):
    status_code = 0

    def __init__(self, message: str, *, method: str, path: str, status_code: int,
                 detail: Any = None) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.detail = detail


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    pass


class TransportError(APIError):
    pass


class OutcomeUnknownError(APIError):
    """The request may have taken effect; look for its result before trying again."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 422: BadRequestError, 429: RateLimitError,
}


def _detail_text(detail: Any) -> str:
    """The platform's detail as one line: FastAPI's 422 list becomes 'loc: msg; ...'."""
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict):
                loc = ".".join(str(p) for p in entry.get("loc", []) if p != "body")
                parts.append(f"{loc}: {entry.get('msg')}" if loc else str(entry.get("msg")))
            else:
                parts.append(str(entry))
        return "; ".join(parts)
    return str(detail)


def _excerpt(body: Any, limit: int = 300) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def status_error(method: str, path: str, status: int, body: Any,
                 retry_after: float | None = None, request_id: str | None = None
                 ) -> APIStatusError:
    """The error for a failed response. The platform's ``detail`` (v5) or ``error`` (v2) when
    the body has one; otherwise a bounded excerpt of the body (already redacted by the caller),
    so nothing the server said is lost. The request id, when the server sent one, is kept."""
    known = isinstance(body, dict) and ("detail" in body or "error" in body)
    detail = body.get("detail", body.get("error")) if known else body
    if known and detail not in (None, ""):
        text = _detail_text(detail)
    elif body in (None, "", {}, []) or (known and len(body) == 1):  # {"detail": ""} too
        text = "no detail given"
    else:
        text = f"unexpected body: {_excerpt(body)}"
    if request_id:
        text += f" (request id {request_id})"
    hints = ({401: " (check SCALE_API_KEY)"} if path.startswith("/v2/")
             else {401: " (check SGP_API_KEY)", 403: " (check SGP_ACCOUNT_ID)"})
    message = f"{method} {path} failed with {status}: {text}{hints.get(status, '')}"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
    kwargs: dict[str, Any] = {"method": method, "path": path, "status_code": status,
                              "detail": detail}
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
