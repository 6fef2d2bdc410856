"""The cursor moves only after a page is safely queued; rate limits keep it."""

import time
from collections.abc import Sequence

import pytest
from pydantic import BaseModel

from socialcare.adapters.memory import MemoryQueue, MemorySource, MemoryState
from socialcare.errors import RetryableError, SourceAuthError, SourceRateLimited
from socialcare.sources.fetch import CAPPED_PAUSE_S, fetch, pause_key
from socialcare.sources.ports import Page
from tests.unit.conftest import make_mention


def pages(n: int, per_page: int = 2) -> list[Page]:
    return [
        Page(
            [make_mention(post_id=f"{i}-{j}") for j in range(per_page)],
            cursor=str(i + 1),
            has_more=i + 1 < n,
        )
        for i in range(n)
    ]


def test_all_pages_are_queued_and_the_cursor_follows() -> None:
    state, queue = MemoryState(), MemoryQueue()
    report = fetch(MemorySource(pages(3)), state, queue)
    assert (report.pages, report.fetched, report.stopped) == (3, 6, "done")
    assert len(queue.messages) == 6 and state.get_cursor("memory") == "3"


class FailingQueue:
    def __init__(self, fail_on_call: int) -> None:
        self.calls, self.fail_on_call, self.messages = 0, fail_on_call, 0

    def send_all(self, messages: Sequence[BaseModel], delay_s: int = 0) -> None:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RetryableError("SQS did not accept 2 messages")
        self.messages += len(messages)


def test_a_failed_send_leaves_the_cursor_on_the_last_queued_page() -> None:
    state, source = MemoryState(), MemorySource(pages(3))
    with pytest.raises(RetryableError):
        fetch(source, state, FailingQueue(fail_on_call=2))
    assert state.get_cursor("memory") == "1"  # page 2 was not queued: it is read again
    fetch(source, state, MemoryQueue())
    assert source.calls[-3:] == ["1", "1", "2"]


class RateLimitedSource(MemorySource):
    def __init__(self, pages: list[Page], limit_at: int) -> None:
        super().__init__(pages)
        self.limit_at = limit_at

    def fetch_page(self, cursor: str | None) -> Page:
        if len(self.calls) == self.limit_at:
            self.calls.append(cursor)
            raise SourceRateLimited("memory", 30.0)
        return super().fetch_page(cursor)


def test_rate_limit_stops_the_run_and_keeps_the_cursor() -> None:
    state, queue = MemoryState(), MemoryQueue()
    source = RateLimitedSource(pages(3), limit_at=1)
    report = fetch(source, state, queue)
    assert report.stopped == "rate_limited" and state.get_cursor("memory") == "1"
    report = fetch(source, state, queue)  # next schedule continues, nothing twice
    assert report.stopped == "done" and len(queue.messages) == 6
    assert len({m for m in queue.messages}) == 6


def test_usage_cap_pauses_the_source_instead_of_asking_every_schedule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Capped(MemorySource):
        def fetch_page(self, cursor: str | None) -> Page:
            self.calls.append(cursor)
            raise SourceRateLimited("memory", None, kind="usage_capped")

    state, source = MemoryState(), Capped(pages(2))
    for _ in range(3):  # three schedules within the pause: X is asked once
        assert fetch(source, state, MemoryQueue()).stopped == "usage_capped"
    assert len(source.calls) == 1
    out = capsys.readouterr().out
    assert out.count('"RateLimitedRuns":[') == 3  # every run counts: the alarm stays on
    assert out.count('"SourceHeartbeat":[') == 1  # only the run that reached X beats
    pause = state.holder(pause_key("memory"))
    assert pause and int(pause["expires_at"]) - time.time() > CAPPED_PAUSE_S - 5
    state.items[pause_key("memory")]["expires_at"] = str(int(time.time()) - 1)  # an hour on
    fetch(source, state, MemoryQueue())
    assert len(source.calls) == 2  # asked again


def test_page_limit_continues_next_run() -> None:
    state, queue = MemoryState(), MemoryQueue()
    assert fetch(MemorySource(pages(3)), state, queue, max_pages=2).stopped == "page_limit"
    assert state.get_cursor("memory") == "2"


def test_auth_failure_is_raised_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    class Expired(MemorySource):
        def fetch_page(self, cursor: str | None) -> Page:
            raise SourceAuthError("memory", "credentials refused (HTTP 401)")

    with pytest.raises(SourceAuthError):
        fetch(Expired([]), MemoryState(), MemoryQueue())
    out = capsys.readouterr().out
    assert '"SourceAuthFailedTotal"' in out and '"SourceHeartbeat"' not in out
