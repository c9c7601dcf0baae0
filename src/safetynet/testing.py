"""Test helpers shared by every app's tests: valid ID numbers and a small, hand-checkable county."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from stdnum.cn import ric

from safetynet.registry.specs import PERSONS, SPECS

# The moment every test starts at (conftest freezes the clock there and lets it tick): a Monday in 2026,
# whose statutory holidays the calendar package knows.
FROZEN_NOW = dt.datetime(2026, 6, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
COUNTY = "371522"  # 莘县, 聊城市, 山东省 — a real county code, valid since 1997

# Browser tests drive Debian's Chromium (no browser download); flags for a root sandbox with no network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots for a person to look at
browser_test = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium not installed"
    ),
]


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 at its cheapest, for tests only (conftest): same algorithm name and hash format."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1


def make_id_number(birth: dt.date, seq: int, male: bool, place: str = "") -> str:
    """An 18-digit resident ID with a valid check digit; the place defaults to one valid for the year."""
    place = place or (COUNTY if birth.year >= 1997 else "110105")
    sequence = seq * 2 % 1000 + (1 if male else 0)
    body = f"{place}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


REGIONS = [
    ["370000000000", "山东省", "province", ""],
    ["371500000000", "聊城市", "city", "370000000000"],
    ["371522000000", "莘县", "county", "371500000000"],
    ["371522100000", "燕店镇", "township", "371522000000"],
    ["371522100201", "东王村", "village", "371522100000"],
    ["371522100202", "西李村", "village", "371522100000"],
    ["371522101000", "观城镇", "township", "371522000000"],
    ["371522101201", "南张村", "village", "371522101000"],
]

PERSON_HEADER = [c.name for c in PERSONS.columns]


def person(
    birth: dt.date,
    seq: int,
    male: bool,
    name: str,
    household: str,
    relation: str,
    phone: str = "",
    income: str = "0",
    employment: str = "farmer",
    **extra: object,
) -> list[object]:
    row: dict[str, object] = {
        "id_number": make_id_number(birth, seq, male),
        "name": name,
        "gender": "M" if male else "F",
        "birth_date": birth.isoformat(),
        "household_id": household,
        "relation": relation,
        "phone": phone,
        "disability_level": 0,
        "disability_type": "",
        "self_care": "full",
        "serious_illness": "false",
        "employment": employment,
        "monthly_income": income,
    }
    row.update(extra)
    return [row[h] for h in PERSON_HEADER]


def write_county(directory: Path) -> dict[str, list[list[object]]]:
    """Three households in three villages of 莘县, with assistance, applications and standards."""
    directory.mkdir(parents=True, exist_ok=True)
    d = dt.date
    persons = [
        person(d(1958, 3, 14), 1, True, "王建国", "H001", "head", "13812345678", "800"),
        person(d(1960, 7, 2), 2, False, "李秀英", "H001", "spouse", "", "300"),
        person(d(2012, 9, 30), 3, False, "王小红", "H001", "grandchild", "", "0", "student"),
        person(
            d(1941, 1, 5),
            4,
            False,
            "张桂兰",
            "H002",
            "head",
            "13900001111",
            "0",
            "retired",
            disability_level=2,
            disability_type="physical",
            self_care="none",
        ),
        person(d(1985, 11, 11), 5, True, "刘强", "H003", "head", "15055556666", "2500", "employed"),
    ]
    files: dict[str, list[list[object]]] = {
        "regions": [list(r) for r in REGIONS],
        "households": [
            ["H001", "371522100201", "燕店镇东王村 12 号", "rural", persons[0][0]],
            ["H002", "371522100202", "燕店镇西李村 3 号", "rural", persons[3][0]],
            ["H003", "371522101201", "观城镇南张村 7 号", "rural", persons[4][0]],
        ],
        "persons": persons,
        "assistance": [
            [persons[3][0], "H002", "tekun", "active", "2020-01-01", "", "950"],
            [persons[0][0], "H001", "temporary", "ended", "2023-05-01", "2023-05-31", "1000"],
        ],
        "applications": [
            ["A001", "H001", persons[0][0], "dibao", "2024-02-01", "rejected", "2024-03-01", "收入超过标准"],
            ["A002", "H003", persons[4][0], "medical", "2025-06-01", "pending", "", ""],
        ],
        "standards": [
            [COUNTY, y, area, dibao, round(dibao * 1.3), "1.5", "0.5"]
            for y in range(2024, 2028)
            for area, dibao in (("urban", 960), ("rural", 780))
        ],
    }
    headers = {spec.name: [c.name for c in spec.columns] for spec in SPECS}
    for name, rows in files.items():
        write_csv(directory / f"{name}.csv", headers[name], rows)
    return files


# The small county's names, each replaced by one with a rare character (生僻字) outside GBK.
RARE_NAMES = {
    "王建国": "王𠮷",  # head of H001: CJK extension B, a 4-byte GB18030 sequence
    "李秀英": "李㐂䲜",  # extension A
    "王小红": "王𡈼堃",  # extension B and a GBK-only character
    "张桂兰": "张𰻞",  # head of H002: extension G (Unicode 13)
    "刘强": "刘喆𫝀",  # head of H003: extension D, a character pypinyin has no reading for
}
RARE_ADDRESS = "燕店镇东王村𪜀𫠠𬺰 12 号"  # extensions C, E, F


def write_rare_county(directory: Path, persons_encoding: str = "gb18030") -> Path:
    """write_county with RARE_NAMES and H001 at RARE_ADDRESS; persons.csv in `persons_encoding`."""
    files = write_county(directory)
    headers = {spec.name: [c.name for c in spec.columns] for spec in SPECS}
    persons = [[RARE_NAMES.get(str(v), v) for v in row] for row in files["persons"]]
    write_csv(directory / "persons.csv", headers["persons"], persons, encoding=persons_encoding)
    households = [[*row[:2], RARE_ADDRESS if row[0] == "H001" else row[2], *row[3:]] for row in files["households"]]
    write_csv(directory / "households.csv", headers["households"], households)
    return directory


def compute_facts():  # type: ignore[no-untyped-def]
    """Recompute every household's facts with a live run, as the nightly run would after the registry
    changed (tests that edit rows directly first mark the registry changed). The run's warnings do not
    become leads here, so a test keeps control of which cases exist. Returns the run."""
    from safetynet.registry import services as registry
    from safetynet.screening import services as screening
    from safetynet.screening.signals import run_finished

    registry.bump_version()
    receivers = run_finished.receivers
    run_finished.receivers = []
    run_finished.sender_receivers_cache.clear()
    try:
        return screening.screen()
    finally:
        run_finished.receivers = receivers
        run_finished.sender_receivers_cache.clear()


def picture(kind: str = "JPEG", *, gps: bool = False, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real little photo as a phone would send it; with `gps`, EXIF holding a GPS position (the
    household's home) and an orientation tag, as phone cameras write them."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90° to display
        exif[0x010F] = "PhoneMaker"
        gps_ifd = {1: "N", 2: (36.0, 30.0, 12.0), 3: "E", 4: (116.0, 12.0, 5.0)}
        exif[0x8825] = gps_ifd
        image.save(out, kind, exif=exif.tobytes())
    else:
        image.save(out, kind)
    return out.getvalue()
