"""Column checks as set-based SQL, shared by the registry import and the data lake's feed ingest.

A column spec says what a value must look like; `checks_for` turns it into (condition, reason) pairs of
DuckDB SQL over the raw string column, true when a row is bad, so a caller can run them as one query per
check (small files) or all in one pass (large feeds). Reasons are plain Chinese a clerk can act on.
Only our own constants are ever composed into SQL: file values stay in the tables.

ID numbers and dates are read once by numpy (`with_facts` adds their facts as columns), and their checks
compare facts instead of parsing text in SQL. A check may also say which batch-wide fact makes it moot
(`Unless`), so that a batch with no row able to fail it can leave it out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ID_FACTS = ("shape_ok", "check", "check_ok", "born", "place_ok")  # what `with_facts` adds for an ID
DATE_FACTS = ("ok", "value")  # and for a date
TRUE_VALUES = ("true", "1", "是", "yes", "y")
FALSE_VALUES = ("false", "0", "否", "no", "n")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, id_number, region_code, county_code, date, timestamp, money, ratio, int, bool, enum, phone
    required: bool = True  # the value may not be empty
    choices: tuple[str, ...] = ()
    max_length: int = 0
    low: int | None = None
    high: int | None = None
    db_column: str = ""  # the table column when it differs from the file column
    not_future: bool = False  # a date that cannot lie after today (births, settlements, deaths …)

    @property
    def target(self) -> str:
        return self.db_column or self.name


class Unless(NamedTuple):
    """A fact of a whole batch that makes a check's condition false on every row of it, so that a caller
    may leave the check out of that batch's query: every value of `column` is filled (`test` "filled"),
    none is longer than `limit` bytes ("short"), the boolean `column` is true throughout ("true"), or
    every filled value is an amount of at most `limit` whole digits in one of the shapes exports write
    ("amounts", see `plain_amounts`)."""

    test: str
    column: str
    limit: int = 0

    def holds(self, batch: pa.Table | pa.RecordBatch) -> bool:
        """Whether the fact holds for `batch`: from Arrow's lengths and numpy, in a few milliseconds."""
        column = batch.column(self.column)
        if column.null_count:
            return False
        if self.test == "true":
            return bool(pc.all(column).as_py())
        if self.test == "amounts":
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            return all(plain_amounts(chunk, self.limit) for chunk in chunks)
        lengths = pc.min_max(pc.binary_length(column))
        if self.test == "filled":
            return (lengths["min"].as_py() or 0) > 0
        return (lengths["max"].as_py() or 0) <= self.limit  # "short"


def plain_amounts(values: pa.Array, whole: int) -> bool:
    """Whether every filled value reads `\\d{1,whole}(\\.\\d{1,2})?`, proven for the shapes a department's
    export writes all its amounts in: whole yuan, or always one or always two decimals. A batch of mixed
    shapes gets False (the caller keeps the regular expression), so False proves nothing."""
    if values.type != pa.string() or values.null_count or values.buffers()[2] is None:
        return False
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=n + 1, offset=values.offset * 4)
    text = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    lengths = np.diff(offsets)
    ends = (offsets[1:] - offsets[0])[lengths > 0]  # of the filled values
    lengths = lengths[lengths > 0]
    if not len(lengths):
        return True
    others = (text - np.uint8(48)) > 9  # bytes that are not ASCII digits
    found = int(np.count_nonzero(others))
    if found == 0:  # whole yuan
        return int(lengths.max()) <= whole
    if found != len(lengths):  # one point per value, or some other shape
        return False
    points = np.flatnonzero(others)
    if not (text[points] == ord(".")).all():
        return False
    for decimals in (2, 1):
        # one non-digit per filled value, the i-th of them `decimals` bytes from the i-th value's end:
        # each value has exactly that point, digits on both sides
        if (points == ends - decimals - 1).all():
            digits = lengths - decimals - 1
            return int(digits.min()) >= 1 and int(digits.max()) <= whole
    return False


