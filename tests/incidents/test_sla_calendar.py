"""The business-time calculator: property tests (hypothesis) — deadlines inside working hours,
add-then-subtract stable, DST changes and holidays — and worked examples."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.sla.calendar import (
    BusinessCalendar,
    add_business_time,
    end_of_next_business_day,
    next_business_moment,
    parse_working_days,
    subtract_business_time,
)

BERLIN = BusinessCalendar.build(zone="Europe/Berlin", country="DE")
NEW_YORK = BusinessCalendar.build(zone="America/New_York", country="US")
# Company days off on top of public holidays, and a shop open across the DST hour.
EXTRA = BusinessCalendar.build(
    zone="Europe/Berlin",
    working_days="0-6",
    working_hours="01:00-23:00",
    extra_holidays=[date(2025, 3, 31), date(2025, 10, 27)],
)
CALENDARS = st.sampled_from([BERLIN, NEW_YORK, EXTRA])

# Around both DST changes of 2024-2026 (Europe: last Sundays of March/October; US: March/Nov).
moments = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))


def _inside(calendar: BusinessCalendar, moment: datetime) -> bool:
    return calendar.is_working_moment(moment)


@settings(max_examples=300, deadline=None)
@given(calendar=CALENDARS, start=moments, duration=durations)
def test_deadlines_never_fall_outside_working_hours(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    assert _inside(calendar, due)
    assert due >= start
    local = due.astimezone(calendar.zone)
    assert calendar.opens <= local.time() <= calendar.closes
    assert calendar.is_business_day(local.date())


@settings(max_examples=300, deadline=None)
@given(calendar=CALENDARS, start=moments, duration=durations)
def test_adding_then_subtracting_is_stable(calendar, start, duration):
    begin = next_business_moment(calendar, start)
    due = add_business_time(calendar, begin, duration)
    assert subtract_business_time(calendar, due, duration) == begin


@settings(max_examples=200, deadline=None)
@given(
    calendar=CALENDARS,
    start=moments,
    first=durations,
    second=durations,
)
def test_adding_is_additive(calendar, start, first, second):
    once = add_business_time(calendar, start, first + second)
    twice = add_business_time(calendar, add_business_time(calendar, start, first), second)
    assert once == twice


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, start=moments)
def test_next_business_day_closes_a_later_business_day(calendar, start):
    due = end_of_next_business_day(calendar, start)
    local = due.astimezone(calendar.zone)
    assert local.time() == calendar.closes
    assert calendar.is_business_day(local.date())
    assert local.date() > start.astimezone(calendar.zone).date()
    between = local.date() - timedelta(days=1)
    while between > start.astimezone(calendar.zone).date():
        assert not calendar.is_business_day(between)
        between -= timedelta(days=1)


def _berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))


def test_four_business_hours_across_the_spring_dst_change_in_berlin():
    # Friday 2025-03-28 15:00 CET: 2 h left on Friday; Sunday 30 March clocks go forward.
    due = add_business_time(BERLIN, _berlin(2025, 3, 28, 15, 0), timedelta(hours=4))
    assert due.astimezone(BERLIN.zone) == _berlin(2025, 3, 31, 11, 0)  # Monday, CEST
    assert due == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)


def test_business_hours_across_the_autumn_dst_change_in_new_york():
    ny = ZoneInfo("America/New_York")
    # Friday 2025-10-31 16:00 EDT; Sunday 2 November clocks go back.
    due = add_business_time(NEW_YORK, datetime(2025, 10, 31, 16, 0, tzinfo=ny), timedelta(hours=4))
    assert due.astimezone(ny) == datetime(2025, 11, 3, 12, 0, tzinfo=ny)
    assert due == datetime(2025, 11, 3, 17, 0, tzinfo=UTC)  # EST = UTC-5


def test_a_window_spanning_the_dst_hour_has_one_hour_less_in_spring():
    # 01:00-23:00 on Sunday 30 March 2025 in Berlin is 21 real hours (02:00 does not exist).
    assert EXTRA.window(date(2025, 3, 30))[1] - EXTRA.window(date(2025, 3, 30))[0] == timedelta(
        hours=21
    )
    due = add_business_time(EXTRA, _berlin(2025, 3, 30, 1, 0), timedelta(hours=21))
    assert due.astimezone(EXTRA.zone) == _berlin(2025, 3, 30, 23, 0)


def test_public_and_extra_holidays_are_skipped():
    # Good Friday 18 April and Easter Monday 21 April 2025 are German public holidays.
    due = add_business_time(BERLIN, _berlin(2025, 4, 17, 16, 0), timedelta(hours=2))
    assert due.astimezone(BERLIN.zone) == _berlin(2025, 4, 22, 10, 0)
    # Monday 31 March 2025 is an extra (admin-edited) day off in EXTRA.
    due = add_business_time(EXTRA, _berlin(2025, 3, 30, 22, 30), timedelta(hours=1))
    assert due.astimezone(EXTRA.zone) == _berlin(2025, 4, 1, 1, 30)


def test_sev3_next_business_day_examples():
    assert end_of_next_business_day(BERLIN, _berlin(2025, 3, 7, 10, 0)) == _berlin(
        2025, 3, 10, 17, 0
    )  # Friday → Monday close
    assert end_of_next_business_day(BERLIN, _berlin(2025, 3, 8, 10, 0)) == _berlin(
        2025, 3, 10, 17, 0
    )  # Saturday → Monday close
    assert end_of_next_business_day(BERLIN, _berlin(2025, 12, 23, 20, 0)) == _berlin(
        2025, 12, 24, 17, 0
    )  # the 24th is a working day in the DE table
    assert end_of_next_business_day(BERLIN, _berlin(2025, 12, 24, 20, 0)) == _berlin(
        2025, 12, 29, 17, 0
    )  # 25th/26th public holidays, 27th/28th the weekend


def test_outside_hours_starts_at_next_opening():
    assert next_business_moment(BERLIN, _berlin(2025, 3, 7, 17, 0)) == _berlin(2025, 3, 10, 9, 0)
    assert next_business_moment(BERLIN, _berlin(2025, 3, 7, 8, 0)) == _berlin(2025, 3, 7, 9, 0)
    assert add_business_time(BERLIN, _berlin(2025, 3, 7, 16, 0), timedelta(hours=1)) == _berlin(
        2025, 3, 7, 17, 0
    )  # a deadline may fall on the close


def test_parse_working_days():
    assert parse_working_days("0-4") == frozenset({0, 1, 2, 3, 4})
    assert parse_working_days("0-2,5") == frozenset({0, 1, 2, 5})
    with pytest.raises(Exception, match="weekdays"):
        parse_working_days("7")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(BERLIN, datetime(2025, 3, 7, 10, 0), timedelta(hours=1))  # noqa: DTZ001
    assert time(9, 0) == BERLIN.opens
