"""The column a task's result is titled by, as the platform names it.

A task's ``alias`` when it has one; otherwise, per scale-gp-beta's ``evaluation_task_param``
docstrings, the metric's ``type`` for ``metric`` tasks, the function's name for
``custom_function`` tasks, and the task type for every other kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_FUNCTION = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def task_alias(task: Mapping[str, Any]) -> str:
    alias = task.get("alias")
    if isinstance(alias, str) and alias:
        return alias
    task_type = str(task.get("task_type"))
    config = task.get("configuration")
    config = config if isinstance(config, Mapping) else {}
    if task_type == "metric" and isinstance(config.get("type"), str) and config["type"]:
        return str(config["type"])
    if task_type == "custom_function":
        found = _FUNCTION.search(str(config.get("function_source") or ""))
        if found:
            return found.group(1)
    return task_type