@dataclass(frozen=True)
class Check:
    column: str
    condition: str  # SQL, true when the row is bad
    reason: str  # SQL string expression
    unless: Unless | None = None


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal of our own constants (enum values, never file values)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def checks_for(col: Column, today: dt.date) -> list[Check]:
    """Every check of one column, in the order a clerk should read their reasons."""
    c = f'"{col.name}"'
    filled = f"{c} <> ''"
    shown = f"left({c}, 40)"
    today_sql = f"DATE '{today.isoformat()}'"
    checks: list[Check] = []
    if col.required:
        checks.append(Check(col.name, f"{c} = ''", "'必填项为空'", Unless("filled", col.name)))
    kind = col.kind
    if kind == "enum":
        allowed = "、".join(col.choices)
        checks.append(
            Check(
                col.name,
                f"{filled} AND {c} NOT IN ({sql_list(col.choices)})",
                f"'取值“' || {shown} || '”无效，应为 {allowed} 之一'",
            )
        )
    elif kind == "date":  # the rows carry `with_facts`' shape verdict and the date itself
        ok, value = (f'"_{col.name}_{fact}"' for fact in DATE_FACTS)
        checks += [
            Check(
                col.name,
                f"{filled} AND NOT {ok}",
                f"'日期“' || {shown} || '”无效，格式应为 YYYY-MM-DD'",
                Unless("true", f"_{col.name}_{DATE_FACTS[0]}"),
            ),
            Check(col.name, f"{value} < DATE '1900-01-01'", f"'日期 ' || {c} || ' 早于 1900 年'"),
        ]
        if col.not_future:
            checks.append(Check(col.name, f"{value} > {today_sql}", f"'日期 ' || {c} || ' 晚于今天'"))
    elif kind == "timestamp":
        checks.append(
            Check(
                col.name,
                f"{filled} AND try_cast({c} AS TIMESTAMPTZ) IS NULL",
                f"'时间“' || {shown} || '”无效，应为 ISO 8601 格式，如 2026-11-28T09:30:00+08:00'",
            )
        )
        if col.not_future:
            checks.append(
                Check(
                    col.name,
                    f"try_cast({c} AS TIMESTAMPTZ)::DATE > DATE '{today.isoformat()}' + 1",
                    f"'时间 ' || {c} || ' 晚于今天'",
                )
            )
    elif kind == "money":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT regexp_full_match({c}, '\\d{{1,9}}(\\.\\d{{1,2}})?')",
                f"CASE WHEN {c} LIKE '-%' THEN '金额不能为负数' ELSE '金额“' || {shown} || '”无效，应为元，最多两位小数' END",
                Unless("amounts", col.name, 9),
            )
        )
    elif kind == "ratio":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT regexp_full_match({c}, '\\d{{1,3}}(\\.\\d{{1,2}})?')",
                f"'比例/倍数“' || {shown} || '”无效，应为 0 到 999 之间、最多两位小数'",
                Unless("amounts", col.name, 3),
            )
        )
    elif kind == "int":
        checks.append(
            Check(
                col.name,
                f"{filled} AND (NOT regexp_full_match({c}, '\\d{{1,4}}') OR try_cast({c} AS INTEGER) NOT BETWEEN {col.low} AND {col.high})",
                f"'取值“' || {shown} || '”无效，应为 {col.low} 到 {col.high} 的整数'",
            )
        )
    elif kind == "bool":
        both = sql_list(TRUE_VALUES + FALSE_VALUES)
        checks.append(
            Check(
                col.name,
                # the exact spellings first: lower() only for the rare value that is none of them
                f"{filled} AND {c} NOT IN ({both}) AND lower({c}) NOT IN ({both})",
                f"'取值“' || {shown} || '”无效，应为 true/false、1/0 或 是/否'",
            )
        )
    elif kind == "phone":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT regexp_full_match({c}, '\\+?[0-9][0-9-]{{6,19}}')",
                f"'电话“' || {shown} || '”无效，应为 7 到 20 位数字（可含 - 和 +）'",
            )
        )
    elif kind == "region_code":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT {c} GLOB '{'[0-9]' * 12}'",
                f"'区划代码“' || {shown} || '”应为 12 位数字'",
            )
        )
    elif kind == "county_code":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT {c} GLOB '{'[0-9]' * 6}'",
                f"'县级代码“' || {shown} || '”应为 6 位数字'",
            )
        )
    elif kind == "id_number":
        checks += id_number_checks(col.name, today)
    if col.max_length:
        checks.append(
            Check(
                col.name,
                f"length({c}) > {col.max_length}",
                f"'内容过长（' || length({c}) || ' 字），最多 {col.max_length} 字'",
                Unless("short", col.name, col.max_length),  # no more bytes than characters allowed
            )
        )
    return checks


