"""Working days with China's statutory holidays and make-up workdays (chinesecalendar).

The State Council publishes each year's holidays in the autumn before; for a year the calendar does not
know yet, Monday to Friday count as working days and the deadline is flagged as estimated.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache

import chinese_calendar

MAX_SPAN = 400  # working days; a longer deadline is a data error, not a deadline


# chinese_calendar checks every date against the min and max of its whole holiday table (about 30 µs a
# call): the answer for a day never changes within a process, so each day is asked once.
@lru_cache(maxsize=16384)
def known(day: dt.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=16384)
def is_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The day by which something started on `start` is due after `days` working days (the start day
    itself not counted), and whether every day on the way was in the published calendar."""
    if not 0 <= days <= MAX_SPAN:
        raise ValueError(f"工作日数应在 0 到 {MAX_SPAN} 之间")
    day, left, certain = start, days, known(start)
    while left > 0 or not is_workday(day):
        day += dt.timedelta(days=1)
        certain = certain and known(day)
        if is_workday(day):
            left -= 1
    return day, certain


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    if start >= _EPOCH and (end - _EPOCH).days < _SPAN:
        return _counted_to(end) - _counted_to(start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + dt.timedelta(days=n)))


# Working days counted once from an epoch, day by day as far as asked: a span is then two lookups (the
# leaders' figures count millions of spans of up to years).
_EPOCH, _SPAN = dt.date(2000, 1, 1), 50_000
_counts = [0]  # _counts[i]: working days after _EPOCH up to and including _EPOCH + i days
_counts_lock = threading.Lock()


def _counted_to(day: dt.date) -> int:
    index = (day - _EPOCH).days
    if index >= len(_counts):
        with _counts_lock:
            while len(_counts) <= index:
                _counts.append(_counts[-1] + is_workday(_EPOCH + dt.timedelta(days=len(_counts))))
    return _counts[index]


def working_days_before(day: dt.date, days: int) -> dt.date:
    """The latest date with `days` working days after it up to and including `day`: a deadline on or
    before it is at least that many working days overdue on `day`."""
    if not 0 <= days <= MAX_SPAN:
        raise ValueError(f"工作日数应在 0 到 {MAX_SPAN} 之间")
    left = days
    while left > 0:
        if is_workday(day):
            left -= 1
        day -= dt.timedelta(days=1)
    return day
