"""Fetch pages from one source onto MentionsQueue; the cursor moves only after a send."""

from __future__ import annotations

from dataclasses import dataclass

from socialcare.errors import SourceAuthError, SourceRateLimited
from socialcare.observability import count, logger
from socialcare.ports import Queue, State
from socialcare.sources.ports import Source


@dataclass
class FetchReport:
    source: str
    pages: int = 0
    fetched: int = 0
    invalid: int = 0
    stopped: str = "done"  # done | page_limit | rate_limited | usage_capped


# A spent read balance (X's `usage-capped`) is not refilled by waiting minutes: the source
# pauses and asks again after this long (or the platform's own Retry-After, up to a day).
CAPPED_PAUSE_S = 3600
MAX_PAUSE_S = 86_400


def pause_key(source: str) -> str:
    return f"pause#{source}"


def fetch(source: Source, state: State, queue: Queue, max_pages: int = 20) -> FetchReport:
    report = FetchReport(source.name)
    if state.holder(pause_key(source.name)) is not None:
        # Still capped as far as we know: count it (the alarm stays on), ask nobody, and
        # send no heartbeat, so a cap that outlasts SourceSilentHours alarms as silence.
        report.stopped = "usage_capped"
        count("RateLimitedRuns", kind="usage_capped")
        logger.info("source paused (usage capped)", extra={"source": source.name})
        return report
    cursor = state.get_cursor(source.name)
    try:
        while True:
            if report.pages >= max_pages:
                report.stopped = "page_limit"  # the next schedule continues from the cursor
                break
            page = source.fetch_page(cursor)
            report.pages += 1
            queue.send_all(page.mentions)  # raises unless every message was accepted
            report.fetched += len(page.mentions)
            report.invalid += page.invalid
            if page.cursor and page.cursor != cursor:
                state.put_cursor(source.name, page.cursor)
                cursor = page.cursor
            if not page.has_more:
                break
    except SourceRateLimited as exc:
        # Keep the cursor: the next scheduled run continues where this one stopped.
        capped = exc.kind == "usage_capped"
        report.stopped = "usage_capped" if capped else "rate_limited"
        if capped:  # the alarm's; a plain rate limit heals by itself: the line says so
            count("RateLimitedRuns", kind="usage_capped")
        if exc.kind == "usage_capped":
            pause_s = min(MAX_PAUSE_S, max(CAPPED_PAUSE_S, int(exc.retry_after_s or 0)))
            state.claim(pause_key(source.name), "usage_capped", pause_s)
        logger.warning(
            "source rate limited",
            extra={"source": source.name, "retry_after_s": exc.retry_after_s, "kind": exc.kind},
        )
    except SourceAuthError:
        count("SourceAuthFailedTotal")  # one alarm for every source; which: the log line
        logger.error("source refused our credentials", extra={"source": source.name})
        raise
    finally:
        count("Fetched", report.fetched)  # per source: the "fetch finished" line
    # Only a run that reached the platform beats: a dead channel must go silent and alarm.
    count("SourceHeartbeat", source=source.name)
    logger.info(
        "fetch finished",
        extra={
            "source": source.name,
            "pages": report.pages,
            "fetched": report.fetched,
            "invalid": report.invalid,
            "stopped": report.stopped,
        },
    )
    return report
