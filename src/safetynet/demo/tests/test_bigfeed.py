"""Tests of the big single-feed generator: validity, exact bad rows, determinism, encodings."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from stdnum.cn import ric

from safetynet.demo import bigfeed
from safetynet.demo.bigfeed import BAD_KINDS, bad_rows, generate_feed
from safetynet.demo.feeds import INPATIENT_ICD, OUTPATIENT_ICD, SERIOUS_ICD
from safetynet.demo.formats import FEED_COLUMNS

AS_OF = date(2025, 6, 30)
FIRST = AS_OF - timedelta(days=729)
SEED = 20250630
BOOLS = {"true", "false", "1", "0", "是", "否"}
MONEY = re.compile(r"^\d+(\.\d{1,2})?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")

# What the contract allows, per source.
ENUMS = {
    "medical_claims": {"inpatient": BOOLS, "serious_illness": BOOLS},
    "disability": {
        "disability_type": {"visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"},
        "level": {"1", "2", "3", "4"},
        "status": {"valid", "revoked"},
    },
    "unemployment": {"status": {"registered", "reemployed"}},
    "students": {
        "stage": {"preschool", "primary", "junior", "senior", "vocational", "college"},
        "status": {"enrolled", "dropped_out", "suspended"},
    },
    "disasters": {"loss_level": {"minor", "moderate", "severe", "total"}, "house_damaged": BOOLS},
    "relapse_monitoring": {"status": {"monitoring", "risk_eliminated"}},
    "housing_safety": {"rating": {"A", "B", "C", "D"}},
    "businesses": {"status": {"active", "closed"}},
}
DATES = {
    "medical_claims": "settle_date",
    "disability": "issued_on",
    "deaths": "death_date",
    "unemployment": "registered_on",
    "pensions": "as_of",
    "students": "as_of",
    "disasters": "occurred_on",
    "relapse_monitoring": "as_of",
    "housing_safety": "assessed_on",
    "vehicles": "registered_on",
    "businesses": "registered_on",
    "hotline": "called_at",
}
AMOUNTS = {
    "medical_claims": ["total_cost", "fund_paid", "out_of_pocket"],
    "unemployment": ["benefit_monthly"],
    "pensions": ["monthly_amount"],
}
KEYS = {"medical_claims": "claim_id", "hotline": "call_id"}
NAMED = {"medical_claims", "disability", "deaths", "unemployment", "students", "relapse_monitoring"}


@cache
def valid_id(number: str) -> bool:
    # stdnum's check costs ~160 µs (it looks up the birthplace code); persons recur across rows.
    return ric.is_valid(number)


def read(path: Path, encoding: str = "utf-8") -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def problems(source: str, row: dict[str, str], keys: set[str]) -> list[str]:
    """Everything wrong with a row by the contract (and by plausibility: no event before a birth)."""
    found = []
    number = row["id_number"]
    if (number or source != "hotline") and not valid_id(number):
        found.append("id_number")
    value = row[DATES[source]]
    day: date | None = None
    if re.match(TIMESTAMP if source == "hotline" else DATE, value):
        with contextlib.suppress(ValueError):
            day = datetime.fromisoformat(value).date()
    if day is None:
        found.append("date format")
    elif not FIRST <= day <= AS_OF:
        found.append("date out of window")
    elif number and valid_id(number) and ric.get_birth_date(number) >= day:
        found.append("date before birth")
    for column in AMOUNTS.get(source, []):
        if row[column] and not MONEY.match(row[column]):
            found.append(column)
    for column, allowed in ENUMS.get(source, {}).items():
        if row[column] not in allowed:
            found.append(column)
    if source in NAMED and not NAME.match(row["name"]):
        found.append("name")
    if source in KEYS:
        key = row[KEYS[source]]
        if key in keys:
            found.append("duplicate key")
        keys.add(key)
    return found


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bigfeed") / "medical_claims.csv"
    assert generate_feed(path, "medical_claims", 20_000, SEED, AS_OF) == 20_000
    return path


def test_medical_claims_are_valid_with_unique_claim_ids_and_repeat_patients(claims: Path) -> None:
    header, rows = read(claims)
    assert header == FEED_COLUMNS["medical_claims"]
    assert len(rows) == 20_000
    keys: set[str] = set()
    icd = set(OUTPATIENT_ICD + INPATIENT_ICD + SERIOUS_ICD)
    for row in rows:
        assert problems("medical_claims", row, keys) == [], row
        assert row["diagnosis_code"] in icd
        assert row["serious_illness"] == ("是" if row["diagnosis_code"] in SERIOUS_ICD else "否")
        cents = {c: round(float(row[c]) * 100) for c in AMOUNTS["medical_claims"]}
        assert cents["fund_paid"] + cents["out_of_pocket"] == cents["total_cost"] > 0
    assert len(keys) == 20_000
    per_person = Counter(row["id_number"] for row in rows)
    assert 500 <= len(per_person) <= 1000 and max(per_person.values()) > 1
    # A person keeps one name across claims.
    assert len({(row["id_number"], row["name"]) for row in rows}) == len(per_person)


@pytest.mark.parametrize("source", list(FEED_COLUMNS))
def test_every_source_has_valid_rows_except_exactly_the_bad_ones(tmp_path: Path, source: str) -> None:
    path = tmp_path / f"{source}.csv"
    assert generate_feed(path, source, 1200, SEED, AS_OF, bad_rate=0.025) == 1200
    header, rows = read(path)
    assert header == FEED_COLUMNS[source]
    keys: set[str] = set()
    broken = {line: problems(source, row, keys) for line, row in enumerate(rows, start=2)}
    broken = {line: found for line, found in broken.items() if found}
    expected = dict(bad_rows(source, 1200, SEED, 0.025))
    assert len(expected) == 30
    assert sorted(broken) == sorted(expected), (broken, expected)
    assert all(len(found) == 1 for found in broken.values()), broken
    kinds = set(expected.values())
    assert {"check_digit", "future_date", "bad_date"} <= kinds <= set(BAD_KINDS)
    assert ("negative_money" in kinds) == (source in AMOUNTS)
    assert ("unknown_enum" in kinds) == (source in ENUMS)
    assert ("duplicate_key" in kinds) == (source in KEYS)
    good = [row for line, row in enumerate(rows, start=2) if line not in expected]
    if source == "pensions":
        assert len({(r["id_number"], r["as_of"]) for r in good}) == len(good)
    if source in ("deaths", "disability"):
        assert len({r["id_number"] for r in good}) == len(good)


def test_one_bad_row_among_100000(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    generate_feed(path, "medical_claims", 100_000, SEED, AS_OF, bad_rate=1e-5, bad_kinds=("negative_money",))
    _, rows = read(path)
    negative = [line for line, row in enumerate(rows, start=2) if row["out_of_pocket"].startswith("-")]
    assert negative == [line for line, _ in bad_rows("medical_claims", 100_000, SEED, 1e-5)]
    assert len(negative) == 1


def test_same_arguments_give_identical_bytes_whatever_the_workers(
    tmp_path: Path, claims: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_feed(tmp_path / "again.csv", "medical_claims", 20_000, SEED, AS_OF)
    assert (tmp_path / "again.csv").read_bytes() == claims.read_bytes()
    for seed in (SEED, SEED + 1):
        generate_feed(tmp_path / f"{seed}.csv", "medical_claims", 500, seed, AS_OF)
    assert (tmp_path / f"{SEED}.csv").read_bytes() != (tmp_path / f"{SEED + 1}.csv").read_bytes()

    monkeypatch.setattr(bigfeed, "CHUNK_ROWS", 2500)  # several chunks, so workers really share them
    for workers in (1, 2):
        generate_feed(
            tmp_path / f"w{workers}.csv", "hotline", 9000, SEED, AS_OF, "gbk", 0.02, workers=workers
        )
    assert (tmp_path / "w1.csv").read_bytes() == (tmp_path / "w2.csv").read_bytes()
    _, rows = read(tmp_path / "w2.csv", "gb18030")
    assert len(rows) == 9000


def test_encodings(tmp_path: Path, claims: Path) -> None:
    text = claims.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    generate_feed(tmp_path / "gbk.csv", "medical_claims", 20_000, SEED, AS_OF, encoding="gbk")
    data = (tmp_path / "gbk.csv").read_bytes()
    assert data.decode("gb18030") == text
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    generate_feed(tmp_path / "bom.csv", "students", 500, SEED, AS_OF, encoding="utf-8-sig")
    data = (tmp_path / "bom.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header == FEED_COLUMNS["students"]


def test_progress_and_argument_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigfeed, "CHUNK_ROWS", 400)
    seen: list[int] = []
    assert generate_feed(tmp_path / "p.csv", "pensions", 1000, SEED, AS_OF, progress=seen.append) == 1000
    assert seen == [400, 800, 1000]
    with pytest.raises(ValueError, match="unknown source"):
        generate_feed(tmp_path / "x.csv", "weather", 10, SEED, AS_OF)
    with pytest.raises(ValueError, match="encoding"):
        generate_feed(tmp_path / "x.csv", "deaths", 10, SEED, AS_OF, encoding="latin-1")
    with pytest.raises(ValueError, match="bad_rate"):
        generate_feed(tmp_path / "x.csv", "deaths", 10, SEED, AS_OF, bad_rate=1.5)
    with pytest.raises(ValueError, match="bad kinds"):
        generate_feed(
            tmp_path / "x.csv", "deaths", 10, SEED, AS_OF, bad_rate=0.5, bad_kinds=("negative_money",)
        )
