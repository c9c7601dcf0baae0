"""One large departmental feed file, fast, for ingest benchmarks: pooled persons, preformatted values.

Rows are built from pools computed once (ID numbers and names of synthetic persons, dates as strings,
medical amounts) and written in chunks of CHUNK_ROWS rows, each from its own seeded RNG, so chunks can
be generated in worker processes and the file is the same whatever the number of workers.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from safetynet.demo import names
from safetynet.demo.context import Calendar, Rng
from safetynet.demo.feeds import (
    BUSINESS_KINDS,
    FARM_VEHICLES,
    HARDSHIP_CALLS,
    INPATIENT_ICD,
    OUTPATIENT_ICD,
    RISK_TYPES,
    ROUTINE_CALLS,
    SERIOUS_ICD,
    VEHICLE_TYPES,
)
from safetynet.demo.formats import FEED_COLUMNS
from safetynet.demo.generator import _origins
from safetynet.demo.ids import IdAllocator, wrong_check_character
from safetynet.demo.regions import DEFAULT_COUNTY, build_county

__all__ = ["BAD_KINDS", "DEFAULT_COUNTY", "ENCODINGS", "FEED_COLUMNS", "bad_rows", "generate_feed"]

CHUNK_ROWS = 100_000
WINDOW_DAYS = 730  # event dates lie 0..729 days before as_of: within the last two years, never ahead
POOL = 500_000  # default cap of the person pool of sources drawing persons at random
MAX_POOL = 2_000_000
ENCODINGS = ("utf-8", "utf-8-sig", "gbk")
BAD_KINDS = ("check_digit", "negative_money", "future_date", "bad_date", "unknown_enum", "duplicate_key")
TAILS = 1 << 16  # preformatted medical amount/diagnosis combinations (fewer for small files)

_PLATE_PROVINCES = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫",
    "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵",
    "53": "云", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip
_PLATE_SYMBOLS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I or O on plates
_DISABILITY_TYPES = ["physical", "physical", "physical", "visual", "hearing", "speech", "intellectual",
                     "mental", "multiple"]  # fmt: skip
_DISASTER_KINDS = ["暴雨洪涝灾害", "风雹灾害", "干旱灾害", "龙卷风灾害", "低温冷冻灾害", "房屋火灾"]


@dataclass(frozen=True, slots=True)
class _Spec:
    """How a source's rows are drawn, and which columns the bad-row kinds may break."""

    ages: tuple[int, int, float]  # youngest, oldest, share drawn from the 60+ distribution
    per_person: float  # rows per person on average
    periods: int  # 0: persons drawn at random; else row i is person i % P in period i // P (< periods)
    date: str
    money: str = ""
    enum: str = ""
    bad_enum: str = "unknown"
    key: str = ""
    key_prefix: str = ""


# Everybody is at least 3 years old, so any date of the two-year window is after their birth.
_SPECS = {
    "medical_claims": _Spec((3, 100, 0.45), 20, 0, "settle_date", "out_of_pocket", "inpatient", "不详",
                            "claim_id", "YB"),
    "disability": _Spec((3, 95, 0.4), 1, 1, "issued_on", enum="level", bad_enum="5"),
    "deaths": _Spec((18, 100, 0.85), 1, 1, "death_date"),
    "unemployment": _Spec((18, 59, 0.0), 1, 2, "registered_on", "benefit_monthly", "status"),
    "pensions": _Spec((60, 100, 1.0), 12, 24, "as_of", "monthly_amount"),
    "students": _Spec((5, 22, 0.0), 2, 4, "as_of", enum="stage"),
    "disasters": _Spec((18, 95, 0.3), 1, 12, "occurred_on", enum="loss_level"),
    "relapse_monitoring": _Spec((3, 95, 0.35), 2, 24, "as_of", enum="status"),
    "housing_safety": _Spec((25, 95, 0.5), 1, 2, "assessed_on", enum="rating", bad_enum="E"),
    "vehicles": _Spec((18, 75, 0.1), 1.2, 0, "registered_on"),
    "businesses": _Spec((20, 70, 0.1), 1.1, 0, "registered_on", enum="status"),
    "hotline": _Spec((18, 95, 0.3), 1.5, 0, "called_at", key="call_id", key_prefix="RX"),
}  # fmt: skip


