"""The framework floor for a create: FastAPI on uvicorn (with the same HTTP parser and event
loop as the emulator), validating the same request model as the emulator's create and
answering a fixed small object, with no storage. bench/emulator.py serves it to show what
share of a create's server CPU is evalspec's own.

    python bench/_floor_app.py PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalspec.platform.evaluations import EvaluationCreate  # noqa: E402

app = FastAPI()


@app.post("/v5/evaluations")
async def create(body: EvaluationCreate) -> Response:
    return Response(b'{"id":"evaluation_floor","object":"evaluation"}',
                    media_type="application/json")


@app.get("/v5/datasets")
async def ready() -> Response:
    return Response(b'{"object":"list","items":[]}', media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                backlog=2048)
