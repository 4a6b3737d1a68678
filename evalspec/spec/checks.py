"""Checks across documents and the project's policy, on typed instances.

Per-object checks (reserved keys, task aliases, dataset keys, policy) always run. Checks that
follow references between documents (unique addresses, dataset names, group members) run only
when every document loaded, so a broken file does not cause a cascade of false reports.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalspec.errors import JsonPath, Location, ProblemSet
from evalspec.spec import models
from evalspec.spec.aliases import task_alias
from evalspec.spec.template import suggest

if TYPE_CHECKING:
    from evalspec.spec.objects import DesiredObject, DesiredState, Source

KIND_ORDER = {"Question": 0, "Rubric": 1, "Dataset": 2, "Evaluation": 3, "EvaluationGroup": 4}
RESERVED_PREFIXES = ("evalspec.", "evalspec:")


def merge_defaults(instance: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """evalspec.yaml ``defaults`` under one rendered Evaluation; the document wins."""
    if not defaults:
        return instance
    merged = dict(instance)
    if defaults.get("tags"):
        merged["tags"] = list(dict.fromkeys([*defaults["tags"], *instance.get("tags", [])]))
    if defaults.get("metadata"):
        merged["metadata"] = {**defaults["metadata"], **instance.get("metadata", {})}
    if defaults.get("description") is not None and "description" not in instance:
        merged["description"] = defaults["description"]
    config = {k: v for k, v in (defaults.get("configuration") or {}).items() if v is not None}
    if config and isinstance(instance.get("tasks"), list):
        merged["tasks"] = [
            {**task, "configuration": {**config, **task["configuration"]}}
            if isinstance(task, dict) and task.get("task_type") == "chat_completion"
            and isinstance(task.get("configuration"), dict) else task
            for task in instance["tasks"]
        ]
    return merged


def check(state: DesiredState, problems: ProblemSet, config_source: Source,
          complete: bool = True) -> None:
    for obj in state.objects:
        _reserved(obj, problems)
        _files(obj, problems)
        if obj.kind == "Evaluation":
            _aliases(obj, problems)
        elif obj.kind == "Dataset":
            _dataset_key(obj, problems)
    _policy(state, problems, config_source)
    if complete:
        _unique_addresses(state, problems)
        _dataset_references(state, problems)
        _groups(state, problems)
        _project_gates(state, problems, config_source)
        columns = _dataset_columns(state)
        checked: set[tuple[int, int]] = set()
        for obj in state.of_kind("Evaluation"):
            rows = _row_columns(obj, columns)
            # The instances of one matrix document read the same columns through the same
            # locators unless a task's alias, type or a locator is templated: check one.
            key = (id(obj.source), id(rows))
            if key in checked:
                continue
            if not _templated_references(obj.source.document.value):
                checked.add(key)
            _item_references(obj, rows, problems)


def _reserved(obj: DesiredObject, problems: ProblemSet) -> None:
    loc = obj.source.locate
    for key in getattr(obj.spec, "metadata", {}):
        if key.startswith("evalspec."):
            path = ("metadata", key)
            problems.add(loc(path, True), path,
                         f"metadata key '{key}' is reserved: keys starting with 'evalspec.' are "
                         "set by evalspec")
    for i, tag in enumerate(getattr(obj.spec, "tags", ())):
        if tag.startswith(RESERVED_PREFIXES):
            path = ("tags", i)
            problems.add(loc(path), path, f"tag '{tag}' is reserved: tags starting with "
                         "'evalspec:' or 'evalspec.' are set by evalspec")


def _files(obj: DesiredObject, problems: ProblemSet) -> None:
    """``files`` pairs with the rows one to one, as the platform requires."""
    files = getattr(obj.spec, "files", None)
    rows = obj.spec.items if obj.kind == "Dataset" else getattr(obj.spec, "data", None)
    if files is not None and isinstance(rows, list) and len(files) != len(rows):
        what = "items" if obj.kind == "Dataset" else "data"
        problems.add(obj.source.locate(("files",)), ("files",),
                     f"files has {len(files):,} entries but {what} has {len(rows):,} rows: "
                     "one mapping per row, in order")


def _task_fields(task: Any) -> dict[str, Any]:
    """What task_alias reads, without serialising the typed task (10,000 times per sweep)."""
    config = task.configuration
    return {"alias": task.alias, "task_type": task.task_type,
            "configuration": {**config.__dict__, **(config.__pydantic_extra__ or {})}}


def _aliases(obj: DesiredObject, problems: ProblemSet) -> None:
    seen: dict[str, int] = {}
    for i, task in enumerate(obj.spec.tasks):
        alias = task_alias(_task_fields(task))
        if alias in seen:
            path = ("tasks", i, "alias") if task.alias else ("tasks", i)
            problems.add(obj.source.locate(path), path,
                         f"task alias '{alias}' is already used by tasks[{seen[alias]}]; "
                         "give each task a distinct alias")
        else:
            seen[alias] = i


_LOCATOR = re.compile(r"^item\.([A-Za-z0-9_-]+)")
_PLACEHOLDER = re.compile(r"\{\{\s*item\.([A-Za-z0-9_-]+)")  # the platform's {{ item.x }}


def _dataset_columns(state: DesiredState) -> dict[str, set[str] | None]:
    return {o.name: _columns(o.spec.items) for o in state.of_kind("Dataset")}


def _columns(rows: Any) -> set[str] | None:
    """The columns some row has, or None when the rows are not known here."""
    if not isinstance(rows, list):
        return None
    return {key for row in rows if isinstance(row, dict) for key in row}


def _row_columns(obj: DesiredObject, datasets: dict[str, set[str] | None]) -> set[str] | None:
    if obj.spec.data is not None:
        return _columns(obj.spec.data)
    return datasets.get(obj.spec.dataset) if isinstance(obj.spec.dataset, str) else None


def _locators(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, str):
        found = _LOCATOR.match(value)
        if found:
            yield path, found.group(1)
        elif "{{" in value:
            for name in dict.fromkeys(_PLACEHOLDER.findall(value)):
                yield path, name
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _locators(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _locators(item, (*path, index))


_NAMING_KEYS = frozenset(("alias", "task_type", "type", "function_source"))


def _templated_references(value: Any, key: Any = None) -> bool:
    """Whether a matrix instance's tasks may read other items than its siblings' do: a
    template in a task's alias, type or function, or in a string that may hold a locator or a
    file:// reference. (A templated model or temperature changes nothing here.)"""
    if isinstance(value, dict):
        items = value.get("tasks", []) if key is None else value
        if key is None:
            return _templated_references(items, "tasks")
        return any(_templated_references(v, k) for k, v in value.items())
    if isinstance(value, list):
        return any(_templated_references(v, key) for v in value)
    return isinstance(value, str) and "${{" in value and (
        key in _NAMING_KEYS or "item" in value or "file://" in value)