def id_number_checks(name: str, today: dt.date) -> list[Check]:
    """GB 11643-1999: shape, MOD 11-2 check digit, birth date, and birthplace code valid in the birth year.

    The rows must carry the columns `with_id_facts` adds (expected check character, birth date, birthplace
    verdict): computed once per batch with numpy, they make these checks comparisons, not string work.
    """
    c = f'"{name}"'
    norm = f"upper({c})"
    shape, check, check_ok, born, place = (f'"_{name}_{fact}"' for fact in ID_FACTS)
    fact = {f: Unless("true", f"_{name}_{f}") for f in ID_FACTS}
    return [
        Check(
            name,
            f"{c} <> '' AND NOT {shape}",
            f"'身份证号码“' || left({c}, 40) || '”应为 18 位（17 位数字加校验位 0-9 或 X）'",
            fact["shape_ok"],
        ),
        Check(
            name,
            f"{shape} AND NOT {check_ok}",
            f"'身份证号码 ' || {norm} || ' 校验位错误，按前 17 位应为 ' || {check}",
            fact["check_ok"],
        ),
        Check(
            name,
            f"{shape} AND ({born} IS NULL OR {born} > DATE '{today.isoformat()}' OR {born} < DATE '1890-01-01')",
            f"'身份证号码中的出生日期 ' || substr({norm}, 7, 8) || ' 不是有效日期或晚于今天'",
        ),
        Check(
            name,
            f"{shape} AND {born} IS NOT NULL AND NOT {place}",
            f"'身份证号码中的出生地代码 ' || substr({norm}, 1, 6) || ' 在 ' || substr({norm}, 7, 4) || ' 年不是有效的县级区划'",
            fact["place_ok"],
        ),
    ]


