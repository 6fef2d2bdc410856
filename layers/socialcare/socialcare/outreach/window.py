"""The send window: e-mails go out only in these hours, in the brand's time zone.

`SendWindow` reads "Mon-Fri 08:00-16:00": spans of days and hours, separated by commas
("Mon-Thu 08:00-16:00, Fri 08:00-15:00"), or "always". Outside it the mailer puts the
request back on its queue, delayed, until the window opens; it claims no key and counts
nothing against the hour meanwhile. Public holidays are not known to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from socialcare.errors import ConfigError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALWAYS = "always"
DEFAULT = "Mon-Fri 08:00-16:00"  # Danish office hours
_DAY = "|".join(DAYS)
_SPAN = re.compile(rf"({_DAY})(?:-({_DAY}))? ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None: midnight at the end of the day

    def on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.start, tzinfo=zone)
        if self.end is None:
            return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return start, datetime.combine(day, self.end, tzinfo=zone)


@dataclass(frozen=True)
class SendWindow:
    spans: tuple[Span, ...]  # none: always open
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, time_zone: str) -> SendWindow:
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"time zone {time_zone!r} is unknown (brand.toml time_zone)") from exc
        text = text.strip()
        if text.lower() == ALWAYS:
            return cls((), zone)
        spans = []
        for part in text.split(","):
            match = _SPAN.fullmatch(part.strip())
            if not match:
                raise ConfigError(
                    f"send window {part.strip()[:40]!r} is not like {DEFAULT!r} (or {ALWAYS!r})"
                )
            first, last, h1, m1, h2, m2 = match.groups()
            a, b = DAYS.index(first), DAYS.index(last or first)
            days = frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))
            start, end = time(int(h1), int(m1)), (int(h2), int(m2))
            if end != (24, 0) and time(*end) <= start:
                raise ConfigError(f"send window {part.strip()!r} ends before it starts")
            spans.append(Span(days, start, None if end == (24, 0) else time(*end)))
        return cls(tuple(spans), zone)

    def opens_at(self, now: datetime) -> datetime:
        """`now` when the window is open, else the moment it next opens."""
        if not self.spans:
            return now
        today = now.astimezone(self.zone).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            bounds = sorted(s.on(day, self.zone) for s in self.spans if day.weekday() in s.days)
            for start, end in bounds:
                if start <= now < end:
                    return now
                if start > now:
                    return start
        raise AssertionError("a window with spans opens within a week")  # pragma: no cover
