"""The vectorised ID facts agree with python-stdnum, number by number, and the date facts and code GLOBs
agree with the regular expressions and date parse they stand for, text by text."""

from __future__ import annotations

import datetime as dt
import random
import re

import duckdb
import pyarrow as pa
import pytest
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from safetynet import validation


def stdnum_verdicts(number: str) -> tuple[str, dt.date | None, bool]:
    body = number[:17]
    check = ric.calc_check_digit(body + "0") if body.isdigit() else "?"
    try:
        born = ric.get_birth_date(number)
    except (ValidationError, ValueError):
        return check, None, False
    try:
        ric.get_birth_place(number)
        place_ok = True
    except (ValidationError, KeyError):
        place_ok = False
    return check, born, place_ok


def test_id_facts_match_stdnum_on_random_and_tricky_numbers() -> None:
    rng = random.Random(7)
    places = [p for p, _, _ in validation.valid_birthplaces()[::40]] + [
        "379999",
        "000000",
        "371427",
        "372423",
    ]
    numbers = []
    for _ in range(3000):
        year = rng.randint(1890, 2026)
        month, day = rng.randint(0, 13), rng.randint(0, 32)
        body = f"{rng.choice(places)}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        numbers.append(body + rng.choice("0123456789X"))
    numbers += [
        "",
        "123",
        "11010519491231002x",
        "1101051949123100２X",
        "11010519490229002X",
        "11010520000229002X",
    ]
    shape, checks, checks_ok, born, place_ok = validation.id_facts(pa.array(numbers))
    facts = zip(
        numbers,
        shape.to_pylist(),
        checks.to_pylist(),
        checks_ok.to_pylist(),
        born.to_pylist(),
        place_ok.to_pylist(),
        strict=True,
    )
    for number, shaped, check, check_ok, date, place in facts:
        well_formed = (
            len(number) == 18
            and number[:17].isascii()
            and number[:17].isdigit()
            and number[17] in "0123456789Xx"
        )
        assert shaped == well_formed, number
        if not well_formed:
            continue
        want_check, want_born, want_place = stdnum_verdicts(number)
        assert check == want_check, number
        assert check_ok == (number[17].upper() == want_check), number
        assert date == (want_born if want_born and want_born.year >= 1800 else None), number
        if date is not None:
            assert place == want_place, number


def test_birthplace_table_reads_stdnum_year_ranges() -> None:
    assert validation.birthplace_valid("371427", 1994) and not validation.birthplace_valid("371427", 1993)
    assert validation.birthplace_valid("372423", 1980) and not validation.birthplace_valid("372423", 1995)
    assert not validation.birthplace_valid("379999", 2000)


def mutated(good: list[str], alphabet: str) -> list[str]:
    """Each good text, and copies with a character replaced, inserted or dropped: near misses."""
    rng = random.Random(11)
    texts = list(good)
    for text in good:
        for _ in range(3):
            i = rng.randrange(len(text) + 1)
            c = rng.choice(alphabet)
            texts.append(
                rng.choice([text[:i] + c + text[i + 1 :], text[:i] + c + text[i:], text[:i] + text[i + 1 :]])
            )
    return [t for t in texts if t]  # the checks run on filled values only


