"""Score columns: which tasks produce a score, and how their outputs become numbers.

- ``metric`` tasks: the number the metric gave (rouge, bleu, meteor and f1 lie in [0, 1],
  cosine similarity in [-1, 1]);
- ``auto_evaluation.guided_decoding`` tasks with ``choices``: the first choice counts 1, the
  last 0, those between evenly spaced (``[correct, partly correct, wrong]`` -> 1, 0.5, 0);
- ``auto_evaluation.question`` and other tasks: numbers (or text that is a number) as they
  are, ``yes``/``no`` as 1/0, ``true``/``false`` as 1/0; anything else is unscored.

Judges' answers are matched after :func:`normalise` (case, surrounding white space and
punctuation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evalspec.plan.refresh import Remote
from evalspec.spec.aliases import task_alias

_WORDS = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}
# Metrics whose values lie in [0, 1] (cosine similarity in [-1, 1]); intervals stay inside.
_METRIC_BOUNDS = {"rouge1": (0.0, 1.0), "rouge2": (0.0, 1.0), "rougeL": (0.0, 1.0),
                  "bleu": (0.0, 1.0), "meteor": (0.0, 1.0), "f1": (0.0, 1.0),
                  "cosine_similarity": (-1.0, 1.0)}
_PUNCTUATION = " \t\r\n.,;:!?\"'`()[]{}*_"


def normalise(text: str) -> str:
    """How a judge's answer is matched to its choices and to yes/no: case folded, surrounding
    white space and punctuation dropped ('Correct.', ' CORRECT' and 'correct' are one)."""
    return text.strip(_PUNCTUATION).casefold()


@dataclass(frozen=True)
class Column:
    """A score column: a task alias and how its outputs become numbers."""

    alias: str
    kind: str  # the task type
    detail: str  # the metric type, or the choices
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None  # the score's range, when it has one

    def score(self, value: Any) -> float | None:
        if self.choices:
            if not isinstance(value, str):
                return None
            chosen = normalise(value)
            names = [normalise(c) for c in self.choices]
            if chosen not in names:
                return None
            position = names.index(chosen)
            return 1.0 - position / (len(self.choices) - 1) if len(self.choices) > 1 else 1.0
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, (int, float)):
            return float(value) if math.isfinite(value) else None
        if isinstance(value, str):
            word = normalise(value)
            if word in _WORDS:
                return _WORDS[word]
            try:
                number = float(word)
            except ValueError:
                return None
            return number if math.isfinite(number) else None
        return None


def _column(task: Mapping[str, Any]) -> Column | None:
    kind = str(task.get("task_type"))
    config = task.get("configuration") or {}
    alias = task_alias(task)
    if kind == "metric":
        return Column(alias, kind, str(config.get("type")),
                      bounds=_METRIC_BOUNDS.get(str(config.get("type"))))
    if kind == "auto_evaluation.guided_decoding" and isinstance(config.get("choices"), list):
        choices = tuple(str(c) for c in config["choices"])
        return Column(alias, kind, " > ".join(choices), choices, (0.0, 1.0))
    if kind in ("auto_evaluation.question", "contributor_evaluation.question",
                "custom_function"):
        return Column(alias, kind, kind)
    return None  # answers (chat_completion, inference, ...) are text, not scores


def score_columns(target: Remote, evaluations: Mapping[str, Remote], members: list[str]
             ) -> list[Column]:
    seen: dict[str, Column] = {}
    for name in members:
        remote = evaluations.get(name)
        for task in (remote.body.get("tasks") if remote else None) or []:
            column = _column(task)
            if column is not None and column.alias not in seen:
                seen[column.alias] = column
    return list(seen.values())
