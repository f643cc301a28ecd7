"""The one period parser: every report's ``?from=&to=`` is read, bounded and capped here."""

from datetime import date

import pytest

from core.errors import DomainError
from core.periods import (
    EARLIEST,
    LATEST,
    MAX_PERIOD_DAYS,
    Period,
    PeriodError,
    period_default,
    period_parse,
)

TODAY = date(2026, 3, 15)


def parse(start: object = None, end: object = None, **kwargs: object) -> Period:
    options: dict = {"default_days": 14, "today": TODAY, **kwargs}
    return period_parse(start=start, end=end, **options)  # type: ignore[arg-type]


def test_strings_and_dates_give_the_inclusive_period():
    assert parse("2026-01-01", "2026-01-14") == Period(date(2026, 1, 1), date(2026, 1, 14))
    assert parse(date(2026, 1, 1), date(2026, 1, 1)) == Period(date(2026, 1, 1), date(2026, 1, 1))
    assert parse(" 2026-01-01 ", "2026-01-02").start == date(2026, 1, 1)


def test_missing_bounds_default_to_the_last_days_before_to():
    assert parse() == Period(date(2026, 3, 2), TODAY)
    assert parse(None, "2026-01-31") == Period(date(2026, 1, 18), date(2026, 1, 31))
    assert parse("", "") == parse()
    assert parse("2026-03-10") == Period(date(2026, 3, 10), TODAY)
    assert period_default(days=14, today=TODAY) == parse()


def test_period_instants_are_local_midnights():
    period = parse("2026-01-01", "2026-01-02")
    assert period.since.date() == date(2026, 1, 1)
    assert period.until.date() == date(2026, 1, 3)
    assert (period.since.hour, period.until.hour) == (0, 0)
    assert period.since.tzinfo is not None
    assert period.days == [date(2026, 1, 1), date(2026, 1, 2)]


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        ("yesterday", None, "from", "YYYY-MM-DD"),
        ("2026-02-30", None, "from", "YYYY-MM-DD"),  # well formed, no such day
        (None, "2026/01/01", "to", "YYYY-MM-DD"),
        ("2026-02-01", "2026-01-01", "to", "must not end before it starts"),
        ("0001-01-01", "0001-01-03", "from", "out of range"),
        (None, "0001-01-03", "to", "out of range"),
        ("9999-12-31", "9999-12-31", "from", "out of range"),
        (None, "9999-12-31", "to", "out of range"),
        (None, "1970-01-05", "from", "out of range"),  # its default start predates EARLIEST
        ("2020-01-01", None, "to", f"at most {MAX_PERIOD_DAYS} days"),
    ],
)
def test_unusable_periods_name_the_field(start, end, field, words):
    with pytest.raises(PeriodError) as caught:
        parse(start, end)
    error = caught.value
    assert words in error.message
    assert field in (error.fields or {})
    assert isinstance(error, DomainError)  # the API answers 400 with it
    assert isinstance(error, ValueError)
    assert error.status_code == 400


def test_both_bad_bounds_are_reported_together():
    with pytest.raises(PeriodError) as caught:
        parse("nope", "0001-01-01")
    assert set(caught.value.fields or {}) == {"from", "to"}


def test_the_edges_are_accepted_and_never_overflow():
    first = parse(EARLIEST, EARLIEST)
    assert (first.since.year, first.until.day) == (1970, 2)
    last = parse(LATEST, LATEST)
    assert last.until.date() == date(LATEST.year + 1, 1, 1)


def test_the_span_cap_is_inclusive_and_configurable():
    full = parse("2025-03-15", "2026-03-15")  # 366 days, both ends included
    assert len(full.days) == MAX_PERIOD_DAYS
    with pytest.raises(PeriodError, match="at most 366 days"):
        parse("2025-03-14", "2026-03-15")
    assert len(parse("2026-03-01", "2026-03-07", max_days=7).days) == 7
    with pytest.raises(PeriodError, match="at most 6 days"):
        parse("2026-03-01", "2026-03-07", max_days=6)


def test_required_bounds():
    with pytest.raises(PeriodError) as caught:
        parse(required=True)
    assert set(caught.value.fields or {}) == {"from", "to"}
    assert parse("2026-01-01", "2026-01-02", required=True).end == date(2026, 1, 2)
