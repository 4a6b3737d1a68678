"""The local platform: an SGP-compatible FastAPI app over SQLite.

It serves the v5 endpoints evalspec and the official ``scale-gp-beta`` SDK use, with their
documented shapes: the list envelope with cursor paging (``has_more`` and an empty page past the
end), ``include_archived``, ``views``, tag filters (all given tags), soft deletes and RFC 7396
metadata merges; ``{"detail": ...}`` errors, 404 for unknown ids in the path and 422 for
malformed bodies.

Auth: with ``api_keys`` configured (key -> account), a missing or unknown ``x-api-key`` is a
401 and each account sees only its own objects. With none configured, any non-empty key is
accepted and ``x-selected-account-id`` (or ``default``) picks the account.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from evalspec.platform.api import Settings
from evalspec.platform.store import NotJSON, Store, dumps


def create_app(settings: Settings | None = None) -> FastAPI:
    from evalspec.platform import (
        datasets,
        evaluation_items,
        evaluations,
        groups,
        item_export,
        questions,
        tasks_v2,
    )

    settings = settings or Settings()
    app = FastAPI(title="evalspec local platform", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = Store(settings.db)
    app.include_router(datasets.router)
    app.include_router(evaluations.router)
    app.include_router(evaluation_items.router)
    app.include_router(groups.router)
    app.include_router(questions.router)
    app.include_router(item_export.router)
    app.include_router(tasks_v2.router)
    app.add_exception_handler(tasks_v2.V2Error, tasks_v2.v2_error_response)
    app.add_exception_handler(NotJSON, not_json)
    app.add_exception_handler(RequestValidationError, invalid_body)
    app.state.tasks = tasks_v2.load_tasks(settings.tasks_file) if settings.tasks_file else []
    if settings.sample_tasks:
        from evalspec.platform.sample_tasks import sample_tasks

        app.state.tasks += [tasks_v2.normalise(t) for t in sample_tasks(settings.sample_tasks)]
    return app


async def not_json(request: Request, exc: Exception) -> JSONResponse:
    del request
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for a body its model refuses, whose errors echo the input: an input JSON
    cannot carry (NaN, an infinity, a lone surrogate) is left out rather than failing the
    answer with a 500."""
    del request
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = jsonable_encoder(errors)
    try:
        dumps(detail)
    except NotJSON:
        detail = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in detail]
    return JSONResponse({"detail": detail}, status_code=422)
