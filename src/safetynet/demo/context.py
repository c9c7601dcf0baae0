"""Shared state of one generation run: the seeded RNG, the calendar around as_of, standards and rates."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from safetynet.demo.ids import IdAllocator

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

T = TypeVar("T")

# Days-ago bands around each rule window (12 months, 6 months, 90 days, 30 days) where no event is
# dated, so "12 months" read as 365 days or as the same day last year gives the same answer.
BAND_12M = (358, 373)
BAND_6M = (174, 191)
BAND_90D = (85, 95)
BAND_30D = (27, 34)

# Window lengths the reference evaluation uses; every event sits well inside or outside them.
WINDOW_12M = 365
WINDOW_6M = 182
WINDOW_90D = 90
WINDOW_30D = 30


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class Rng(random.Random):
    """random.Random with cheaper randint/choice (the stdlib ones cost ~1 µs each through _randbelow)."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        return seq[int(self.random() * len(seq))]


class Calendar:
    """Dates as ordinals around the as-of day, with cached ISO strings (formatting dominates otherwise).

    Read-only once built; `Calendar.around(as_of)` shares one per process.
    """

    @staticmethod
    @lru_cache(maxsize=4)
    def around(as_of: date) -> Calendar:
        return Calendar(as_of)

    def __init__(self, as_of: date, years_back: int = 110, days_ahead: int = 800) -> None:
        self.as_of = as_of
        self.today = as_of.toordinal()
        self.first = date(as_of.year - years_back, 1, 1).toordinal()
        self.last = self.today + days_ahead
        days = [date.fromordinal(day) for day in range(self.first, self.last + 1)]
        self._iso = [day.isoformat() for day in days]
        self._year = [day.year for day in days]
        self._month_day = [day.month * 100 + day.day for day in days]
        # Birthdays on 29 February are a matter of convention in years without one; keep them out of
        # the way when the as-of day is where the conventions differ.
        self._shift_feb29 = as_of.month == 2 and as_of.day == 28 and not _leap(as_of.year)
        # Snapshot dates of the feeds: pensions paid on the 1st, enrolment reported per semester.
        self.month_start = as_of.replace(day=1).toordinal()
        self.month_start_last_year = date(as_of.year - 1, as_of.month, 1).toordinal()
        semester = date(as_of.year, 9, 1) if as_of.month >= 9 else date(as_of.year, 3, 1)
        self.semester_start = (semester if as_of >= semester else date(as_of.year - 1, 9, 1)).toordinal()
        self._age_start: list[int] = []
        for age in range(years_back + 1):
            self._age_start.append(self._years_before(age + 1) + 1)

    def _years_before(self, years: int) -> int:
        year = self.as_of.year - years
        day = self.as_of.day
        if self.as_of.month == 2 and day == 29 and not _leap(year):
            day = 28
        return date(year, self.as_of.month, day).toordinal()

    def iso(self, day: int) -> str:
        return self._iso[day - self.first]

    def year(self, day: int) -> int:
        return self._year[day - self.first]

    def age(self, birth: int, at: int | None = None) -> int:
        """Whole years from birth to `at` (default as_of)."""
        at = self.today if at is None else at
        b, a = birth - self.first, at - self.first
        return self._year[a] - self._year[b] - (self._month_day[a] < self._month_day[b])

    def birth_day(self, rng: random.Random, age: int) -> int:
        """A birth day giving exactly `age` whole years on the as-of day."""
        start = self._age_start[age]
        end = self._age_start[age - 1] - 1 if age > 0 else self.today
        day = start + int(rng.random() * (end - start + 1))
        if self._shift_feb29 and self._month_day[day - self.first] == 229:
            day -= 1
        return day

    def ago(self, rng: random.Random, low: int, high: int, *avoid: tuple[int, int]) -> int:
        """A day between `low` and `high` days before as_of, outside the ambiguous bands `avoid`."""
        for _ in range(50):
            back = low + int(rng.random() * (high - low + 1))
            if not any(lo <= back <= hi for lo, hi in avoid):
                return self.today - back
        return self.today - low


@dataclass(frozen=True, slots=True)
class Standard:
    dibao: int
    tekun: int
    edge_multiplier: float = 1.5
    rigid_expense_ratio: float = 0.5

    def low_income(self, monthly_total: int, members: int) -> bool:
        """Per-capita income strictly below dibao × edge multiplier (exact: integers times 1.5)."""
        return monthly_total < self.dibao * self.edge_multiplier * members


def standard_for(year: int, urban: bool) -> Standard:
    """Plausible Shandong county standards: rural ~770, urban ~960 yuan/month in 2024, +4 % a year."""
    base = 960 if urban else 770
    dibao = round(base * 1.04 ** (year - 2024) / 10) * 10
    return Standard(dibao=dibao, tekun=round(dibao * 1.3))


@dataclass(slots=True)
class Rates:
    """Probabilities of injected hardship, per household (dropout: per secondary-school pupil)."""

    big_medical: float = 0.008
    serious_claim: float = 0.006
    breadwinner_death: float = 0.0015
    unemployment: float = 0.006
    disaster: float = 0.002
    relapse: float = 0.012
    dropout: float = 0.01
    bad_housing: float = 0.01
    repeat_hotline: float = 0.002
    rejection: float = 0.08  # among uncovered households in hardship
    near_miss: float = 0.01  # a household planted just outside one rule (demo.near_misses)

    def scaled(self, households: int) -> Rates:
        """Rates raised so a small county still gets ~15 injections of each kind and every rule occurs."""
        values = {}
        for name, share in _ELIGIBLE_SHARE.items():
            values[name] = max(getattr(self, name), min(0.5, 15.0 / max(households * share, 1.0)))
        return Rates(**values)


# Rough share of households an injection can apply to (dropout: pupils aged 12-17 per household).
_ELIGIBLE_SHARE = {
    "big_medical": 1.0,
    "serious_claim": 1.0,
    "breadwinner_death": 0.4,
    "unemployment": 0.4,
    "disaster": 0.95,
    "relapse": 0.6,
    "dropout": 0.15,
    "bad_housing": 0.6,
    "repeat_hotline": 0.95,
    "rejection": 0.1,
    "near_miss": 0.3,
}


@dataclass(slots=True)
class Context:
    rng: Rng
    calendar: Calendar
    allocator: IdAllocator
    standards: dict[bool, Standard]  # by urban
    rates: Rates
    neighbour_origins: list[int]
    outsider_origins: list[int]
    county_name: str
    prefix: str = "000"  # the township's 3 digits, keeping serial numbers unique across townships
    counters: dict[str, int] = field(default_factory=dict)

    def serial(self, kind: str, width: int, prefixed: bool = True) -> str:
        """The next serial number of `kind` in this township, zero-padded to `width` digits."""
        value = self.counters.get(kind, 0) + 1
        self.counters[kind] = value
        return f"{self.prefix if prefixed else ''}{value:0{width}d}"
