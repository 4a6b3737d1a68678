"""Summarise pulled v2 tasks: numeric annotations per source and model, pairwise preferences,
the Likert distribution. Read line by line (memory follows the number of distinct sources,
models and keys, not the number of tasks); anything that cannot be used is counted with the
reason, never fatal.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalspec.errors import EvalspecError
from evalspec.results.stats import paired, t_quantile
from evalspec.results.stats import wilson as wilson_interval

ROLES = ("system", "user", "assistant", "function")
PREFERENCE_KEY = "selected_model_id"
LIKERT_KEY = "likert_value"
LIKERT_LIMIT = 100  # a rating scale; anything past it is a data error, not a rating


@functools.cache
def t95(df: int) -> float:
    """The two-sided 95 % critical value of Student's t: exact for every df (it switched to
    z = 1.96 above 30, 2-4 % too narrow)."""
    return t_quantile(0.975, df)


@dataclass
class Running:
    """Count, mean and spread of a stream of numbers (Welford's method)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def interval(self) -> tuple[float, float]:
        """95 % confidence interval of the mean (t-based; a single value has none)."""
        if self.n < 2:
            return (self.mean, self.mean)
        half = t95(self.n - 1) * self.sd / math.sqrt(self.n)
        return (self.mean - half, self.mean + half)


def wilson(wins: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion ((0, 0) for no comparisons)."""
    return (0.0, 0.0) if n == 0 else wilson_interval(wins, n)


@dataclass
class Pair:
    """Two responses compared, whichever was shown first: ``first`` and ``second`` are in
    name order, so A-then-B and B-then-A tasks count together."""

    first: str
    second: str
    first_wins: int = 0
    second_wins: int = 0
    shown_first_wins: int = 0  # choices of whichever response was displayed first
    likert: Counter[int] = field(default_factory=Counter)  # shown in name order
    likert_swapped: Counter[int] = field(default_factory=Counter)  # shown second-first
    # Ratings of both responses to one prompt: per annotation key, (first's, second's).
    ratings: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    ties: int = 0  # selected_model_id "tie"

    @property
    def n(self) -> int:
        return self.first_wins + self.second_wins


@dataclass
class Summary:
    source: str
    lines: int = 0
    tasks: int = 0
    used: int = 0  # tasks that contributed something
    skipped: Counter[str] = field(default_factory=Counter)
    numeric: dict[tuple[str, str], dict[str, Running]] = field(
        default_factory=lambda: defaultdict(dict))
    text_keys: Counter[str] = field(default_factory=Counter)
    pairs: dict[tuple[str, str], Pair] = field(default_factory=dict)
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)  # for Bradley-Terry
    models: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    # -- reading --------------------------------------------------------------------------
    def add_task(self, task: Any) -> None:
        if not isinstance(task, dict):
            self.skip("line is not a task object")
            return
        self.tasks += 1
        status = task.get("status")
        threads = task.get("threads")
        if status != "completed":
            self.skip(f"task not completed (status {status or 'missing'})")
            return
        if not isinstance(threads, list) or not threads:
            self.skip("completed task without threads")
            return
        before = self._contributions()
        for thread in threads:
            for turn in _list(thread, "turns"):
                self._turn(turn)
        if self._contributions() > before:
            self.used += 1
        else:
            self.skip("completed task with nothing to summarise")

    def _contributions(self) -> int:
        return (sum(r.n for keys in self.numeric.values() for r in keys.values())
                + sum(p.n + sum(p.likert.values()) for p in self.pairs.values()))

    def _turn(self, turn: Any) -> None:
        responses: list[str] = []
        rated: dict[str, dict[str, float]] = {}  # response source -> its numeric ratings
        for message in _list(turn, "messages"):
            if not isinstance(message, dict):
                self.skip("message is not an object")
                continue
            role = message.get("role")
            if role not in ROLES:
                self.skip(f"message with unknown role {role!r}")
                continue
            source = str(message.get("source_id") or role)
            if role == "assistant":
                responses.append(source)
            params = message.get("model_parameters")
            model = str(params.get("model")) if isinstance(params, dict) and params.get(
                "model") else "(unknown model)"
            if role == "assistant":
                self.models[source].add(model)
            for annotation in _list(message, "annotations"):
                value = self._numeric(source, model, annotation)
                if value is not None and role == "assistant":
                    rated.setdefault(source, {})[annotation["key"]] = value
        self._preference(responses, _list(turn, "annotations"))
        self._paired_ratings(rated)

    def _paired_ratings(self, rated: dict[str, dict[str, float]]) -> None:
        """Two responses to one prompt rated on the same key: a paired difference, not two
        unpaired means."""
        if len(rated) != 2:
            return
        first, second = sorted(rated)
        pair = self.pairs.setdefault((first, second), Pair(first, second))
        for key in sorted(set(rated[first]) & set(rated[second])):
            pair.ratings.setdefault(key, []).append((rated[first][key], rated[second][key]))

    def _numeric(self, source: str, model: str, annotation: Any) -> float | None:
        """Counts a numeric annotation; returns its value (None when it is not one)."""
        if not isinstance(annotation, dict) or not isinstance(annotation.get("key"), str):
            self.skip("annotation without a key")
            return None
        key, value = annotation["key"], annotation.get("value")
        if value is None:
            self.skip("annotation without a value")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.text_keys[key] += 1
        elif not math.isfinite(value):
            self.skip("annotation value not finite")
        else:
            self.numeric[(source, model)].setdefault(key, Running()).add(float(value))
            return float(value)
        return None

    def _preference(self, responses: list[str], annotations: list[Any]) -> None:
        found = {a["key"]: a.get("value") for a in annotations
                 if isinstance(a, dict) and isinstance(a.get("key"), str)}
        if PREFERENCE_KEY not in found and LIKERT_KEY not in found:
            return
        distinct = list(dict.fromkeys(responses))
        if len(distinct) != 2:
            self.skip(f"preference on a turn with {len(distinct)} responses (needs 2)")
            return
        key = (min(distinct), max(distinct))
        pair = self.pairs.setdefault(key, Pair(*key))
        swapped = distinct[0] != pair.first
        selected = found.get(PREFERENCE_KEY)
        if isinstance(selected, str) and selected.strip().casefold() == "tie":
            pair.ties += 1
            self.outcomes.append((pair.first, pair.second, "tie"))
        elif selected is not None:
            if selected not in distinct:
                self.skip(f"{PREFERENCE_KEY} names no response of the turn")
            else:
                if selected == pair.first:
                    pair.first_wins += 1
                else:
                    pair.second_wins += 1
                self.outcomes.append((pair.first, pair.second,
                                      "first" if selected == pair.first else "second"))
                pair.shown_first_wins += selected == distinct[0]
        likert = found.get(LIKERT_KEY)
        if likert is not None:
            if not isinstance(likert, int) or isinstance(likert, bool):
                self.skip(f"{LIKERT_KEY} is not an integer")
            elif not -LIKERT_LIMIT <= likert <= LIKERT_LIMIT:
                self.skip(f"{LIKERT_KEY} outside -{LIKERT_LIMIT}..{LIKERT_LIMIT}")
            else:
                (pair.likert_swapped if swapped else pair.likert)[likert] += 1

    # -- results --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        groups = []
        for (source, model), keys in sorted(self.numeric.items()):
            stats = {}
            for key, running in sorted(keys.items()):
                low, high = running.interval()
                stats[key] = {"n": running.n, "mean": round(running.mean, 4),
                              "sd": round(running.sd, 4), "ci95": [round(low, 4),
                                                                   round(high, 4)]}
            groups.append({"source": source, "model": model, "annotations": stats})
        preferences = []
        for pair in self.pairs.values():
            entry: dict[str, Any] = {"first": pair.first, "second": pair.second,
                                     "comparisons": pair.n, "first_wins": pair.first_wins,
                                     "second_wins": pair.second_wins}
            if pair.n:
                low, high = wilson(pair.first_wins, pair.n)
                entry["first_win_rate"] = round(pair.first_wins / pair.n, 4)
                entry["first_win_rate_ci95"] = [round(low, 4), round(high, 4)]
                low, high = wilson(pair.shown_first_wins, pair.n)
                entry["position_bias"] = {
                    "shown_first_win_rate": round(pair.shown_first_wins / pair.n, 4),
                    "ci95": [round(low, 4), round(high, 4)]}
            entry["likert"] = {str(k): v for k, v in sorted(pair.likert.items())}
            if pair.ratings:
                entry["paired_ratings"] = {key: _paired_json(values)
                                           for key, values in sorted(pair.ratings.items())}
            if pair.likert_swapped:
                entry["likert_shown_second_first"] = {
                    str(k): v for k, v in sorted(pair.likert_swapped.items())}
            preferences.append(entry)
        return {
            "file": self.source, "lines": self.lines, "tasks": self.tasks,
            "tasks_used": self.used,
            "skipped": dict(sorted(self.skipped.items())),
            "text_annotations": dict(sorted(self.text_keys.items())),
            "numeric": groups,
            "preferences": preferences,
            "bradley_terry": self._bradley_terry(),
        }

    def _bradley_terry(self) -> dict[str, Any] | None:
        """Strengths of every response source from all pairwise preferences (ties by
        Davidson's model), with seeded bootstrap intervals; None without preferences."""
        from evalspec.results import bradley_terry

        if not self.outcomes:
            return None
        base = {"comparisons": len(self.outcomes),
                "ties": sum(1 for o in self.outcomes if o[2] == "tie")}
        gaps = bradley_terry.no_fit(self.outcomes)
        if gaps:
            return {**base, "no_fit": "; ".join(gaps) + ": strengths need every source to "
                                                        "win and to lose (or tie) at least once"}
        fitted = bradley_terry.fit(self.outcomes)
        intervals = bradley_terry.bootstrap(self.outcomes)
        ranked = sorted(fitted.shares.items(), key=lambda kv: -kv[1])
        return {"method": "Bradley-Terry with Davidson ties, ML; 95% percentile bootstrap "
                          f"({bradley_terry.BOOTSTRAP} resamples, seed {bradley_terry.SEED})",
                **base, "tie_parameter": round(fitted.tie_parameter, 4),
                "sources": [{"source": source, "share": round(share, 4),
                             "ci95": [round(intervals[source][0], 4),
                                      round(intervals[source][1], 4)]}
                            for source, share in ranked]}


def _list(container: Any, key: str) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, list) else []


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as fh:
            yield from enumerate(fh, start=1)
    except OSError as exc:
        raise EvalspecError(f"{path}: cannot read: {exc.strerror or exc}") from None


def summarise(path: Path, lines: Iterable[tuple[int, bytes]] | None = None) -> Summary:
    summary = Summary(str(path))
    for _, raw in lines if lines is not None else _lines(path):
        if not raw.strip():
            continue
        summary.lines += 1
        try:
            task = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            summary.skip("line is not valid JSON")
            continue
        summary.add_task(task)
    return summary


def _paired_json(values: list[tuple[float, float]]) -> dict[str, Any]:
    """first − second on the prompts where both were rated: the paired t-test."""
    compared = paired([a for a, _ in values], [b for _, b in values])
    diff = compared.summary
    return {"n": diff.n, "mean_difference": None if math.isnan(diff.mean) else round(diff.mean, 4),
            "ci95": [round(diff.low, 4), round(diff.high, 4)] if diff.has_interval else None,
            "p_value": None if math.isnan(compared.p_value) else float(f"{compared.p_value:.6g}"),
            "test": compared.method}
