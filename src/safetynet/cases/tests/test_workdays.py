"""Deadlines in working days across the 2026 Spring Festival and National Day, with make-up workdays."""

from __future__ import annotations

import datetime as dt

import pytest

from safetynet.cases.workdays import add_working_days, is_workday, working_days_between

pytestmark = pytest.mark.usefixtures("clock")

D = dt.date


def test_spring_festival_2026_and_its_make_up_saturdays() -> None:
    # Holidays 15-23 February 2026; Saturday 14 and Saturday 28 February are working days.
    assert is_workday(D(2026, 2, 14)) and is_workday(D(2026, 2, 28))
    assert not any(is_workday(D(2026, 2, d)) for d in range(15, 24))
    # A red warning raised on Friday 13 February is due the next working day: the make-up Saturday.
    assert add_working_days(D(2026, 2, 13), 1) == (D(2026, 2, 14), True)
    # Raised on the make-up Saturday: nine holidays later, Tuesday 24 February.
    assert add_working_days(D(2026, 2, 14), 1) == (D(2026, 2, 24), True)
    # Five working days from Friday 13 February: 14, 24, 25, 26, 27 February.
    assert add_working_days(D(2026, 2, 13), 5)[0] == D(2026, 2, 27)
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 28)) == 6


def test_national_day_2026() -> None:
    # 1-7 October are holidays; Saturday 10 October is a make-up working day.
    assert not any(is_workday(D(2026, 10, d)) for d in range(1, 8))
    assert is_workday(D(2026, 10, 10)) and not is_workday(D(2026, 10, 11))
    assert add_working_days(D(2026, 9, 30), 1)[0] == D(2026, 10, 8)
    assert add_working_days(D(2026, 10, 9), 1)[0] == D(2026, 10, 10)
    # A dibao decision due in 30 working days from 20 September 2026 (Mid-Autumn on 25-27 September, National Day).
    due, certain = add_working_days(D(2026, 9, 20), 30)
    assert certain and working_days_between(D(2026, 9, 20), due) == 30 and is_workday(due)


def test_a_year_without_a_published_calendar_counts_weekdays_and_says_so() -> None:
    due, certain = add_working_days(D(2026, 12, 25), 30)
    assert not certain and due.year == 2027 and due.weekday() < 5
    assert add_working_days(D(2026, 12, 1), 5) == (D(2026, 12, 8), True)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 1, 1), -1)
