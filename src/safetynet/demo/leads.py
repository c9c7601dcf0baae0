"""A labelled set of leads as people report them, with the errors they make, for the matcher to be judged on.

Reads the county already written (regions, households, persons) and writes `linkage_leads.csv` (the
contract's `safetynet link` input) and `linkage_truth.csv` (record_id, the true id_number or empty for a
person the registry does not know). Errors, each at a stated rate:

- name: a character replaced by a homophone (张伟 -> 张炜) or a near-homophone (刘 -> 柳, zh/z, n/l);
- ID number: missing, one digit wrong, two neighbours swapped, masked (3714**********123X);
- phone: missing, one digit wrong, written with +86 and spaces;
- birth: exact date, or only an age, or nothing;
- place: region code, or free text that drops 村/镇, misspells the village, or names only the township.

Every lead carries a name and at least one of: an ID number (whole, mistyped or masked), a phone, or a
birth year/age with a place; a lead with less than that cannot be followed up by anyone and is not
what a hotline or village clerk records.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from datetime import date
from pathlib import Path

from safetynet.linkage.chinese import base_name, char_readings, check_char, fuzzy_syllable

LEADS = "linkage_leads.csv"
TRUTH = "linkage_truth.csv"
COLUMNS = [
    "record_id",
    "name",
    "id_number",
    "phone",
    "birth_date",
    "age",
    "gender",
    "region_code",
    "address_text",
]
OUTSIDER_SHARE = 0.08


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


class _Sounds:
    """Characters grouped by reading, from the county's own names: a homophone is one a person would type."""

    def __init__(self, texts: list[str]):
        self.exact: dict[str, list[str]] = defaultdict(list)
        self.fuzzy: dict[str, list[str]] = defaultdict(list)
        for ch in sorted({ch for text in texts for ch in text}):
            reading = char_readings(ch)[0]
            self.exact[reading].append(ch)
            self.fuzzy[fuzzy_syllable(reading)].append(ch)

    def replace(self, rng: random.Random, text: str, start: int, near: bool) -> str:
        positions = list(range(start, len(text)))
        rng.shuffle(positions)
        for i in positions:
            reading = char_readings(text[i])[0]
            pool = self.fuzzy[fuzzy_syllable(reading)] if near else self.exact[reading]
            options = [c for c in pool if c != text[i]]
            if options:
                return text[:i] + rng.choice(options) + text[i + 1 :]
        return text


def _age(birth: date, as_of: date) -> int:
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def _mistype(rng: random.Random, number: str) -> str:
    i = rng.randrange(17)
    digit = rng.choice([d for d in "0123456789" if d != number[i]])
    return number[:i] + digit + number[i + 1 :]


def _swap(rng: random.Random, number: str) -> str:
    positions = [i for i in range(16) if number[i] != number[i + 1]]
    i = rng.choice(positions)
    return number[:i] + number[i + 1] + number[i] + number[i + 2 :]


def _phone_text(rng: random.Random, phone: str) -> str:
    roll = rng.random()
    if roll < 0.1:
        i = rng.randrange(3, 11)
        phone = phone[:i] + rng.choice([d for d in "0123456789" if d != phone[i]]) + phone[i + 1 :]
    roll = rng.random()
    if roll < 0.15:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if roll < 0.25:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    return phone