def test_date_facts_are_duckdbs_regular_expression_and_date_parse() -> None:
    """date_facts stands for `regexp_full_match(v, '\\d{4}-\\d{2}-\\d{2}')` and `try_strptime(v, '%Y-%m-%d')`
    in the checks: the verdict and the date must be theirs on real dates, leap days, impossible days and
    near misses, in a uniform batch (all 10 bytes, the reshape path) and a mixed one."""
    start = dt.date(1890, 1, 1)
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(0, 60_000, 17)]
    impossible = [
        f"{y:04d}-{m:02d}-{d:02d}"
        for y in (0, 1, 1900, 2000, 2023, 2024)
        for m in (0, 2, 4, 13)
        for d in (0, 29, 30, 31, 32)
    ]
    texts = (
        mutated(dates, "0123456789--/ .２^!*[]")
        + impossible
        + ["2026-7-14", "2026-07-1４", "", "2026-07-14 "]
    )
    for batch in (texts, [t for t in texts if len(t.encode()) == 10]):
        ok, value = validation.date_facts(pa.array(batch))
        rows = duckdb.sql(
            "SELECT regexp_full_match(v, '\\d{4}-\\d{2}-\\d{2}') AND try_strptime(v, '%Y-%m-%d') IS NOT NULL, "
            "CASE WHEN regexp_full_match(v, '\\d{4}-\\d{2}-\\d{2}') "
            "THEN try_strptime(v, '%Y-%m-%d')::DATE - DATE '1970-01-01' END "
            "FROM (SELECT unnest(?) AS v, generate_subscripts(?, 1) AS i) ORDER BY i",
            params=[batch, batch],
        ).fetchall()
        want_ok = [bool(w) for w, _ in rows]
        assert 1000 < sum(want_ok) < len(batch) - 100
        assert [(v, w) for v, w, g in zip(batch, want_ok, ok.to_pylist(), strict=True) if w != g] == []
        days = value.cast(pa.int32()).to_pylist()  # year 0 is a date to DuckDB, not to Python
        assert days == [d if w else None for (_, d), w in zip(rows, want_ok, strict=True)]


@pytest.mark.parametrize("digits", [12, 6])
def test_code_glob_is_the_regular_expression(digits: int) -> None:
    rng = random.Random(digits)
    codes = [f"{rng.randrange(10**digits):0{digits}d}" for _ in range(3000)]
    texts = mutated(codes, "0123456789 -２^!*[]a")
    column = validation.Column("code", "region_code" if digits == 12 else "county_code")
    (check,) = validation.checks_for(column, dt.date(2026, 11, 29))[1:]
    rows = duckdb.sql(
        f"SELECT code, regexp_full_match(code, '\\d{{{digits}}}') AS want, NOT ({check.condition}) AS got "
        "FROM (SELECT unnest(?) AS code)",
        params=[texts],
    ).fetchall()
    assert 1000 < sum(want for _, want, _ in rows) < len(rows) - 1000
    assert [(v, want) for v, want, got in rows if want != got] == []


@pytest.mark.parametrize("whole", [9, 3])
def test_plain_amounts_proves_only_what_the_regular_expression_accepts(whole: int) -> None:
    """A batch of amounts all in one export shape (whole yuan, one or two decimals, empties allowed) is
    proven good without the regular expression; no batch with a value the expression refuses ever is."""
    rng = random.Random(whole)
    regex = re.compile(rf"\d{{1,{whole}}}(\.\d{{1,2}})?", re.ASCII)  # as RE2 reads \d
    proven = 0
    for trial in range(3000):
        decimals = rng.choice([0, 1, 2])
        size = rng.randint(1, 30)
        values = [
            ""
            if rng.random() < 0.1
            else f"{rng.randint(0, 10 ** rng.randint(1, whole + 1) - 1)}"
            + (f".{rng.randint(0, 10**decimals - 1):0{decimals}d}" if decimals else "")
            for _ in range(size)
        ]
        if trial % 2:  # a near miss somewhere
            i = rng.randrange(size)
            values[i] = rng.choice(mutated([values[i] or "1"], "0123456789.-+e ,１x")[1:] or ["-1"])
        column = pa.array(values, pa.string())
        sliced = pa.array(["x", *values], pa.string()).slice(1)  # an Arrow slice: offsets not from 0
        for batch in (column, sliced):
            if validation.plain_amounts(batch, whole):
                proven += 1
                assert all(v == "" or regex.fullmatch(v) for v in values), values
            elif trial % 2 == 0 and all(v == "" or len(v.partition(".")[0]) <= whole for v in values):
                pytest.fail(f"a uniform batch of good amounts was not proven: {values}")
    assert proven > 500
