"""Tests of the demo county generator: validity of the registry, feed formats, ground truth, streaming."""

from __future__ import annotations

import csv
import re
import tracemalloc
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import ric

from safetynet.demo.context import Calendar
from safetynet.demo.formats import BOM_FILES, FEED_COLUMNS, GBK_FILES
from safetynet.demo.generator import generate
from safetynet.demo.ids import FIRST_YEAR, IdAllocator, birthplace_codes, current_name
from safetynet.demo.regions import DEFAULT_COUNTY
from safetynet.demo.rules import RULE_IDS

AS_OF = date(2025, 6, 30)
PERSONS = 4000
SEED = 20250630

REQUIRED = {
    "medical_claims": {"claim_id", "id_number", "settle_date", "out_of_pocket"},
    "disability": {"id_number", "level", "status"},
    "deaths": {"id_number", "death_date"},
    "unemployment": {"id_number", "registered_on", "status"},
    "pensions": {"id_number", "monthly_amount", "as_of"},
    "students": {"id_number", "status", "as_of"},
    "disasters": {"event_id", "occurred_on", "loss_level", "id_number", "region_code"},
    "relapse_monitoring": {"id_number", "status", "as_of"},
    "housing_safety": {"id_number", "rating", "assessed_on"},
    "vehicles": {"id_number"},
    "businesses": {"id_number", "status"},
    "hotline": {"call_id", "called_at"},
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^\d+(\.\d{1,2})?$")


def read(directory: Path, filename: str) -> list[dict[str, str]]:
    encoding = "gb18030" if filename in GBK_FILES else "utf-8-sig"
    with open(directory / filename, encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, PERSONS, SEED, AS_OF)
    return out


def test_same_seed_gives_identical_files_whatever_the_number_of_workers(tmp_path: Path, county: Path) -> None:
    generate(tmp_path / "again", PERSONS, SEED, AS_OF, workers=2)
    names = sorted(p.name for p in county.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in names:
        assert (county / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_a_different_seed_gives_a_different_county(tmp_path: Path, county: Path) -> None:
    generate(tmp_path, 500, SEED + 1, AS_OF)
    assert (tmp_path / "persons.csv").read_bytes() != (county / "persons.csv").read_bytes()


def test_every_id_number_is_valid_unique_and_agrees_with_gender_and_birth_date(county: Path) -> None:
    persons = read(county, "persons.csv")
    assert len(persons) == PERSONS
    for person in persons:
        number = person["id_number"]
        assert ric.validate(number) == number
        assert ric.get_birth_date(number).isoformat() == person["birth_date"]
        assert person["gender"] == ("M" if int(number[16]) % 2 else "F")
        assert date.fromisoformat(person["birth_date"]) <= AS_OF
    assert len({p["id_number"] for p in persons}) == PERSONS
    # Older residents carry the code their birthplace had when they were born.
    assert any(p["id_number"].startswith("372423") for p in persons)
    assert any(p["id_number"].startswith("371427") for p in persons)


def test_birthplace_codes_are_valid_for_every_birth_year() -> None:
    calendar = Calendar(AS_OF, years_back=125)
    allocator = IdAllocator([DEFAULT_COUNTY, "371428", "130534"], calendar.first, calendar.today, AS_OF.year)
    for origin in range(3):
        for year in range(FIRST_YEAR + 1, AS_OF.year + 1):
            number, _ = allocator.allocate(origin, date(year, 5, 17).toordinal(), year % 2 == 0)
            assert ric.is_valid(number), (origin, year, number)
    assert birthplace_codes(DEFAULT_COUNTY, 2025)[1993 - FIRST_YEAR] == "372423"
    assert birthplace_codes(DEFAULT_COUNTY, 2025)[1995 - FIRST_YEAR] == "371427"


def test_full_sequence_slots_move_the_birth_date_instead_of_repeating_an_id() -> None:
    calendar = Calendar(AS_OF)
    allocator = IdAllocator([DEFAULT_COUNTY], calendar.first, calendar.today, AS_OF.year, 3, 13)
    day = date(1980, 1, 1).toordinal()
    numbers = [allocator.allocate(0, day, True)[0] for _ in range(200)]
    assert len(set(numbers)) == 200
    assert all(ric.is_valid(n) and int(n[16]) % 2 == 1 for n in numbers)


def test_regions_form_a_tree_down_to_villages(county: Path) -> None:
    regions = {r["code"]: r for r in read(county, "regions.csv")}
    levels = Counter(r["level"] for r in regions.values())
    assert levels["province"] == levels["city"] == levels["county"] == 1
    assert 12 <= levels["township"] <= 15
    assert 20 * levels["township"] <= levels["village"] <= 40 * levels["township"]
    parent_level = {"city": "province", "county": "city", "township": "county", "village": "township"}
    for region in regions.values():
        assert len(region["code"]) == 12 and region["code"].isdigit()
        if region["level"] == "province":
            assert region["parent_code"] == ""
        else:
            assert regions[region["parent_code"]]["level"] == parent_level[region["level"]]
            assert region["code"].startswith(region["parent_code"].rstrip("0")[:2])
    county_row = next(r for r in regions.values() if r["level"] == "county")
    assert county_row["code"] == DEFAULT_COUNTY + "000000"
    assert county_row["name"] == current_name(DEFAULT_COUNTY, AS_OF.year) == "夏津县"
    assert regions["370000000000"]["name"] == "山东省"
    for region in regions.values():
        if region["level"] == "township":
            assert region["code"][6] in "012" and region["name"].endswith(("街道", "镇", "乡"))
        if region["level"] == "village":
            urban = region["code"][9] in "01"
            assert region["name"].endswith("社区居委会" if urban else "村委会")


def test_registry_files_are_consistent_and_valid(county: Path) -> None:
    regions = {r["code"]: r["level"] for r in read(county, "regions.csv")}
    households = {h["household_id"]: h for h in read(county, "households.csv")}
    persons = read(county, "persons.csv")
    members: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for person in persons:
        members[person["household_id"]][person["id_number"]] = person
        assert person["household_id"] in households
        assert person["relation"] in {"head", "spouse", "child", "parent", "grandchild", "sibling", "other"}
        assert person["disability_level"] in {"0", "1", "2", "3", "4"}
        assert (person["disability_type"] == "") == (person["disability_level"] == "0")
        assert person["disability_type"] in {
            "",
            "visual",
            "hearing",
            "speech",
            "physical",
            "intellectual",
            "mental",
            "multiple",
        }
        assert person["self_care"] in {"full", "partial", "none"}
        assert person["serious_illness"] in {"true", "false"}
        assert person["employment"] in {
            "employed",
            "farmer",
            "unemployed",
            "student",
            "retired",
            "unable",
            "child",
        }
        assert MONEY.match(person["monthly_income"])
        assert person["phone"] == "" or re.match(r"^1[3-9]\d{9}$", person["phone"])
    for household_id, household in households.items():
        assert regions[household["region_code"]] == "village"
        assert household["area_type"] == ("urban" if household["region_code"][9] in "01" else "rural")
        heads = [p for p in members[household_id].values() if p["relation"] == "head"]
        assert len(heads) == 1 and heads[0]["id_number"] == household["head_id_number"]
        assert 1 <= len(members[household_id]) <= 6
    programs = {
        "dibao",
        "tekun",
        "dibao_edge",
        "rigid_expense",
        "relapse_monitoring",
        "temporary",
        "medical",
        "education",
        "housing",
        "employment",
    }
    for record in read(county, "assistance.csv"):
        assert record["id_number"] in members[record["household_id"]]
        assert record["program"] in programs and record["status"] in {"active", "ended"}
        assert DATE.match(record["start_date"]) and MONEY.match(record["monthly_amount"])
        if record["status"] == "ended":
            assert record["start_date"] <= record["end_date"] <= AS_OF.isoformat()
        else:
            assert record["end_date"] == "" and record["start_date"] <= AS_OF.isoformat()
    application_ids = set()
    for application in read(county, "applications.csv"):
        assert application["id_number"] in members[application["household_id"]]
        assert application["program"] in programs
        assert application["decision"] in {"pending", "approved", "rejected", "withdrawn"}
        assert DATE.match(application["applied_on"]) and application["applied_on"] <= AS_OF.isoformat()
        if application["decision"] == "pending":
            assert application["decided_on"] == ""
        else:
            assert application["applied_on"] <= application["decided_on"] <= AS_OF.isoformat()
        assert application["reason"]
        application_ids.add(application["application_id"])
    assert len(application_ids) == len(read(county, "applications.csv"))
    standards = read(county, "standards.csv")
    assert {(s["year"], s["area_type"]) for s in standards} == {
        (str(y), a) for y in (AS_OF.year - 1, AS_OF.year) for a in ("urban", "rural")
    }
    for standard in standards:
        assert standard["county_code"] == DEFAULT_COUNTY
        assert int(standard["tekun_monthly"]) == round(1.3 * int(standard["dibao_monthly"]))


def test_registry_is_plausible(county: Path) -> None:
    persons = read(county, "persons.csv")
    households = read(county, "households.csv")
    sizes = Counter(Counter(p["household_id"] for p in persons).values())
    assert sizes[1] > 0.1 * len(households) and sizes[5] + sizes[6] > 0
    ages = [AS_OF.year - int(p["birth_date"][:4]) for p in persons]
    assert 0.12 < sum(a >= 60 for a in ages) / len(ages) < 0.4
    assert Counter(p["name"][0] for p in persons).most_common(1)[0][0] in "王李张刘陈"
    assistance = read(county, "assistance.csv")
    dibao = {a["household_id"] for a in assistance if a["program"] == "dibao" and a["status"] == "active"}
    assert 0.02 < len(dibao) / len(households) < 0.08


def test_each_feed_has_the_canonical_columns(county: Path) -> None:
    for source, columns in FEED_COLUMNS.items():
        rows = read(county, f"{source}.csv")
        assert rows, source
        assert list(rows[0]) == columns
        assert REQUIRED[source] <= set(columns)


def test_gbk_files_decode_as_gb18030_and_not_as_utf8(county: Path) -> None:
    assert set(GBK_FILES) == {"medical_claims.csv", "disability.csv", "hotline.csv"}
    for filename in GBK_FILES:
        data = (county / filename).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert data.decode("gb18030").startswith(filename == "medical_claims.csv" and "claim_id" or "")
    for path in county.glob("*.csv"):
        if path.name not in GBK_FILES:
            text = path.read_bytes().decode("utf-8")
            assert text.startswith("\ufeff") == (path.name in BOM_FILES)


def test_feeds_carry_noise_and_outsiders_but_valid_dates_and_enums(county: Path) -> None:
    registered = {p["id_number"] for p in read(county, "persons.csv")}
    ids: list[str] = []
    for source in FEED_COLUMNS:
        for row in read(county, f"{source}.csv"):
            ids.append(row["id_number"])
    assert any(n == "" for n in ids)
    assert any(n.endswith("x") for n in ids)
    assert any(len(n) == 18 and not n.endswith("x") and not ric.is_valid(n) for n in ids)
    assert any(ric.is_valid(n) and n.upper() not in registered for n in ids)
    claims = read(county, "medical_claims.csv")
    assert len({c["claim_id"] for c in claims}) < len(claims)
    assert all(re.match(r"^-?\d+\.\d{2}$", c["out_of_pocket"]) for c in claims)
    assert {c["inpatient"] for c in claims} == {"是", "否"}
    statuses = {
        "disability": {"valid", "revoked"},
        "unemployment": {"registered", "reemployed"},
        "students": {"enrolled", "dropped_out", "suspended"},
        "relapse_monitoring": {"monitoring", "risk_eliminated"},
        "businesses": {"active", "closed"},
    }
    for source, allowed in statuses.items():
        assert {r["status"] for r in read(county, f"{source}.csv")} <= allowed, source
    assert {r["rating"] for r in read(county, "housing_safety.csv")} <= set("ABCD")
    assert {r["loss_level"] for r in read(county, "disasters.csv")} <= {
        "minor",
        "moderate",
        "severe",
        "total",
    }
    for row in read(county, "hotline.csv"):
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", row["called_at"])


def test_ground_truth_references_real_households_and_covers_every_rule(county: Path) -> None:
    households = {h["household_id"] for h in read(county, "households.csv")}
    members = {(p["household_id"], p["id_number"]) for p in read(county, "persons.csv")}
    truth = read(county, "ground_truth.csv")
    assert {t["event"] for t in truth} == set(RULE_IDS)
    feeds = {
        source: {r["id_number"].upper() for r in read(county, f"{source}.csv")} for source in FEED_COLUMNS
    }
    for row in truth:
        assert row["household_id"] in households
        assert (row["household_id"], row["id_number"]) in members
        assert DATE.match(row["event_date"]) and row["event_date"] <= AS_OF.isoformat()
        if row["source"] in feeds and row["event"] not in ("disaster_loss", "repeat_hotline"):
            assert row["id_number"] in feeds[row["source"]], row
    assert len({(t["household_id"], t["event"]) for t in truth}) == len(truth)


def test_ground_truth_matches_rules_recomputed_from_the_files(county: Path) -> None:
    """An independent reading of some rules from the CSV files alone finds exactly the ground truth."""
    persons = read(county, "persons.csv")
    households = {h["household_id"]: h for h in read(county, "households.csv")}
    standards = {
        s["area_type"]: int(s["dibao_monthly"])
        for s in read(county, "standards.csv")
        if s["year"] == str(AS_OF.year)
    }
    deaths = {d["id_number"].upper(): date.fromisoformat(d["death_date"]) for d in read(county, "deaths.csv")}
    pensions: dict[str, tuple[str, float]] = {}
    for row in read(county, "pensions.csv"):
        key = row["id_number"].upper()
        if row["as_of"] <= AS_OF.isoformat() and (key not in pensions or row["as_of"] >= pensions[key][0]):
            pensions[key] = (row["as_of"], float(row["monthly_amount"]))
    covered = {
        a["household_id"]
        for a in read(county, "assistance.csv")
        if a["program"] in ("dibao", "tekun") and a["status"] == "active"
    }
    tekun = {
        a["household_id"]
        for a in read(county, "assistance.csv")
        if a["program"] == "tekun" and a["status"] == "active"
    }

    def age(birth: str, at: date = AS_OF) -> int:
        b = date.fromisoformat(birth)
        return at.year - b.year - ((at.month, at.day) < (b.month, b.day))

    living: dict[str, list[dict[str, str]]] = defaultdict(list)
    dead: dict[str, list[dict[str, str]]] = defaultdict(list)
    for person in persons:
        (dead if person["id_number"] in deaths else living)[person["household_id"]].append(person)
    income = {
        hid: sum(float(p["monthly_income"]) + pensions.get(p["id_number"], ("", 0.0))[1] for p in people)
        for hid, people in living.items()
    }
    oop: defaultdict[str, float] = defaultdict(float)
    household_of = {p["id_number"]: p["household_id"] for p in persons}
    seen_claims = set()
    for claim in read(county, "medical_claims.csv"):
        number = claim["id_number"].upper()
        settled = date.fromisoformat(claim["settle_date"])
        if (
            number in household_of
            and number not in deaths
            and claim["claim_id"] not in seen_claims
            and 0 <= (AS_OF - settled).days <= 365
        ):
            seen_claims.add(claim["claim_id"])
            oop[household_of[number]] += float(claim["out_of_pocket"])

    expected: dict[str, set[str]] = defaultdict(set)
    for hid, people in living.items():
        ages = [age(p["birth_date"]) for p in people]
        area = households[hid]["area_type"]
        low = income[hid] / len(people) < standards[area] * 1.5
        if hid not in covered and oop[hid] >= 10_000 and oop[hid] >= 0.5 * 12 * income[hid]:
            expected["medical_burden"].add(hid)
        if len(people) == 1 and hid not in tekun and income[hid] < standards[area]:
            p = people[0]
            if ages[0] >= 60 or ages[0] < 18 or p["disability_level"] in ("1", "2"):
                expected["tekun_candidate"].add(hid)
        guardians = [
            a
            for a, p in zip(ages, people, strict=True)
            if 18 <= a <= 59 and p["disability_level"] not in ("1", "2")
        ]
        if any(a < 18 for a in ages) and not guardians:
            expected["child_without_guardian"].add(hid)
        frail = any(
            a >= 80 or (a >= 60 and p["self_care"] == "none") for a, p in zip(ages, people, strict=True)
        )
        if all(a >= 60 for a in ages) and frail and low and hid not in covered:
            expected["elderly_alone"].add(hid)
        dependants = any(
            a < 18 or a >= 60 or p["disability_level"] in ("1", "2")
            for a, p in zip(ages, people, strict=True)
        )
        for p in dead[hid]:
            died = deaths[p["id_number"]]
            if (
                (AS_OF - died).days <= 90
                and 18 <= age(p["birth_date"], died) <= 59
                and dependants
                and hid not in tekun
            ):
                expected["breadwinner_death"].add(hid)

    truth: dict[str, set[str]] = defaultdict(set)
    for row in read(county, "ground_truth.csv"):
        truth[row["event"]].add(row["household_id"])
    for rule in (
        "medical_burden",
        "tekun_candidate",
        "child_without_guardian",
        "elderly_alone",
        "breadwinner_death",
    ):
        assert expected[rule] == truth[rule], rule


def test_progress_is_reported_up_to_the_total(tmp_path: Path) -> None:
    seen: list[int] = []
    summary = generate(tmp_path, 25_000, 3, AS_OF, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 25_000 and len(seen) >= 3
    assert summary.files["persons.csv"] == 25_000
    assert summary.households == summary.files["households.csv"]
    assert sum(summary.ground_truth.values()) == summary.files["ground_truth.csv"]
    assert "seed=3 as_of=2025-06-30" in (tmp_path / "README.txt").read_text(encoding="utf-8")
    assert not (tmp_path / ".chunks").exists()


def test_memory_does_not_grow_with_the_number_of_persons(tmp_path: Path) -> None:
    peaks = []
    for persons in (2_000, 8_000):
        generate(tmp_path / "warm", 500, 1, AS_OF)  # module-level caches are not part of the measure
        tracemalloc.start()
        generate(tmp_path / str(persons), persons, 1, AS_OF, workers=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.2 * peaks[0] and peaks[1] < 32 * 2**20, peaks


def test_another_county_uses_its_own_codes_and_names(tmp_path: Path) -> None:
    summary = generate(tmp_path, 300, 5, AS_OF, county_code="371522")
    assert summary.county_name == "莘县"
    regions = read(tmp_path, "regions.csv")
    assert regions[1]["name"] == "聊城市" and regions[2]["name"] == "莘县"
    persons = read(tmp_path, "persons.csv")
    assert all(ric.is_valid(p["id_number"]) for p in persons)
    assert {p["id_number"][:6] for p in persons} >= {"372523", "371522"}  # before and after 1997
    with pytest.raises(ValueError):
        generate(tmp_path / "bad", 10, 5, AS_OF, county_code="379999")