def _item_references(obj: DesiredObject, columns: set[str] | None,
                     problems: ProblemSet) -> None:
    """``item.X`` in a task reads column X, or the output of the earlier task aliased X."""
    tasks = [t.model_dump(exclude_none=True) for t in obj.spec.tasks]
    aliases = {task_alias(t): i for i, t in enumerate(tasks)}
    for i, task in enumerate(tasks):
        for path, name in _locators(task.get("configuration"), ("tasks", i, "configuration")):
            position = aliases.get(name)
            if position is not None and position >= i:
                which = "this task" if position == i else f"tasks[{position}], which runs later"
                message = (f"item.{name} is the output of {which}; a task can read only the "
                           "outputs of tasks before it")
            elif position is None and columns is not None and name not in columns:
                known = [*sorted(columns), *list(aliases)[:i]]
                message = (f"item.{name}: the rows have no column '{name}' and no earlier task "
                           f"is aliased '{name}'{suggest(name, known)}")
            else:
                continue
            problems.add(obj.source.locate(path), path, message)


def _dataset_key(obj: DesiredObject, problems: ProblemSet) -> None:
    key = obj.spec.key
    if key is None or not isinstance(obj.spec.items, list):
        return
    seen: dict[Any, int] = {}
    for i, item in enumerate(obj.spec.items):
        path = ("items", i)
        value = item.get(key)
        if value is None or isinstance(value, (dict, list)):
            problems.add(obj.source.locate(path), path,
                         f"item has no scalar value for the dataset key '{key}'")
        elif isinstance(value, str) and not value.strip():
            problems.add(obj.source.locate(path), path,
                         f"item's dataset key '{key}' is empty: each item needs its own value")
        elif value in seen:
            problems.add(obj.source.locate(path), path,
                         f"duplicate dataset key {key}={value!r} (also items[{seen[value]}])")
        else:
            seen[value] = i


