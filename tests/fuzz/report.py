"""What `make fuzz` prints: per target, the cases run, the unhandled exceptions (the goal
is 0: a test fails on the first) and the slowest case against the function's timeout."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
BASE_CASES = int(os.environ.get("FUZZ_CASES", "200"))


def cases(weight: float = 1.0) -> int:
    """Cases for a target: slower ones (real HTTP, the emulator) run a share of the base."""
    return max(10, int(BASE_CASES * weight))


@dataclass
class Target:
    name: str
    timeout_s: float  # the Lambda timeout of the function that runs this code
    cases: int = 0
    unhandled: int = 0
    slowest_s: float = 0.0


TARGETS: dict[str, Target] = {}


def run(
    target: str,
    timeout_s: float,
    call: Callable[[], T],
    typed: tuple[type[BaseException], ...] = (),
) -> T | BaseException:
    """Call the code under test once: its result, or the typed error it raised on purpose.
    Anything else is counted as unhandled and re-raised (hypothesis then shrinks it)."""
    entry = TARGETS.setdefault(target, Target(target, timeout_s))
    started = time.perf_counter()
    try:
        return call()
    except typed as exc:
        return exc
    except Exception:  # not BaseException: hypothesis stops a case with one of those
        entry.unhandled += 1
        raise
    finally:
        entry.cases += 1
        entry.slowest_s = max(entry.slowest_s, time.perf_counter() - started)


def table() -> list[str]:
    rows = [
        (t.name, str(t.cases), str(t.unhandled), f"{t.slowest_s * 1000:.1f}", f"{t.timeout_s:.0f}")
        for t in sorted(TARGETS.values(), key=lambda t: t.name)
    ]
    head = ("target", "cases", "unhandled", "slowest ms", "timeout s")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs)

    total = sum(t.cases for t in TARGETS.values())
    unhandled = sum(t.unhandled for t in TARGETS.values())
    return [line(head), *(line(r) for r in rows), f"{total} cases, {unhandled} unhandled"]


def too_slow(share: float = 0.5) -> list[str]:
    """Targets whose slowest case took more than `share` of their function's timeout."""
    return [t.name for t in TARGETS.values() if t.slowest_s >= t.timeout_s * share]
