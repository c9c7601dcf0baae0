"""Resident identity numbers that python-stdnum accepts, unique by construction."""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import stdnum

# Birth years we may need: the oldest registered residents down to babies born on the as-of date.
FIRST_YEAR = 1900
LAST_YEAR = 2100

# Sequence numbers 001-998 give 499 slots per sex. STRIDE is a prime that divides no partition's
# capacity, so counter * STRIDE mod capacity visits every slot once: sequence numbers look scattered
# (as real ones do) while staying unique without remembering which were handed out.
SLOTS = 499
STRIDE = 211

_ENTRY = re.compile(r"^(\s*)(\d+)\s+(\w+)=\"(.*)\"$")


@dataclass(frozen=True, slots=True)
class Division:
    """One name a 6-digit division code carried, over its years of validity (inclusive, None = open)."""

    code: str
    name: str
    start: int | None
    end: int | None

    def valid_in(self, year: int) -> bool:
        return (self.start is None or year >= self.start) and (self.end is None or year <= self.end)


@lru_cache(maxsize=1)
def divisions() -> dict[str, list[Division]]:
    """Parse python-stdnum's division table, the same data its `cn.ric` validation uses."""
    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    table: dict[str, list[Division]] = {}
    province = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _ENTRY.match(line)
        if not match:
            continue
        indent, digits, _kind, value = match.groups()
        if not indent:
            province = digits
            table.setdefault(province + "0000", [Division(province + "0000", value, None, None)])
            continue
        code = province + digits
        for part in value.split(","):
            start: int | None = None
            end: int | None = None
            if part.startswith("["):
                span, part = part[1:].split("]", 1)
                first, last = span.split("-")
                start = int(first) if first else None
                end = int(last) if last else None
            table.setdefault(code, []).append(Division(code, part, start, end))
    return table


def current_name(code: str, year: int) -> str:
    """The name a division code has in `year`; ValueError when the code is not valid then."""
    for division in divisions().get(code, []):
        if division.valid_in(year):
            return division.name
    raise ValueError(f"division code {code} is not valid in {year}")


@lru_cache(maxsize=64)
def birthplace_codes(code: str, today_year: int) -> tuple[str, ...]:
    """Birthplace code by birth year (index year - FIRST_YEAR) for people first registered in `code`'s area.

    An area keeps its name when it is renumbered (夏津县 was 372423 until 1994, 371427 since), so the
    codes valid in earlier years are found by name among the codes of the same province.
    """
    name = current_name(code, today_year)
    candidates = [code] + sorted(
        other
        for other, entries in divisions().items()
        if other != code and other[:2] == code[:2] and any(entry.name == name for entry in entries)
    )
    by_year: list[str] = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for candidate in candidates:
            if any(e.name == name and e.valid_in(year) for e in divisions()[candidate]):
                by_year.append(candidate)
                break
        else:
            raise ValueError(f"no birthplace code of {name} ({code}) is valid in {year}")
    return tuple(by_year)


def check_character(first17: str) -> str:
    """GB 11643 MOD 11-2 check character; base 13 works because 13 = 2 (mod 11), like stdnum does."""
    checksum = (1 - 2 * int(first17, 13)) % 11
    return "X" if checksum == 10 else str(checksum)


def wrong_check_character(number: str) -> str:
    """The same number with another, so certainly wrong, check character, as a typing slip gives."""
    alphabet = "0123456789X"
    shift = 1 + int(number[14:17]) % 10  # 1..10: never a multiple of 11, never the right character
    return number[:-1] + alphabet[(alphabet.index(number[-1].upper()) + shift) % 11]


@lru_cache(maxsize=4)
def _day_tables(first_day: int, last_day: int) -> tuple[list[str], list[int]]:
    """YYYYMMDD strings and birth-year indexes per day, shared by every township's allocator."""
    days = [date.fromordinal(day) for day in range(first_day, last_day + 1)]
    return [day.strftime("%Y%m%d") for day in days], [day.year - FIRST_YEAR for day in days]


class IdAllocator:
    """Hands out unique ID numbers: one counter per (birthplace code, birth day, sex) in a compact array.

    Townships are generated independently (possibly in parallel), so each gets its own share of the
    sequence numbers: partition p of P uses slots p, p + P, p + 2P ... (real sequence numbers are also
    assigned per police station).
    """

    def __init__(
        self,
        origins: list[str],
        first_day: int,
        last_day: int,
        today_year: int,
        partition: int = 0,
        partitions: int = 1,
    ) -> None:
        self.first_day = first_day
        self.days = last_day - first_day + 1
        self.partition = partition
        self.partitions = partitions
        self.capacity = SLOTS // partitions
        self.codes: list[str] = []
        index: dict[str, int] = {}
        # Per origin, per birth year: index into self.codes.
        self.origin_year_code: list[list[int]] = []
        for origin in origins:
            row = []
            for code in birthplace_codes(origin, today_year):
                if code not in index:
                    index[code] = len(self.codes)
                    self.codes.append(code)
                row.append(index[code])
            self.origin_year_code.append(row)
        self.counts = array("H", [0]) * (len(self.codes) * self.days * 2)
        self.ymd, self.year_index = _day_tables(first_day, last_day)

    def allocate(self, origin: int, birth_day: int, male: bool) -> tuple[str, int]:
        """Return (id_number, birth_day).

        When the slots of that day are full, the birth day moves by up to a week, and failing that the
        person is given the next origin's birthplace code: plausible, and it never repeats a number.
        """
        last = self.first_day + self.days - 1
        for attempt in range(len(self.origin_year_code)):
            codes = self.origin_year_code[(origin + attempt) % len(self.origin_year_code)]
            for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7):
                offset = min(max(birth_day + shift, self.first_day), last) - self.first_day
                code_index = codes[self.year_index[offset]]
                key = ((code_index * self.days + offset) << 1) | male
                used = self.counts[key]
                if used >= self.capacity:
                    continue
                self.counts[key] = used + 1
                slot = (used * STRIDE + key * 7) % self.capacity * self.partitions + self.partition
                first17 = f"{self.codes[code_index]}{self.ymd[offset]}{2 * slot + 2 - male:03d}"
                return first17 + check_character(first17), offset + self.first_day
        raise RuntimeError("identity number space exhausted; use fewer persons per county")
