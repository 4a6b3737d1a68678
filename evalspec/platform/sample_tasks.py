"""Synthetic v2 tasks shaped like seed 000: a prompt, a base and a test model's responses with
numeric message annotations, and a pairwise preference on the turn. Deterministic for a seed;
for the emulator's ``--tasks`` file, the tests and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

KEYS = ("instruction_following", "truthfulness", "conciseness", "format", "safety", "overall")
MODELS = {"base_model": "scale-gpt-1.5-turbo", "test_model": "scale-gpt-2.0"}
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _response(rng: random.Random, source: str, bias: int) -> dict[str, Any]:
    return {
        "content": {"text": f"This is the {source.replace('_', ' ')} response"},
        "role": "assistant",
        "source_id": source,
        "model_parameters": {"model": MODELS[source], "temperature": 0.9,
                             "max_completion_tokens": 2048},
        "annotations": [{"key": key, "value": max(1, min(5, rng.randint(1, 5) + bias))}
                        for key in KEYS],
    }


def sample_tasks(count: int, *, seed: int = 0, project: str = "Support FAQ review",
                 batch: str = "batch-1", pending_every: int = 10) -> Iterator[dict[str, Any]]:
    """``count`` tasks; every ``pending_every``-th is pending (no threads yet)."""
    rng = random.Random(seed)
    for i in range(count):
        created = START + timedelta(minutes=i)
        task: dict[str, Any] = {
            "task_id": f"task_{i:06d}",
            "project": {"id": "project_1", "name": project},
            "batch": {"id": "batch_1", "name": batch},
            "status": "completed",
            "created_at": _stamp(created),
            "completed_at": _stamp(created + timedelta(hours=20)),
            "metadata": {"row": i},
            "threads": [],
        }
        if pending_every and i % pending_every == pending_every - 1:
            task.update(status="pending", completed_at=None)
            yield task
            continue
        base, test = _response(rng, "base_model", 0), _response(rng, "test_model", 1)
        preferred = "test_model" if rng.random() < 0.6 else "base_model"
        likert = rng.randint(5, 7) if preferred == "test_model" else rng.randint(1, 3)
        task["threads"] = [{"id": "thread_0", "annotations": [], "turns": [{
            "id": "turn_0",
            "messages": [
                {"content": {"text": f"Prompt number {i}"}, "role": "user",
                 "source_id": "user", "annotations": []},
                base, test,
            ],
            "annotations": [
                {"key": "selected_model_id", "value": preferred},
                {"key": "likert_value", "value": likert},
                {"key": "justification",
                 "value": f"@Response {2 if preferred == 'test_model' else 1} is better."},
            ],
        }]}]
        yield task
