"""A progress bar kept on the last line of a terminal while lines are printed above it."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


class ProgressBar:
    """``Applying [#########---------]  312/1,000  2 not done  0:07`` on a terminal.

    ``report`` prints an outcome's line above the bar and moves it on; ``close`` erases it so
    the summary that follows stands alone.
    """

    def __init__(self, stream: TextIO, total: int, label: str = "Applying") -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def _render(self) -> str:
        filled = WIDTH * min(self.done, self.total) // self.total
        elapsed = int(time.monotonic() - self.started)
        text = (f"{self.label} [{'#' * filled}{'-' * (WIDTH - filled)}] "
                f"{self.done:,}/{self.total:,}")
        if self.failed:
            text += f"  {self.failed:,} not done"
        return text + f"  {elapsed // 60}:{elapsed % 60:02d}"

    def report(self, text: str, ok: bool) -> None:
        """Count one outcome and print its line above the redrawn bar."""
        self.done += 1
        self.failed += 0 if ok else 1
        self.stream.write(f"\r\x1b[K{text}\n{self._render()}")
        self.stream.flush()

    def show(self) -> None:
        self.stream.write("\r\x1b[K" + self._render())
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()
