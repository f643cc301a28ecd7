"""Reporting periods: inclusive local dates ``start``..``end`` read from ``?from=&to=``.

Every report (Go/No-Go, SLA, the incident-log export) takes its period from ``period_parse``, so
they all refuse the same input the same way: an unparseable date, a period that ends before it
starts, a date outside ``EARLIEST``..``LATEST`` (year 1 and 9999 would overflow the instants the
queries need) and a span over ``max_days`` (the work a report does grows with its span). The
error is a ``DomainError`` naming the query field: the API answers 400 with it, the admin shows
it as a warning and falls back to the default period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.errors import DomainError

# Nothing this system records predates the epoch; the upper bound leaves room for the day after
# the period and for any zone's offset, so ``since``/``until`` always exist.
EARLIEST = date(1970, 1, 1)
LATEST = date(9998, 12, 31)
MAX_PERIOD_DAYS = 366


class PeriodError(DomainError, ValueError):
    """An unusable ``from``/``to``; ``fields`` names the query parameter at fault."""


@dataclass(frozen=True)
class Period:
    """Inclusive local dates ``start``..``end`` and the matching ``[since, until)`` instants."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def until(self) -> datetime:
        return datetime.combine(
            self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def period_default(*, days: int, today: date | None = None) -> Period:
    """The last ``days`` days, today included."""
    end = today or timezone.localdate()
    return Period(start=end - timedelta(days=days - 1), end=end)


def _error(field: str, message: str) -> PeriodError:
    return PeriodError(message, fields={field: [message]})


def _out_of_range(field: str) -> PeriodError:
    return _error(
        field,
        _("The period is out of range: dates lie between %(a)s and %(b)s.")
        % {"a": EARLIEST.isoformat(), "b": LATEST.isoformat()},
    )


def _parse(field: str, value: str) -> date:
    try:
        parsed = parse_date(value.strip())
    except ValueError:  # well formed but impossible, e.g. 2025-02-30
        parsed = None
    if parsed is None:
        raise _error(field, _("Dates are written YYYY-MM-DD."))
    return parsed


def _date(field: str, value: str | date | None, *, required: bool) -> date | None:
    if not value:
        if required:
            raise _error(field, _("This field is required."))
        return None
    parsed = value if isinstance(value, date) else _parse(field, value)
    if not EARLIEST <= parsed <= LATEST:
        raise _out_of_range(field)
    return parsed


def period_parse(
    *,
    start: str | date | None,
    end: str | date | None,
    default_days: int,
    max_days: int = MAX_PERIOD_DAYS,
    required: bool = False,
    today: date | None = None,
) -> Period:
    """The period from ``start``/``end`` (``YYYY-MM-DD`` strings or dates). A missing ``end`` is
    today, a missing ``start`` is ``default_days`` before ``end`` (unless ``required``).
    Raises ``PeriodError`` for unusable input (see the module docstring)."""
    errors: dict[str, object] = {}
    bounds: dict[str, date | None] = {}
    for field, value in (("from", start), ("to", end)):
        try:
            bounds[field] = _date(field, value, required=required)
        except PeriodError as exc:
            errors.update(exc.fields or {})
    if errors:
        first = next(iter(errors.values()))
        message = str(first[0]) if isinstance(first, list) else str(first)
        raise PeriodError(message, fields=errors)
    last = bounds["to"] or today or timezone.localdate()
    first_day = bounds["from"] or last - timedelta(days=default_days - 1)
    if first_day < EARLIEST:  # the default start of an early ``to``
        raise _out_of_range("from")
    if first_day > last:
        raise _error("to", _("The period must not end before it starts."))
    if (last - first_day).days + 1 > max_days:
        raise _error("to", _("The period may span at most %(n)d days.") % {"n": max_days})
    return Period(start=first_day, end=last)
