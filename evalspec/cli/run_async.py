"""One way for commands to run their coroutine."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``run_async(main)``, without its repr of the result.

    On CPython 3.11.0-3.11.7 and 3.12.0, asyncio.run calls ``repr`` on its main task twice
    when it returns (python/cpython#112559), and a task's repr shows its result: for a plan
    or a state of 10,000 evaluations that took 1.4 s. The result is passed back aside, so the
    main task's own result is None.
    """
    box: list[T] = []

    async def wrapper() -> None:
        box.append(await main)

    asyncio.run(wrapper())
    _last[:] = box  # alive until the next command: the program's hard exit need not free it
    return box[0]


_last: list[Any] = []
