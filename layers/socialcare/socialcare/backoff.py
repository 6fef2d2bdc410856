"""Waiting on the queue: exponential backoff with equal jitter, in SQS delays."""

from __future__ import annotations

import random

MAX_DELAY_S = 900  # SQS delays a message at most 15 minutes


def delay_s(times: int, base_s: int = 30) -> int:
    """Between half and all of base * 2^times, capped at MAX_DELAY_S."""
    ceiling = min(MAX_DELAY_S, base_s * 2 ** min(times, 32))
    return int(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter
