"""Column checks as set-based SQL, shared by the registry import and the data lake's feed ingest.

A column spec says what a value must look like; `checks_for` turns it into (condition, reason) pairs of
DuckDB SQL over the raw string column, true when a row is bad, so a caller can run them as one query per
check (small files) or all in one pass (large feeds). Reasons are plain Chinese a clerk can act on.
Only our own constants are ever composed into SQL: file values stay in the tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import duckdb

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
TRUE_VALUES = ("true", "1", "是", "yes", "y")
FALSE_VALUES = ("false", "0", "否", "no", "n")
BAD_PLACES = "_bad_birthplaces"  # DuckDB table of (place, year) pairs python-stdnum rejects


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


@dataclass(frozen=True)
class Check:
    column: str
    condition: str  # SQL, true when the row is bad
    reason: str  # SQL string expression


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A SQL list literal of our own constants (enum values, never file values)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def id_shape_ok(c: str) -> str:
    return f"regexp_full_match(upper({c}), '[0-9]{{17}}[0-9X]')"


def id_expected_check_char(c: str) -> str:
    weighted = " + ".join(f"{w} * substr({c}, {i + 1}, 1)::INTEGER" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK_CHARS}', (({weighted}) % 11)::INTEGER + 1, 1)"


def id_birth_date(c: str) -> str:
    return f"try_strptime(substr({c}, 7, 8), '%Y%m%d')::DATE"


def checks_for(col: Column, today: dt.date) -> list[Check]:
    """Every check of one column, in the order a clerk should read their reasons."""
    c = f'"{col.name}"'
    filled = f"{c} <> ''"
    shown = f"left({c}, 40)"
    today_sql = f"DATE '{today.isoformat()}'"
    checks: list[Check] = []
    if col.required:
        checks.append(Check(col.name, f"{c} = ''", "'必填项为空'"))
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
    elif kind == "date":
        parsed = f"try_strptime({c}, '%Y-%m-%d')"
        checks += [
            Check(
                col.name,
                f"{filled} AND (NOT regexp_full_match({c}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') OR {parsed} IS NULL)",
                f"'日期“' || {shown} || '”无效，格式应为 YYYY-MM-DD'",
            ),
            Check(col.name, f"{parsed} < DATE '1900-01-01'", f"'日期 ' || {c} || ' 早于 1900 年'"),
        ]
        if col.not_future:
            checks.append(Check(col.name, f"{parsed}::DATE > {today_sql}", f"'日期 ' || {c} || ' 晚于今天'"))
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
            )
        )
    elif kind == "ratio":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT regexp_full_match({c}, '\\d{{1,3}}(\\.\\d{{1,2}})?')",
                f"'比例/倍数“' || {shown} || '”无效，应为 0 到 999 之间、最多两位小数'",
            )
        )
    elif kind == "int":
        checks.append(
            Check(
                col.name,
                f"{filled} AND (NOT regexp_full_match({c}, '\\d{{1,4}}') OR {c}::INTEGER NOT BETWEEN {col.low} AND {col.high})",
                f"'取值“' || {shown} || '”无效，应为 {col.low} 到 {col.high} 的整数'",
            )
        )
    elif kind == "bool":
        checks.append(
            Check(
                col.name,
                f"{filled} AND lower({c}) NOT IN ({sql_list(TRUE_VALUES + FALSE_VALUES)})",
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
                f"{filled} AND NOT regexp_full_match({c}, '\\d{{12}}')",
                f"'区划代码“' || {shown} || '”应为 12 位数字'",
            )
        )
    elif kind == "county_code":
        checks.append(
            Check(
                col.name,
                f"{filled} AND NOT regexp_full_match({c}, '\\d{{6}}')",
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
            )
        )
    return checks


def id_number_checks(name: str, today: dt.date) -> list[Check]:
    """GB 11643-1999: shape, MOD 11-2 check digit, birth date, and birthplace code valid in the birth year
    (the last needs `refresh_bad_birthplaces` run over the same rows first)."""
    c = f'"{name}"'
    norm = f"upper({c})"
    shape = id_shape_ok(c)
    born = id_birth_date(norm)
    return [
        Check(
            name,
            f"{c} <> '' AND NOT {shape}",
            f"'身份证号码“' || left({c}, 40) || '”应为 18 位（17 位数字加校验位 0-9 或 X）'",
        ),
        Check(
            name,
            f"{shape} AND right({norm}, 1) <> {id_expected_check_char(norm)}",
            f"'身份证号码 ' || {norm} || ' 校验位错误，按前 17 位应为 ' || {id_expected_check_char(norm)}",
        ),
        Check(
            name,
            f"{shape} AND ({born} IS NULL OR {born} > DATE '{today.isoformat()}' OR {born} < DATE '1890-01-01')",
            f"'身份证号码中的出生日期 ' || substr({norm}, 7, 8) || ' 不是有效日期或晚于今天'",
        ),
        Check(
            name,
            f"{shape} AND {born} IS NOT NULL AND EXISTS (SELECT 1 FROM {BAD_PLACES} b "
            f"WHERE b.place = substr({norm}, 1, 6) AND b.year = substr({norm}, 7, 4))",
            f"'身份证号码中的出生地代码 ' || substr({norm}, 1, 6) || ' 在 ' || substr({norm}, 7, 4) || ' 年不是有效的县级区划'",
        ),
    ]


def ensure_bad_birthplaces(db: duckdb.DuckDBPyConnection) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {BAD_PLACES} (place VARCHAR, year VARCHAR, PRIMARY KEY (place, year))"
    )


def refresh_bad_birthplaces(db: duckdb.DuckDBPyConnection, relation: str, name: str) -> None:
    """Check each distinct (birthplace code, birth year) of `relation`'s ID column once with python-stdnum
    and record the invalid ones, so the per-row check is a join, not millions of Python calls."""
    ensure_bad_birthplaces(db)
    c = f'upper("{name}")'
    pairs = db.execute(
        f"SELECT DISTINCT substr({c}, 1, 6), substr({c}, 7, 4) FROM {relation} "
        f"WHERE {id_shape_ok(c)} AND {id_birth_date(c)} IS NOT NULL"
    ).fetchall()
    bad = [(place, year) for place, year in pairs if not birthplace_valid(place, int(year))]
    if bad:
        db.executemany(f"INSERT OR IGNORE INTO {BAD_PLACES} VALUES (?, ?)", bad)


@lru_cache(maxsize=65536)
def birthplace_valid(place: str, year: int) -> bool:
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    # Any date in that year lets stdnum check the division existed when the number was issued.
    try:
        ric.get_birth_place(f"{place}{year:04d}0101000")
    except ValidationError:
        return False
    return True