def _unique_addresses(state: DesiredState, problems: ProblemSet) -> None:
    seen: dict[str, DesiredObject] = {}
    for obj in state.objects:
        first = seen.get(obj.address)
        if first is None:
            seen[obj.address] = obj
            continue
        where = first.source.locate(("name",))
        problems.add(obj.source.locate(("name",)), ("name",),
                     f"{obj.address} is already defined at {where}")


def _dataset_references(state: DesiredState, problems: ProblemSet) -> None:
    names = [o.name for o in state.of_kind("Dataset")]
    known = set(names)
    for obj in state.of_kind("Evaluation"):
        ref = obj.spec.dataset
        if isinstance(ref, str) and ref not in known:
            listed = ", ".join(names) if names else "none are defined"
            problems.add(obj.source.locate(("dataset",)), ("dataset",),
                         f"dataset '{ref}' is not defined{suggest(ref, names)}; "
                         f"datasets: {listed}")


def _groups(state: DesiredState, problems: ProblemSet) -> None:
    evaluations = [o.name for o in state.of_kind("Evaluation")]
    for group in state.of_kind("EvaluationGroup"):
        loc = group.source.locate
        members: list[str] = []
        for i, pattern in enumerate(group.spec.members):
            matched = fnmatch.filter(evaluations, pattern)
            if not matched:
                path = ("members", i)
                problems.add(loc(path), path, f"member '{pattern}' matches no evaluation"
                             f"{suggest(pattern, evaluations)}")
            members.extend(matched)
        _gates(group, members, state, problems)
        ident = group.spec.row_identifier
        if isinstance(ident, dict):
            for pattern in ident:
                if members and not fnmatch.filter(members, pattern):
                    path = ("row_identifier", pattern)
                    problems.add(loc(path, True), path,
                                 f"row_identifier pattern '{pattern}' matches no member of "
                                 "this group")


SCORING = ("metric", "auto_evaluation.guided_decoding", "auto_evaluation.question",
           "contributor_evaluation.question", "custom_function")


def _score_aliases(evaluations: Iterable[DesiredObject]) -> list[str]:
    """The score columns these evaluations' scoring tasks produce, in first-seen order."""
    return list(dict.fromkeys(task_alias(_task_fields(t)) for o in evaluations
                              for t in o.spec.tasks if t.task_type in SCORING))


def gate_problems(gate: models.Gate, members: list[str], scores: list[str]) -> list[tuple[
        tuple[str | int, ...], str]]:
    """What is wrong with one gate for a group with these members and score columns."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if all(getattr(gate, rule) is None for rule in
           ("min", "max", "no_regression_vs", "better_than", "max_missing_rows")):
        found.append(((), "a gate needs a rule: min, max, no_regression_vs, better_than or "
                          "max_missing_rows"))
    if scores and gate.score not in scores:
        found.append((("score",), f"no scoring task is aliased '{gate.score}'"
                      f"{suggest(gate.score, scores)}; scores: {', '.join(scores)}"))
    versus = gate.compared_with
    if versus is not None and members and versus not in members:
        rule = "better_than" if gate.better_than is not None else "no_regression_vs"
        where = (rule,) if isinstance(getattr(gate, rule), str) else (rule, "member")
        found.append((where, f"'{versus}' is not a member{suggest(versus, members)}"))
    for i, pattern in enumerate(gate.members or []):
        if members and not fnmatch.filter(members, pattern):
            found.append((("members", i), f"'{pattern}' matches no member"
                          f"{suggest(pattern, members)}"))
    return found


def _gates(group: DesiredObject, members: list[str], state: DesiredState,
           problems: ProblemSet) -> None:
    if not group.spec.gates:
        return  # the score columns are only needed to check gates
    by_name = {o.name: o for o in state.of_kind("Evaluation")}
    scores = _score_aliases(by_name[name] for name in members if name in by_name)
    for index, gate in enumerate(group.spec.gates):
        for sub, message in gate_problems(gate, members, scores):
            path = ("gates", index, *sub)
            problems.add(group.source.locate(path), path, message)


def _project_gates(state: DesiredState, problems: ProblemSet, config_source: Source) -> None:
    """evalspec.yaml's gates apply to every group: their score must exist in some evaluation."""
    if not state.config.gates:
        return
    scores = _score_aliases(state.of_kind("Evaluation"))
    for index, gate in enumerate(state.config.gates):
        for sub, message in gate_problems(gate, [], scores):
            path = ("gates", index, *sub)
            problems.add(config_source.locate(path), path, message)


