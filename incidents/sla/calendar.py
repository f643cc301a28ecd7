"""Business time: a pure calculator over a calendar (time zone, working days and hours,
holidays). Every computation is done in UTC between the local window boundaries, so DST changes
neither add nor lose business time, and a deadline always falls inside a working window.

Windows are half-open ``[open, close)`` for *starting* work: a moment at the close (17:00) or
outside a window moves to the next window's opening; a deadline may land exactly on the close.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured

# No calendar has a year without a working day; give up (misconfiguration) after this.
MAX_DAYS_SCANNED = 3 * 366

HolidayCheck = Callable[[date], bool]


def parse_working_days(text: str) -> frozenset[int]:
    """``"0-4"`` (Mon-Fri), ``"0,1,2,3,4,5"``, ``"0-2,4"`` → weekday numbers (Monday = 0)."""
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "-" in part:
            first, last = (int(x) for x in part.split("-", 1))
            days.update(range(first, last + 1))
        else:
            days.add(int(part))
    if not days or not days <= set(range(7)):
        raise ImproperlyConfigured(f"SLA_WORKING_DAYS {text!r}: weekdays 0 (Mon) to 6 (Sun).")
    return frozenset(days)


def parse_working_hours(text: str) -> tuple[time, time]:
    """``"09:00-17:00"`` → (09:00, 17:00); the close must be after the opening."""
    try:
        first, last = (time.fromisoformat(x.strip()) for x in text.split("-", 1))
    except ValueError:
        raise ImproperlyConfigured(f"SLA_WORKING_HOURS {text!r}: use HH:MM-HH:MM.") from None
    if last <= first:
        raise ImproperlyConfigured(f"SLA_WORKING_HOURS {text!r}: the close must follow the open.")
    return first, last


@lru_cache(maxsize=8)
def country_holidays(country: str, subdiv: str = "") -> HolidayCheck:
    """Public holidays of a country (``holidays`` package; years are added as they are asked)."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdiv or None)
    return lambda day: day in table


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    working_days: frozenset[int] = frozenset(range(5))
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    extra_holidays: frozenset[date] = frozenset()
    public_holidays: HolidayCheck | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        *,
        zone: str = "UTC",
        working_days: str = "0-4",
        working_hours: str = "09:00-17:00",
        country: str = "",
        subdiv: str = "",
        extra_holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        opens, closes = parse_working_hours(working_hours)
        return cls(
            zone=ZoneInfo(zone),
            working_days=parse_working_days(working_days),
            opens=opens,
            closes=closes,
            extra_holidays=frozenset(extra_holidays),
            public_holidays=country_holidays(country, subdiv) if country else None,
        )

    # --- days and windows ---------------------------------------------------------------
    def is_business_day(self, day: date) -> bool:
        if day.weekday() not in self.working_days or day in self.extra_holidays:
            return False
        return not (self.public_holidays is not None and self.public_holidays(day))

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working window as UTC instants (correct across DST changes)."""
        start = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def local_date(self, moment: datetime) -> date:
        return _aware(moment).astimezone(self.zone).date()

    def is_working_moment(self, moment: datetime) -> bool:
        """Inside a window, the close included (where a deadline may fall)."""
        day = self.local_date(moment)
        if not self.is_business_day(day):
            return False
        start, end = self.window(day)
        return start <= _aware(moment).astimezone(UTC) <= end

    def _business_days(self, first: date, step: int) -> Iterable[date]:
        day = first
        for _ in range(MAX_DAYS_SCANNED):
            if self.is_business_day(day):
                yield day
            day += timedelta(days=step)
        raise ImproperlyConfigured("The SLA calendar has no business day within three years.")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business time needs an aware datetime")
    return moment


def next_business_moment(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """``moment`` itself when work may start then, else the next window's opening (UTC)."""
    now = _aware(moment).astimezone(UTC)
    for day in calendar._business_days(calendar.local_date(now) - timedelta(days=1), 1):
        start, end = calendar.window(day)
        if now < end:
            return max(now, start)
    raise AssertionError("unreachable")  # pragma: no cover - _business_days raises first


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The moment ``duration`` of business time after ``start`` (UTC). Negative durations
    count backwards (``subtract_business_time``)."""
    if duration < timedelta(0):
        return subtract_business_time(calendar, start, -duration)
    now = next_business_moment(calendar, start)
    remaining = duration
    for day in calendar._business_days(calendar.local_date(now), 1):
        window_start, window_end = calendar.window(day)
        if window_end <= now:
            continue
        cursor = max(now, window_start)
        available = window_end - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def subtract_business_time(
    calendar: BusinessCalendar, end: datetime, duration: timedelta
) -> datetime:
    """The moment ``duration`` of business time before ``end`` (UTC), walking backwards."""
    if duration < timedelta(0):
        return add_business_time(calendar, end, -duration)
    now = _aware(end).astimezone(UTC)
    if not duration:
        return now
    remaining = duration
    for day in calendar._business_days(calendar.local_date(now), -1):
        window_start, window_end = calendar.window(day)
        if window_start >= now:
            continue
        cursor = min(now, window_end)
        available = cursor - window_start
        if remaining <= available:
            return cursor - remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def end_of_next_business_day(calendar: BusinessCalendar, start: datetime) -> datetime:
    """The close of the first business day after ``start``'s local date (UTC)."""
    following = calendar.local_date(start) + timedelta(days=1)
    day = next(iter(calendar._business_days(following, 1)))
    return calendar.window(day)[1]
