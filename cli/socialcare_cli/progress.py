"""Progress of a long run, on stderr, only when stderr is a terminal: a pipe or a log file
gets the summary line at the end and nothing else. tqdm is a local tool's dependency
(the `local` extra), never the Lambda layer's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")

DELAY_S = 2.0  # a run that ends sooner shows no bar at all


def tracked(
    items: Iterable[T], err: IO[str], what: str, unit: str = "lines", total: int | None = None
) -> Iterator[T]:
    isatty = getattr(err, "isatty", None)
    if not (isatty and isatty()):
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(
        items, desc=what, total=total, unit=f" {unit}", file=err, leave=False, delay=DELAY_S
    )


class Bar:
    """Progress reported as (done, total) by a callback (redrive): a bar on a terminal,
    nothing elsewhere. Close it before the summary line."""

    def __init__(self, err: IO[str], what: str, unit: str = "messages") -> None:
        self._bar: Any = None
        isatty = getattr(err, "isatty", None)
        if isatty and isatty():
            from tqdm import tqdm

            self._bar = tqdm(desc=what, unit=f" {unit}", file=err, leave=False, delay=DELAY_S)

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