def _kinds(spec: _Spec) -> tuple[str, ...]:
    """Bad-row kinds that apply to a source, in BAD_KINDS order."""
    applies = {
        "check_digit": True,
        "negative_money": bool(spec.money),
        "future_date": True,
        "bad_date": True,
        "unknown_enum": bool(spec.enum),
        "duplicate_key": bool(spec.key),
    }
    return tuple(kind for kind in BAD_KINDS if applies[kind])


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _BadRows:
    """Which rows are bad: `count` rows spread evenly with a seeded offset, so any chunk (or any row)
    can tell without a list. Row p_j = (j * rows + offset) // count for j < count; distinct as
    count <= rows. Kinds take turns; a duplicate key copies the key of the nearest earlier good row."""

    def __init__(self, source: str, rows: int, seed: int, bad_rate: float, kinds: tuple[str, ...]) -> None:
        if not 0.0 <= bad_rate <= 1.0:
            raise ValueError("bad_rate must be between 0 and 1")
        self.rows = rows
        self.count = round(rows * bad_rate)
        self.kinds = kinds
        rng = Rng(f"{seed}:{source}:bad")
        self.offset = rng.randrange(rows) if self.count else 0
        self.turn = rng.randrange(len(kinds)) if kinds else 0

    def position(self, j: int) -> int:
        return (j * self.rows + self.offset) // self.count

    def _first_at_or_after(self, row: int) -> int:
        return max(0, -((self.offset - row * self.count) // self.rows))

    def is_bad(self, row: int) -> bool:
        if not self.count:
            return False
        j = self._first_at_or_after(row)
        return j < self.count and self.position(j) == row

    def between(self, start: int, end: int) -> Iterator[tuple[int, str, int]]:
        """(row, kind, row whose key a duplicate copies or -1) for the bad rows in [start, end)."""
        if not self.count:
            return
        j = self._first_at_or_after(start)
        while j < self.count and (row := self.position(j)) < end:
            kind = self.kinds[(j + self.turn) % len(self.kinds)]
            original = -1
            if kind == "duplicate_key":
                original = next((q for q in range(row - 1, max(row - 9, -1), -1) if not self.is_bad(q)), -1)
                if original < 0:  # no good row just before: break something else
                    kind = next((k for k in self.kinds if k != "duplicate_key"), "check_digit")
            yield row, kind, original
            j += 1


def _spec(source: str) -> _Spec:
    if source not in _SPECS:
        raise ValueError(f"unknown source {source!r}; one of {', '.join(_SPECS)}")
    return _SPECS[source]


def _chosen_kinds(source: str, bad_kinds: tuple[str, ...] | None) -> tuple[str, ...]:
    applicable = _kinds(_spec(source))
    if bad_kinds is None:
        return applicable
    wrong = [kind for kind in bad_kinds if kind not in applicable]
    if wrong or not bad_kinds:
        raise ValueError(f"bad kinds for {source}: some of {', '.join(applicable)}; not {wrong}")
    return tuple(kind for kind in applicable if kind in bad_kinds)


def bad_rows(
    source: str, rows: int, seed: int, bad_rate: float, bad_kinds: tuple[str, ...] | None = None
) -> Iterator[tuple[int, str]]:
    """(line number, kind) of every bad row generate_feed writes with these arguments (header = line 1)."""
    plan = _BadRows(source, rows, seed, bad_rate, _chosen_kinds(source, bad_kinds))
    for row, kind, _original in plan.between(0, rows):
        yield row + 2, kind


class _Feed:
    """Pools and settings of one file; picklable, shared with worker processes."""

    def __init__(
        self,
        source: str,
        rows: int,
        seed: int,
        as_of: date,
        encoding: str,
        bad_rate: float,
        county_code: str,
        persons: int | None,
        bad_kinds: tuple[str, ...] | None,
    ) -> None:
        spec = _spec(source)
        columns = FEED_COLUMNS[source]
        self.source, self.rows, self.seed = source, rows, seed
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.tag = f"{abs(seed) % 1_000_000:06d}"  # keeps keys of files with different seeds apart
        self.id_col = columns.index("id_number")
        self.date_col = columns.index(spec.date)
        self.money_col = columns.index(spec.money) if spec.money else -1
        self.enum_col = columns.index(spec.enum) if spec.enum else -1
        self.key_col = columns.index(spec.key) if spec.key else -1
        self.bad_enum, self.key_prefix = spec.bad_enum, spec.key_prefix
        self.bad = _BadRows(source, rows, seed, bad_rate, _chosen_kinds(source, bad_kinds))

        need = math.ceil(rows / spec.periods) if spec.periods else 1
        size = persons if persons else min(POOL, math.ceil(rows / spec.per_person))
        self.size = max(size, need, 1)
        if self.size > MAX_POOL:
            raise ValueError(
                f"{source}: a pool of {self.size} persons is more than {MAX_POOL}"
                + (f" (this source takes at most {MAX_POOL * spec.periods} rows)" if spec.periods else "")
            )
        self.periods = spec.periods

        self.calendar = calendar = Calendar.around(as_of)
        self.today = today = calendar.today
        self.recent = [calendar.iso(today - back) for back in range(WINDOW_DAYS)]
        rng = Rng(f"{seed}:{source}:pool")
        county = build_county(Rng(f"{seed}:county"), self.size, county_code, as_of.year)
        self.county_name = county.name
        self.townships = [t.name for t in county.townships]
        self.rural = [v for v in county.villages if not v.urban] or county.villages
        self.ids, self.names, self.name_at, self.ages = self._people(rng, spec, county_code, as_of)

        # Snapshot dates: month starts (pensions, relapse monitoring) and semester starts (students).
        self.months: list[str] = []
        year, month = as_of.year, as_of.month
        for _ in range(24):
            self.months.append(date(year, month, 1).isoformat())
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        self.semesters: list[str] = []
        year = as_of.year
        while len(self.semesters) < 4:
            for start in (date(year, 9, 1), date(year, 3, 1)):
                if start <= as_of and len(self.semesters) < 4:
                    self.semesters.append(start.isoformat())
            year -= 1
        self.events = self._events(rng)
        self.tails = self._tails(rng, min(TAILS, max(2000, rows // 4))) if source == "medical_claims" else []
        if source == "pensions":
            # Rural residents' basic pension (150-350 yuan) or a retiree's (1,800-5,500 yuan), in cents.
            self.pension = array(
                "I",
                (
                    rng.randint(15_000, 35_000) if rng.random() < 0.7 else rng.randint(180_000, 550_000)
                    for _ in range(self.size)
                ),
            )
        city = county_code[:4]
        letter = "N" if city == "3714" else _PLATE_SYMBOLS[(int(city[2:]) - 1) % 24]
        self.plate_prefix = _PLATE_PROVINCES.get(county_code[:2], "鲁") + letter

    def _people(
        self, rng: Rng, spec: _Spec, county_code: str, as_of: date
    ) -> tuple[str, str, array[int], bytes]:
        """The pool as flat data (no object per person): ID numbers as one ASCII string of 18 characters
        each, names as one string with offsets (person k's is names[at[k]:at[k + 1]]), and ages."""
        calendar = self.calendar
        neighbours, outsiders = _origins(county_code, as_of.year)
        origins = [county_code, *neighbours, *outsiders]
        allocator = IdAllocator(origins, calendar.first, calendar.today, as_of.year)
        youngest, oldest, elderly = spec.ages
        id_blocks: list[str] = []
        name_blocks: list[str] = []
        at = array("I", [0])
        ages = bytearray()
        random = rng.random
        for first in range(0, self.size, 10_000):
            ids: list[str] = []
            people: list[str] = []
            for _ in range(min(10_000, self.size - first)):
                if random() < elderly or youngest >= 60:
                    age = 101
                    while not max(60, youngest) <= age <= oldest:
                        age = 60 + int(rng.expovariate(1 / 11))
                else:
                    age = rng.randint(youngest, min(oldest, 59))
                male = random() < 0.5
                roll = random()
                origin = 0 if roll < 0.9 else 1 + int((roll - 0.9) * 10 * (len(origins) - 1))
                id_number, birth = allocator.allocate(origin, calendar.birth_day(rng, age), male)
                name = names.surname(rng) + names.given_name(rng, male, calendar.year(birth))
                ids.append(id_number)
                people.append(name)
                at.append(at[-1] + len(name))
                ages.append(calendar.age(birth))
            id_blocks.append("".join(ids))
            name_blocks.append("".join(people))
        return "".join(id_blocks), "".join(name_blocks), at, bytes(ages)

    def _events(self, rng: Rng) -> list[tuple[str, str, str]]:
        """Twelve disasters of the window: (event_id, event_name, occurred_on), latest first."""
        days = sorted((self.today - rng.randint(0, WINDOW_DAYS - 1) for _ in range(12)), reverse=True)
        events = []
        for n, day in enumerate(days):
            when = date.fromordinal(day)
            kind = rng.choice(_DISASTER_KINDS)
            events.append(
                (f"ZH{when.year}{self.tag}{n + 1:03d}", f"{when.month}月{when.day}日{kind}", when.isoformat())
            )
        return events

    @staticmethod
    def _tails(rng: Rng, count: int) -> list[str]:
        """Preformatted "inpatient,total_cost,fund_paid,out_of_pocket,diagnosis_code,serious_illness"."""
        tails = []
        for _ in range(count):
            roll = rng.random()
            if roll < 0.85:
                total = rng.randint(50, 1500) * 100 + rng.randint(0, 99)
                share, diagnosis, inpatient = rng.uniform(0.3, 0.6), rng.choice(OUTPATIENT_ICD), "否"
            elif roll < 0.97:
                total = int(rng.lognormvariate(0.0, 0.6) * 9000) * 100 + rng.randint(0, 99)
                share, diagnosis, inpatient = rng.uniform(0.55, 0.8), rng.choice(INPATIENT_ICD), "是"
            else:
                total = int(rng.lognormvariate(0.0, 0.5) * 30000) * 100 + rng.randint(0, 99)
                share, diagnosis, inpatient = rng.uniform(0.55, 0.75), rng.choice(SERIOUS_ICD), "是"
            fund = int(total * share)
            serious = "是" if diagnosis in SERIOUS_ICD else "否"
            tails.append(
                f"{inpatient},{_yuan(total)},{_yuan(fund)},{_yuan(total - fund)},{diagnosis},{serious}"
            )
        return tails

    # -- rows -------------------------------------------------------------------------------------------

    def _person(self, rng: Rng, row: int) -> int:
        return row % self.size if self.periods else int(rng.random() * self.size)

    def _id(self, person: int) -> str:
        return self.ids[18 * person : 18 * person + 18]

    def _name(self, person: int) -> str:
        return self.names[self.name_at[person] : self.name_at[person + 1]]

    def _day(self, rng: Rng, period: int = 0, periods: int = 1) -> str:
        """A date of the window; with periods, of the period's equal share of it (0 = latest)."""
        width = WINDOW_DAYS // periods
        return self.recent[period * width + int(rng.random() * width)]

    def _key(self, row: int) -> str:
        return f"{self.key_prefix}{self.tag}{row + 1:010d}"

    def medical_claims(self, rng: Rng, row: int) -> list[str]:
        # The hot path (inlined lookups); the last field holds six columns, split only to break a row.
        person = int(rng.random() * self.size)
        at = self.name_at
        return [
            f"YB{self.tag}{row + 1:010d}",
            self.ids[18 * person : 18 * person + 18],
            self.names[at[person] : at[person + 1]],
            self.recent[int(rng.random() * WINDOW_DAYS)],
            self.tails[int(rng.random() * len(self.tails))],
        ]

    def pensions(self, rng: Rng, row: int) -> list[str]:
        person, month = row % self.size, row // self.size
        years_back = int(self.months[0][:4]) - int(self.months[month][:4])
        cents = self.pension[person] * 100 // (100 + 3 * years_back)  # raised about 3 % each January
        return [self._id(person), _yuan(cents), self.months[month]]

    def deaths(self, rng: Rng, row: int) -> list[str]:
        return [self._id(row), self._name(row), self._day(rng)]

    def disability(self, rng: Rng, row: int) -> list[str]:
        level = "1234"[min(3, int(rng.random() * 5))]
        status = "valid" if rng.random() < 0.97 else "revoked"
        return [self._id(row), self._name(row), rng.choice(_DISABILITY_TYPES), level, self._day(rng), status]

    def unemployment(self, rng: Rng, row: int) -> list[str]:
        person, period = row % self.size, row // self.size
        registered = period == 0 and rng.random() < 0.7
        benefit = f"{rng.randint(150, 175) * 10}" if registered and rng.random() < 0.6 else ""
        status = "registered" if registered else "reemployed"
        return [self._id(person), self._name(person), self._day(rng, period, 2), status, benefit]

    def students(self, rng: Rng, row: int) -> list[str]:
        person, period = row % self.size, row // self.size
        age = self.ages[person] - (period + 1) // 2
        if age < 6:
            stage, school = "preschool", f"{self.townships[person % len(self.townships)]}中心幼儿园"
        elif age < 12:
            stage, school = "primary", f"{self.townships[person % len(self.townships)]}中心小学"
        elif age < 15:
            stage, school = "junior", f"{self.county_name}第{'一二三四'[person % 4]}中学"
        elif age < 18:
            stage = "senior" if person % 3 else "vocational"
            school = f"{self.county_name}第一中学" if person % 3 else f"{self.county_name}职业中等专业学校"
        else:
            stage = "college" if person % 3 else "vocational"
            school = "德州学院" if person % 3 else "德州职业技术学院"
        roll = rng.random()
        status = "enrolled" if roll < 0.97 else "dropped_out" if roll < 0.99 else "suspended"
        return [self._id(person), self._name(person), school, stage, status, self.semesters[period]]

    def disasters(self, rng: Rng, row: int) -> list[str]:
        person, event = row % self.size, self.events[row // self.size]
        loss = rng.choice(["minor", "minor", "moderate", "moderate", "severe", "total"])
        damaged = "true" if loss in ("severe", "total") or rng.random() < 0.2 else "false"
        return [event[0], event[1], self._id(person), "", event[2], loss, damaged]

    def relapse_monitoring(self, rng: Rng, row: int) -> list[str]:
        person, month = row % self.size, row // self.size
        status = "monitoring" if rng.random() < 0.55 else "risk_eliminated"
        risk = RISK_TYPES[person % len(RISK_TYPES)]
        return [self._id(person), self._name(person), status, risk, self.months[month]]

    def housing_safety(self, rng: Rng, row: int) -> list[str]:
        person, period = row % self.size, row // self.size
        roll = rng.random()
        rating = "A" if roll < 0.6 else "B" if roll < 0.9 else "C" if roll < 0.97 else "D"
        village = self.rural[person % len(self.rural)].code
        return [self._id(person), village, rating, self._day(rng, period, 2)]

    def vehicles(self, rng: Rng, row: int) -> list[str]:
        person = int(rng.random() * self.size)
        # Plates from the row number, scrambled: a letter, four digits, a letter or digit; unique for
        # up to 8,160,000 rows (the multiplier is prime to 24 * 10,000 * 34).
        n = (row * 7_368_787 + int(self.tag)) % 8_160_000
        plate = (
            f"{self.plate_prefix}{_PLATE_SYMBOLS[n // 340_000]}{n // 34 % 10_000:04d}{_PLATE_SYMBOLS[n % 34]}"
        )
        kind = rng.choice(FARM_VEHICLES if rng.random() < 0.3 else VEHICLE_TYPES)
        return [self._id(person), plate, self._day(rng), kind]

    def businesses(self, rng: Rng, row: int) -> list[str]:
        person = int(rng.random() * self.size)
        business = f"{self.county_name}{self._name(person)}{rng.choice(BUSINESS_KINDS)}"
        status = "active" if rng.random() < 0.85 else "closed"
        return [self._id(person), business, self._day(rng), status]

    def hotline(self, rng: Rng, row: int) -> list[str]:
        person = int(rng.random() * self.size)
        seconds = rng.randint(8 * 3600, 18 * 3600)
        called_at = f"{self._day(rng)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        id_number = self._id(person) if rng.random() < 0.35 else ""
        village = self.rural[person % len(self.rural)]
        region = f"{village.township.name}{village.base}" if rng.random() < 0.7 else ""
        summary = rng.choice(HARDSHIP_CALLS if rng.random() < 0.2 else ROUTINE_CALLS)
        return [self._key(row), called_at, self._name(person), names.phone(rng), id_number, region, summary]

    # -- bad rows and chunks ----------------------------------------------------------------------------

    def _break(self, fields: list[str], kind: str, original: int, rng: Rng) -> None:
        """Make exactly one field of a valid row invalid, as `kind` says."""
        fields[:] = ",".join(fields).split(",")  # one field per column (no value contains a comma)
        if kind == "check_digit":
            number = fields[self.id_col] or self._id(int(rng.random() * self.size))
            fields[self.id_col] = wrong_check_character(number)
        elif kind == "negative_money":
            fields[self.money_col] = "-" + (fields[self.money_col] or "1650")
        elif kind == "future_date":
            # A mistyped year, 10-30 years ahead: in the future also for an ingest checking against the
            # real today while as_of lies in the past.
            value = fields[self.date_col]
            day = date.fromordinal(self.today + rng.randint(3653, 10957)).isoformat()
            fields[self.date_col] = day + value[10:]
        elif kind == "bad_date":
            value = fields[self.date_col]
            year, month, day = value[:10].split("-")
            if rng.random() < 0.5:
                fields[self.date_col] = f"{day}/{month}/{year}" + value[10:].replace("T", " ")
            else:
                fields[self.date_col] = f"{year}-{month}-32" + value[10:]
        elif kind == "unknown_enum":
            fields[self.enum_col] = self.bad_enum
        elif kind == "duplicate_key":
            fields[self.key_col] = self._key(original)

    def _lines(self, rng: Rng, first: int, last: int) -> list[str]:
        """Valid rows first..last-1 as lines (without line breaks)."""
        if self.source == "medical_claims":
            # The benchmark case, inlined: the same draws as medical_claims(), about twice as fast.
            random, size, ids, people, at = rng.random, self.size, self.ids, self.names, self.name_at
            recent, tails, prefix = self.recent, self.tails, f"YB{self.tag}"
            variants = len(tails)
            lines: list[str] = []
            append = lines.append
            for number in range(first + 1, last + 1):
                p = int(random() * size)
                append(
                    f"{prefix}{number:010d},{ids[18 * p : 18 * p + 18]},{people[at[p] : at[p + 1]]},"
                    f"{recent[int(random() * WINDOW_DAYS)]},{tails[int(random() * variants)]}"
                )
            return lines
        build: Callable[[Rng, int], list[str]] = getattr(self, self.source)
        join = ",".join
        return [join(build(rng, row)) for row in range(first, last)]

    def chunk(self, index: int) -> bytes:
        """Rows [index * CHUNK_ROWS, ...) of the file, encoded, without header."""
        start = index * CHUNK_ROWS
        end = min(self.rows, start + CHUNK_ROWS)
        rng = Rng(f"{self.seed}:{self.source}:{index}")
        build: Callable[[Rng, int], list[str]] = getattr(self, self.source)
        bad_rows = deque(self.bad.between(start, end))
        blocks: list[bytes] = []
        # Encoded 10,000 rows at a time: a chunk never exists as one large str or list of lines.
        for first in range(start, end, 10_000):
            last = min(end, first + 10_000)
            lines: list[str] = []
            row = first
            while bad_rows and bad_rows[0][0] < last:
                bad, kind, original = bad_rows.popleft()
                lines += self._lines(rng, row, bad)
                fields = build(rng, bad)
                self._break(fields, kind, original, rng)
                lines.append(",".join(fields))
                row = bad + 1
            lines += self._lines(rng, row, last)
            lines.append("")
            blocks.append("\n".join(lines).encode(self.codec))
        return b"".join(blocks)


_worker_feed: _Feed | None = None


def _init_worker(feed: _Feed) -> None:
    global _worker_feed
    _worker_feed = feed


def _chunk_in_worker(index: int) -> bytes:
    assert _worker_feed is not None
    return _worker_feed.chunk(index)


def _chunks(feed: _Feed, chunks: int, workers: int) -> Iterator[bytes]:
    """Encoded chunks in order; with workers, at most two per worker in flight (bounded memory)."""
    if workers <= 1:
        for index in range(chunks):
            yield feed.chunk(index)
        return
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else None)
    executor = ProcessPoolExecutor(workers, mp_context=mp, initializer=_init_worker, initargs=(feed,))
    try:
        pending: deque[Future[bytes]] = deque()
        submitted = 0
        while submitted < chunks or pending:
            while submitted < chunks and len(pending) < 2 * workers:
                pending.append(executor.submit(_chunk_in_worker, submitted))
                submitted += 1
            yield pending.popleft().result()
    finally:
        executor.shutdown(cancel_futures=True)


def generate_feed(
    out_file: Path,
    source: str,
    rows: int,
    seed: int,
    as_of: date | None = None,
    encoding: str = "utf-8",
    bad_rate: float = 0.0,
    county_code: str = DEFAULT_COUNTY,
    progress: Callable[[int], None] | None = None,
    *,
    persons: int | None = None,
    bad_kinds: tuple[str, ...] | None = None,
    workers: int | None = None,
) -> int:
    """Write `rows` rows of departmental feed `source` (canonical columns, header first) to `out_file`.

    Every row is valid by the contract unless bad_rate > 0: then exactly round(rows * bad_rate) rows,
    spread evenly, each break one thing of BAD_KINDS that applies to the source (`bad_rows` lists their
    line numbers and kinds; `bad_kinds` restricts the kinds). Persons come from a pool of `persons`
    synthetic people (default: medical_claims about 20 claims a person, at most 500,000; snapshot
    sources such as pensions one row per person and month). Same arguments give the same bytes,
    whatever `workers` (default: every CPU for files over 200,000 rows). Returns the data rows written.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
    as_of = as_of or date.today()
    feed = _Feed(source, rows, seed, as_of, encoding, bad_rate, county_code, persons, bad_kinds)
    chunks = math.ceil(rows / CHUNK_ROWS)
    if workers is None:
        workers = min(os.cpu_count() or 1, chunks) if rows > 2 * CHUNK_ROWS else 1
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = out_file.with_name(out_file.name + ".part")  # never a truncated file under the real name
    written = 0
    try:
        with open(partial, "wb") as out:
            if encoding == "utf-8-sig":
                out.write("\ufeff".encode())
            out.write((",".join(FEED_COLUMNS[source]) + "\n").encode(feed.codec))
            for index, block in enumerate(_chunks(feed, chunks, workers)):
                out.write(block)
                written = min(rows, (index + 1) * CHUNK_ROWS)
                if progress is not None:
                    progress(written)
        os.replace(partial, out_file)
    finally:
        partial.unlink(missing_ok=True)
    return written


def main(argv: list[str] | None = None) -> None:
    """Write one feed file: python -m safetynet.demo.bigfeed SOURCE ROWS OUT_FILE [--seed N] ..."""
    import argparse
    import sys
    import time

    parser = argparse.ArgumentParser(prog="python -m safetynet.demo.bigfeed", description=main.__doc__)
    parser.add_argument("source", choices=list(_SPECS))
    parser.add_argument("rows", type=int)
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8")
    parser.add_argument("--bad-rate", type=float, default=0.0)
    parser.add_argument("--county", default=DEFAULT_COUNTY)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    started = time.monotonic()
    written = generate_feed(
        args.out_file,
        args.source,
        args.rows,
        args.seed,
        args.as_of,
        args.encoding,
        args.bad_rate,
        args.county,
        lambda done: print(f"\r{done:,} rows", end="", file=sys.stderr),
        workers=args.workers,
    )
    print(f"\r{written:,} rows in {time.monotonic() - started:.1f} s: {args.out_file}", file=sys.stderr)


if __name__ == "__main__":
    main()
