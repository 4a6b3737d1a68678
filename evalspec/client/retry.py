"""When and how long to wait before trying a request again: one policy object, not loops.

Retried: connection errors and timeouts, 408, 409, 429 and 5xx — for idempotent requests
(GET, PUT, DELETE, PATCH and any request the caller marks idempotent). A non-idempotent
request (a create) is retried only when it certainly never reached the server (the
connection was refused); when its answer was lost the caller gets OutcomeUnknownError and
decides, typically by looking the object up first.

Waits grow exponentially with full jitter, honour ``Retry-After``, and are bounded both in
attempts and in total time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RETRY_STATUSES = frozenset((408, 409, 429))  # and every 5xx


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total: float = 60.0
    random: random.Random = field(default_factory=random.Random, repr=False)

    def retryable_status(self, status: int) -> bool:
        return status in RETRY_STATUSES or status >= 500

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        wait = self.random.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_total))
        return wait

    def allows(self, attempt: int, elapsed: float, wait: float) -> bool:
        """Whether another attempt fits within the attempt and time budgets."""
        return attempt < self.max_attempts and elapsed + wait <= self.max_total


def parse_retry_after(value: str | None, milliseconds: str | None = None) -> float | None:
    """The wait a 429 or 503 asks for, in seconds: ``retry-after-ms`` when given (as the
    official SDKs read it), else ``Retry-After`` in seconds (its HTTP-date form is rare for
    APIs and treated as absent)."""
    if milliseconds is not None:
        try:
            wait = float(milliseconds) / 1000
        except ValueError:
            wait = -1.0
        if wait >= 0:
            return wait
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