def _fixed_width(
    values: pa.Array | pa.ChunkedArray, width: int
) -> tuple[int, np.ndarray | slice, np.ndarray]:
    """How many values there are, which of them are `width` bytes long, and those as a (k, width) byte
    matrix: for the usual batch, every value that long, the rows are a slice and the matrix a zero-copy
    reshape of Arrow's buffer, without fancy indexing."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    n = len(arr)
    if n == 0:
        return 0, slice(None), np.zeros((0, width), np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    data = (
        np.frombuffer(arr.buffers()[2], dtype=np.uint8)
        if arr.buffers()[2] is not None
        else np.zeros(0, np.uint8)
    )
    starts = offsets[:-1]
    sized = (offsets[1:] - starts) == width
    if arr.null_count:
        sized &= np.asarray(arr.is_valid())
    if sized.all() and offsets[-1] - offsets[0] == width * n:
        return n, slice(None), data[offsets[0] : offsets[-1]].reshape(n, width)
    rows = np.flatnonzero(sized)
    return n, rows, data[starts[rows][:, None] + np.arange(width)]


def _real(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each (year, month, day) is a day of the proleptic Gregorian calendar."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    in_month = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    return (month >= 1) & (month <= 12) & (day >= 1) & (day <= in_month)


def _dates(real: np.ndarray, days: np.ndarray) -> pa.Array:
    """A date32 array of `days` since 1970-01-01, null where not `real`."""
    n = len(real)
    return pa.Array.from_buffers(
        pa.date32(), n, [pa.array(real).buffers()[1], pa.py_buffer(days)], null_count=n - int(real.sum())
    )


def id_facts(ids: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
    """For each ID number: whether it has the shape (17 digits and 0-9, X or x), the check character its
    first 17 digits call for and whether its last character is that one (x read as X), the birth date it
    encodes (null when not a real date) and whether its birthplace code was in force that year —
    vectorised, so ten million IDs take about a second. Values without the shape get false, '?', false,
    null, false."""
    n, rows, block = _fixed_width(ids, 18)
    check = np.full(n, ord("?"), dtype=np.uint8)
    check_ok = np.zeros(n, dtype=bool)
    born = np.zeros(n, dtype=np.int32)  # days since 1970-01-01, where `real`
    real = np.zeros(n, dtype=bool)
    place_ok = np.zeros(n, dtype=bool)
    shape_ok = np.zeros(n, dtype=bool)
    digits = block[:, :17] - np.uint8(48)  # bytes other than '0'..'9' wrap to above 9
    ok = (digits <= 9).all(axis=1)
    if not ok.all():
        rows = np.flatnonzero(ok) if isinstance(rows, slice) else rows[ok]
        digits, block = digits[ok], block[ok]
    if len(digits):
        d = digits.astype(np.int32)
        last = block[:, 17]
        shape_ok[rows] = ((last >= 48) & (last <= 57)) | (last == ord("X")) | (last == ord("x"))
        expected = CHECK_CHARS[(d @ WEIGHTS) % 11]
        check[rows] = expected
        check_ok[rows] = np.where(last == ord("x"), np.uint8(ord("X")), last) == expected
        year = d[:, 6:10] @ _YEAR_DIGITS
        month = d[:, 10] * 10 + d[:, 11]
        day = d[:, 12] * 10 + d[:, 13]
        real[rows] = _real(year, month, day) & (year >= 1800)
        born[rows] = _days_since_epoch(year, month, day)
        place = d[:, :6] @ _PLACE_DIGITS
        valid, first_year = _birthplace_grid()
        column = np.clip(year - first_year, 0, valid.shape[1] - 1)
        place_ok[rows] = valid[_PLACE_INDEX[place], column] & (year >= first_year)
    checks = pa.StringArray.from_buffers(
        n, pa.py_buffer(np.arange(n + 1, dtype=np.int32)), pa.py_buffer(check)
    )
    return pa.array(shape_ok), checks, pa.array(check_ok), _dates(real, born), pa.array(place_ok)


_DATE_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])  # YYYY-MM-DD without its dashes


def date_facts(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """For each value: whether it is a real date written YYYY-MM-DD in ASCII digits, and that date (null
    otherwise) — what `regexp_full_match(v, '\\d{4}-\\d{2}-\\d{2}')` and `try_strptime(v, '%Y-%m-%d')`
    say together, at a fraction of their cost in DuckDB (`test_validation` holds the two equal)."""
    n, rows, block = _fixed_width(values, 10)
    ok = np.zeros(n, dtype=bool)
    days = np.zeros(n, dtype=np.int32)
    if len(block):
        digits = block[:, _DATE_DIGITS] - np.uint8(48)
        d = digits.astype(np.int32)
        year, month, day = d[:, :4] @ _YEAR_DIGITS, d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
        dashes = (block[:, 4] == ord("-")) & (block[:, 7] == ord("-"))
        ok[rows] = (digits <= 9).all(axis=1) & dashes & _real(year, month, day)
        days[rows] = _days_since_epoch(year, month, day)
    return pa.array(ok), _dates(ok, days)


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), vectorised;
    meaningless, never wrong-typed, for dates that do not exist."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def fact_names(col: Column) -> list[str]:
    """The columns `with_facts` adds for a column: ID_FACTS for an ID number, DATE_FACTS for a date."""
    facts = {"id_number": ID_FACTS, "date": DATE_FACTS}.get(col.kind, ())
    return [f"_{col.name}_{fact}" for fact in facts]


def with_facts(batch: pa.RecordBatch, columns: Iterable[Column]) -> pa.RecordBatch:
    """Append the fact columns (`fact_names`) that the checks of ID numbers and dates read."""
    arrays, fields = list(batch.columns), list(batch.schema.names)
    for col in columns:
        if col.kind == "id_number":
            arrays += id_facts(batch.column(col.name))
        elif col.kind == "date":
            arrays += date_facts(batch.column(col.name))
        fields += fact_names(col)
    return pa.RecordBatch.from_arrays(arrays, names=fields)


def warm_up() -> None:
    """Build the birthplace grid ahead of the first batch."""
    _birthplace_grid()


WEIGHTS = np.array(ID_WEIGHTS, dtype=np.int32)
_YEAR_DIGITS = np.array([1000, 100, 10, 1], dtype=np.int32)
_PLACE_DIGITS = np.array([100000, 10000, 1000, 100, 10, 1], dtype=np.int32)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
CHECK_CHARS = np.frombuffer(ID_CHECK_CHARS.encode(), dtype=np.uint8)
_PLACE_INDEX = np.zeros(1_000_000, dtype=np.int32)  # 6-digit code -> row of the grid (0: unknown)


@lru_cache(maxsize=1)
def _birthplace_grid() -> tuple[np.ndarray, int]:
    """valid[row, year - first_year]: stdnum's division table as a grid, one row per code, row 0 all false."""
    first_year, last_year = 1800, dt.date.today().year + 1
    rows = valid_birthplaces()
    codes = sorted({place for place, _, _ in rows})
    grid = np.zeros((len(codes) + 1, last_year - first_year + 1), dtype=bool)
    for i, code in enumerate(codes, start=1):
        _PLACE_INDEX[int(code)] = i
    for place, start, end in rows:
        grid[
            _PLACE_INDEX[int(place)],
            max(start, first_year) - first_year : min(end, last_year) - first_year + 1,
        ] = True
    return grid, first_year


@lru_cache(maxsize=1)
def valid_birthplaces() -> list[tuple[str, int, int]]:
    """Every 6-digit code in python-stdnum's division table with the years it was in force, read the way
    `stdnum.cn.ric.get_birth_place` reads it: an entry without [start-end] is valid in every year.
    (`tests/test_validation.py` checks the verdicts against stdnum itself.)"""
    from importlib.resources import files

    rows: list[tuple[str, int, int]] = []
    province = ""
    for line in files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        code, _, props = line.strip().partition(" ")
        county = props.partition('county="')[2].rpartition('"')[0]
        for entry in county.split(","):
            if not entry:
                continue
            if not entry.startswith("["):
                rows.append((province + code, 0, 9999))
                break
            start, end = entry[1:].split("]", 1)[0].split("-")
            rows.append((province + code, int(start) if start else 0, int(end) if end else 9999))
    return rows


def birthplace_valid(place: str, year: int) -> bool:
    """The same verdict for one code, for tests and small lookups."""
    return any(p == place and first <= year <= last for p, first, last in valid_birthplaces())