def _severity(policy: models.Policy, rule: str) -> str:
    return "warning" if policy.enforcement.get(rule) == "advisory" else "error"


def _policy(state: DesiredState, problems: ProblemSet, config_source: Source) -> None:
    policy = state.config.policy
    count = len(state.of_kind("Evaluation"))
    if count > policy.max_evaluations:
        cap: JsonPath = ("policy", "max_evaluations")
        problems.add(config_source.locate(cap), cap,
                     f"the project defines {count:,} evaluations, over policy.max_evaluations "
                     f"({policy.max_evaluations:,})", _severity(policy, "max_evaluations"))
    path: JsonPath
    allowed, bounds = policy.allowed_models, policy.temperature
    known = known_models() | {m for m in allowed or () if not any(c in m for c in "*?[")}
    unknown: dict[str, tuple[Location, JsonPath]] = {}
    for obj in state.of_kind("Evaluation"):
        loc = obj.source.locate
        spec = obj.spec
        if policy.required_tags:
            for pattern in policy.required_tags:
                if not fnmatch.filter(spec.tags, pattern):
                    problems.add(loc(("tags",)), ("tags",),
                                 f"{obj.address} has no tag matching '{pattern}' "
                                 "(policy.required_tags)", _severity(policy, "required_tags"))
        if policy.max_items_per_evaluation and isinstance(spec.data, list):
            count = len(spec.data) * spec.repeats
            if count > policy.max_items_per_evaluation:
                repeated = f" ({len(spec.data):,} rows x {spec.repeats} repeats)" if (
                    spec.repeats > 1) else ""
                problems.add(loc(("data",)), ("data",),
                             f"{count:,} items{repeated}, over policy.max_items_per_evaluation "
                             f"({policy.max_items_per_evaluation:,})",
                             _severity(policy, "max_items_per_evaluation"))
        for i, task in enumerate(spec.tasks):
            config = task.configuration
            model = getattr(config, "model", None)
            if isinstance(model, str) and model not in known and model not in unknown:
                path = ("tasks", i, "configuration", "model")
                unknown[model] = (loc(path), path)
            if allowed and isinstance(model, str) and not any(
                fnmatch.fnmatchcase(model, p) for p in allowed
            ):
                path = ("tasks", i, "configuration", "model")
                problems.add(loc(path), path,
                             f"model '{model}' is not allowed by policy.allowed_models "
                             f"({', '.join(allowed)})", _severity(policy, "allowed_models"))
            temperature = getattr(config, "temperature", None) if bounds else None
            if bounds and isinstance(temperature, (int, float)) and not (
                bounds.min <= temperature <= bounds.max
            ):
                path = ("tasks", i, "configuration", "temperature")
                problems.add(loc(path), path,
                             f"temperature {temperature} is outside policy.temperature "
                             f"[{bounds.min:g}, {bounds.max:g}]", _severity(policy, "temperature"))
    for model, (where, path) in unknown.items():
        problems.add(where, path, f"model '{model}' is not one evalspec knows"
                     f"{suggest(model, sorted(known))}; if the name is right, list it in "
                     "policy.allowed_models", "warning")


@functools.cache
def known_models() -> frozenset[str]:
    """The catalogue of model names (evalspec/spec/known_models.txt)."""
    text = (Path(__file__).parent / "known_models.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))