def write_labelled_leads(
    out_dir: Path,
    seed: int,
    as_of: date,
    count: int,
    with_ids: bool = True,
    leads_name: str = LEADS,
    truth_name: str = TRUTH,
) -> int:
    """Write `count` leads (fewer for a tiny county); returns how many were written. Without IDs: the
    ID-less feed rows and hotline calls that batch linkage resolves."""
    rng = random.Random(seed * 7919 + 17)
    regions = {r["code"]: r for r in _read(out_dir / "regions.csv")}
    households = {h["household_id"]: h["region_code"] for h in _read(out_dir / "households.csv")}
    persons = [
        p
        for p in _read(out_dir / "persons.csv")
        if p["birth_date"] and _age(date.fromisoformat(p["birth_date"]), as_of) >= 16
    ]
    if not persons:
        return 0
    sounds = _Sounds([p["name"] for p in persons] + [base_name(r["name"]) for r in regions.values()])
    county_name = next((r["name"] for r in regions.values() if r["level"] == "county"), "")
    count = min(count, len(persons))
    chosen = rng.sample(persons, count)
    with (
        (out_dir / leads_name).open("w", encoding="utf-8", newline="") as leads_file,
        (out_dir / truth_name).open("w", encoding="utf-8", newline="") as truth_file,
    ):
        leads = csv.writer(leads_file)
        truth = csv.writer(truth_file)
        leads.writerow(COLUMNS)
        truth.writerow(["record_id", "id_number", "household_id"])
        for n, person in enumerate(chosen, 1):
            record_id = f"XS{n:07d}"
            village = households[person["household_id"]]
            true_id = person["id_number"]
            if rng.random() < OUTSIDER_SHARE:
                person = _outsider(rng, person, persons)
                true_id = ""
            leads.writerow(
                [record_id, *_lead(rng, person, village, regions, county_name, sounds, as_of, with_ids)]
            )
            truth.writerow([record_id, true_id, person["household_id"] if true_id else ""])
    return count


def _outsider(rng: random.Random, like: dict[str, str], persons: list[dict[str, str]]) -> dict[str, str]:
    """Someone not in the registry living among registered people (a migrant worker back home, a new
    daughter-in-law): a surname and a given name as common here as anyone's, so namesakes happen by chance."""
    surname_of = rng.choice(persons)["name"]
    given_of = rng.choice(persons)["name"]
    name = surname_of[:1] + (given_of[1:] or given_of)
    birth = date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
    body = like["id_number"][:6] + birth.strftime("%Y%m%d") + f"{rng.randint(0, 999):03d}"
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    gender = rng.choice("MF")
    return {
        **like,
        "name": name,
        "id_number": body + check_char(body),
        "birth_date": birth.isoformat(),
        "phone": phone,
        "gender": gender,
    }


def _lead(
    rng: random.Random,
    p: dict[str, str],
    village: str,
    regions: dict[str, dict[str, str]],
    county_name: str,
    sounds: _Sounds,
    as_of: date,
    with_ids: bool,
) -> list[str]:
    name = p["name"]
    roll = rng.random()
    if roll < 0.25:
        name = sounds.replace(rng, name, 1, near=False)  # homophone in the given name
    elif roll < 0.32:
        name = sounds.replace(rng, name, 0, near=True)  # near-homophone anywhere, surname included

    id_text = ""
    roll = rng.random()
    number = p["id_number"]
    if with_ids:
        if roll < 0.3:
            id_text = number
        elif roll < 0.38:
            id_text = _mistype(rng, number)
        elif roll < 0.43:
            id_text = _swap(rng, number)
        elif roll < 0.55:
            id_text = number[:4] + "*" * 10 + number[14:]
    phone = _phone_text(rng, p["phone"]) if p["phone"] and rng.random() < 0.6 else ""

    birth = date.fromisoformat(p["birth_date"])
    roll = rng.random()
    birth_text = birth.isoformat() if roll < 0.3 else ""
    age_text = str(_age(birth, as_of)) if 0.3 <= roll < 0.8 else ""
    gender = {"M": "男", "F": "女"}.get(p["gender"], "") if rng.random() < 0.7 else ""

    region_code = address = ""
    roll = rng.random()
    township = regions[village]["parent_code"]
    village_base = base_name(regions[village]["name"])
    township_name = regions[township]["name"]
    if roll < 0.2:
        region_code = village
    elif roll < 0.45:
        address = f"{county_name}{township_name}{village_base}村"
    elif roll < 0.65:
        address = f"{base_name(township_name)}{village_base}"
    elif roll < 0.77:
        address = f"{township_name}{sounds.replace(rng, village_base, 0, near=False)}"
    elif roll < 0.9:
        address = township_name
    has_place = bool(region_code or address)
    if not (id_text or phone or ((birth_text or age_text) and has_place)):
        # Too little to follow up: the clerk asked for the age and where they live.
        age_text = age_text or str(_age(birth, as_of))
        address = address or f"{township_name}{village_base}"
    return [name, id_text, phone, birth_text, age_text, gender, region_code, address]
