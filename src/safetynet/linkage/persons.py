"""The schema for Chinese person records: how a partial record and a registry person compare.

A query is whatever someone gave (hotline operator, village clerk, a feed row without an ID); a
candidate is a registry person, whose fields are complete and trusted. Comparisons read the query's
evidence against the candidate and say how they agree, strongest level first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from safetynet.linkage.address import AddressResolver, Place
from safetynet.linkage.chinese import (
    IdEvidence,
    clean_name,
    fuzzy_set,
    fuzzy_spellings,
    id_variants,
    one_digit_apart,
    pattern_agrees,
    read_id,
    spelling_set,
    spellings,
    split_name,
)
from safetynet.linkage.engine import Schema
from safetynet.phones import Phone, normalise_phone, phones_agree
from safetynet.regions.models import Level

GENDERS = {"M": "M", "F": "F", "男": "M", "女": "F", "m": "M", "f": "F"}
MAX_AGE = 120


@dataclass(slots=True)
class PersonRecord:
    name: str = ""
    surname: str = ""
    given: str = ""
    id: IdEvidence = IdEvidence()
    phone: Phone | None = None
    birth: dt.date | None = None
    birth_years: tuple[int, int] | None = None  # inclusive range; from an age, or the exact year
    # The wider range an age as people say it allows: 虚岁 (a year or two more than the real age), or a
    # round number ("七十来岁"); a birth year in it but outside `birth_years` is near, not a mismatch.
    birth_near: tuple[int, int] | None = None
    gender: str = ""
    village: str = ""  # 12-digit code
    villages: tuple[str, ...] = ()  # a query's village name that several townships have: each of them
    township: str = ""  # 9-digit prefix
    county: str = ""  # 6-digit prefix
    place_how: str = ""
    # Registry side only:
    household_phones: tuple[Phone, ...] = ()  # the other members' phones
    id_number: str = ""
    household_id: str = ""
    region_code: str = ""

    @property
    def sounds(self) -> tuple[str, ...]:
        return spellings(self.name) if self.name else ()

    @property
    def fuzzy(self) -> tuple[str, ...]:
        return fuzzy_spellings(self.name) if self.name else ()

    @property
    def surname_fuzzy(self) -> tuple[str, ...]:
        return fuzzy_spellings(self.surname) if self.surname else ()


class InvalidRecord(ValueError):
    """A field that cannot be read at all: said plainly, in Chinese, to whoever typed it."""


def _birth(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?", text)
    if not match:
        raise InvalidRecord(f"出生日期“{text[:20]}”无法识别，应为 YYYY-MM-DD")
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        return dt.date(year, month, day)
    except ValueError:
        pass
    try:  # day and month swapped, as "1958-14-03" can only be
        return dt.date(year, day, month)
    except ValueError as exc:
        raise InvalidRecord(f"出生日期“{text[:20]}”不是有效日期") from exc


def _age(value: Any) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip().removesuffix("岁")
    if not text.isdigit() or int(text) > MAX_AGE:
        raise InvalidRecord(f"年龄“{str(value)[:10]}”应为 0-{MAX_AGE} 的整数")
    return int(text)


def prepare_query(raw: dict[str, Any], as_of: dt.date, resolver: AddressResolver | None) -> PersonRecord:
    """A partial record as given: every field optional, none trusted."""
    name = clean_name(str(raw.get("name") or ""))[:20]
    surname, given = split_name(name) if name else ("", "")
    birth = _birth(raw.get("birth_date"))
    age = _age(raw.get("age"))
    years = near = None
    if birth is not None:
        years = (birth.year, birth.year)
    elif age is not None:
        # Someone aged 40 today was born this year minus 40, or a year before if the birthday is to come.
        years = (as_of.year - age - 1, as_of.year - age)
        # 虚岁 counts a year or two more; a round age ("60", "75") is anything within a couple of years.
        spread = 3 if age >= 30 and age % 5 == 0 else 1
        near = (as_of.year - age - spread, as_of.year - age + 2)
    gender_text = str(raw.get("gender") or "").strip()
    gender = GENDERS.get(gender_text, "")
    if gender_text and not gender:
        raise InvalidRecord(f"性别“{gender_text[:5]}”应为 男/女 或 M/F")
    record = PersonRecord(
        name=name,
        surname=surname,
        given=given,
        id=read_id(str(raw.get("id_number") or "")),
        phone=normalise_phone(str(raw.get("phone") or "")),
        birth=birth,
        birth_years=years,
        birth_near=near,
        gender=gender,
    )
    code = re.sub(r"\D", "", str(raw.get("region_code") or ""))
    place: Place | None = None
    if len(code) == 12:
        level = Level.VILLAGE if code[9:] != "000" else Level.TOWNSHIP if code[6:] != "000000" else "county"
        place = Place(code, level, "区划代码")
        if level != Level.VILLAGE and raw.get("address_text") and resolver is not None:
            # The code said only the township (or county); the text may say the village within it.
            inner = resolver.resolve(
                str(raw["address_text"])[:200], within=code[:9] if level == Level.TOWNSHIP else code[:6]
            )
            if inner is not None and inner.level == Level.VILLAGE:
                place = Place(inner.code, Level.VILLAGE, f"区划代码及{inner.how}", inner.villages)
    elif raw.get("address_text") and resolver is not None:
        place = resolver.resolve(str(raw["address_text"])[:200])
    if place is not None:
        record.place_how = place.how
        record.county = place.code[:6]
        if place.villages:
            record.villages = place.villages
        elif place.level in (Level.VILLAGE, Level.TOWNSHIP):
            record.township = place.code[:9]
            if place.level == Level.VILLAGE:
                record.village = place.code
    return record


def registry_record(
    id_number: str,
    name: str,
    gender: str,
    birth: dt.date,
    phone: str,
    household_id: str,
    region_code: str,
    household_phones: tuple[str, ...] = (),
) -> PersonRecord:
    surname, given = split_name(name)
    own = normalise_phone(phone)
    return PersonRecord(
        household_phones=tuple(
            p for p in map(normalise_phone, household_phones) if p is not None and (own is None or p != own)
        ),
        name=name,
        surname=surname,
        given=given,
        id=IdEvidence(full=id_number),
        phone=own,
        birth=birth,
        birth_years=(birth.year, birth.year),
        gender=gender,
        village=region_code,
        township=region_code[:9],
        county=region_code[:6],
        id_number=id_number,
        household_id=household_id,
        region_code=region_code,
    )


# ---------------------------------------------------------------------------------------------
# Comparisons


class NameComparison:
    name = "name"
    label = "姓名"
    levels = (
        "完全一致",
        "同音（拼音一致）",
        "近音（方言或输入法混淆）",
        "姓相同、名差一字",
        "仅姓相同",
        "不一致",
    )

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        if not q.name or not c.name:
            return None
        if q.name == c.name:
            return 0
        if not spelling_set(q.name).isdisjoint(spelling_set(c.name)):
            return 1
        if not fuzzy_set(q.name).isdisjoint(fuzzy_set(c.name)):
            return 2
        if q.surname and c.surname and not fuzzy_set(q.surname).isdisjoint(fuzzy_set(c.surname)):
            qg, cg = q.given, c.given
            if len(qg) == len(cg) >= 2 and sum(a != b for a, b in zip(qg, cg, strict=True)) == 1:
                return 3
            if (
                qg
                and cg
                and abs(len(qg) - len(cg)) == 1
                and _one_char_dropped(min(qg, cg, key=len), max(qg, cg, key=len))
            ):
                return 3  # 玉 for 玉兰, 小静 for 静: a character dropped or added as a name is said
            return 4
        return 5


def _one_char_dropped(short: str, long: str) -> bool:
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class IdComparison:
    name = "id_number"
    label = "身份证号"
    levels = ("一致", "差一位或两位对调（按校验位还原）", "部分号码（遮挡或片段）吻合", "不一致")

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        given = q.id
        number = c.id_number
        if not number or given.known == 0:
            return None
        if given.full:
            if given.full == number:
                return 0
            return 1 if one_digit_apart(given.full, number) else 3
        if given.mistyped:
            return 1 if one_digit_apart(given.pattern, number) else 3
        if given.pattern:
            return 2 if pattern_agrees(given.pattern, number) and given.known >= 8 else 3
        return 2 if number.endswith(given.fragment) else 3


class PhoneComparison:
    name = "phone"
    label = "电话"
    levels = ("一致", "差一位", "是同户家人的电话", "不一致")

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        if q.phone is None or (c.phone is None and not c.household_phones):
            return None
        if c.phone is not None and phones_agree(q.phone, c.phone):
            return 0
        if c.phone is not None and one_digit_apart(q.phone.local, c.phone.local):
            return 1
        if any(phones_agree(q.phone, p) for p in c.household_phones):
            return 2
        return 3


class BirthComparison:
    name = "birth"
    label = "出生"
    levels = ("日期一致", "年份吻合（或与年龄相符）", "日期差一位或相差一年", "不符")

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        if q.birth_years is None or c.birth is None:
            return None
        if q.birth is not None:
            # A whole date was given: another date in the same year is a different person or a typo.
            if q.birth == c.birth:
                return 0
            typo = one_digit_apart(_digits(q.birth), _digits(c.birth))
            swapped = (q.birth.year, q.birth.month, q.birth.day) == (c.birth.year, c.birth.day, c.birth.month)
            # The year misremembered (or the lunar year said): the same day, a year either side. A date
            # that differs in its year *and* its day is another person's.
            year_off = abs(q.birth.year - c.birth.year) == 1 and (q.birth.month, q.birth.day) == (
                c.birth.month,
                c.birth.day,
            )
            return 2 if typo or swapped or year_off else 3
        low, high = q.birth_years
        if low <= c.birth.year <= high:
            return 1
        near_low, near_high = q.birth_near or (low - 1, high + 1)
        if near_low <= c.birth.year <= near_high:
            return 2
        return 3


@lru_cache(maxsize=65536)  # a county's birth dates are a few tens of thousands of days
def _digits(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


class GenderComparison:
    name = "gender"
    label = "性别"
    levels = ("一致", "不一致")

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        if not q.gender or not c.gender:
            return None
        return 0 if q.gender == c.gender else 1


class PlaceComparison:
    name = "place"
    label = "住址"
    levels = (
        "同村",
        "同名村之一（多个乡镇有此村名）",
        "同乡镇（只说到乡镇）",
        "同乡镇不同村",
        "同县不同乡镇",
        "不在同县",
    )

    def level(self, q: PersonRecord, c: PersonRecord) -> int | None:
        if not q.county or not c.village:
            return None
        if q.village:
            if q.village == c.village:
                return 0
            return 3 if q.township == c.township else 4 if q.county == c.county else 5
        if q.villages:
            return 1 if c.village in q.villages else 4 if q.county == c.county else 5
        if q.township:
            return 2 if q.township == c.township else 4 if q.county == c.county else 5
        return 4 if q.county == c.county else 5


COMPARISONS = (
    NameComparison(),
    IdComparison(),
    PhoneComparison(),
    BirthComparison(),
    GenderComparison(),
    PlaceComparison(),
)


# ---------------------------------------------------------------------------------------------
# Blocking: a registry person is filed under each key; a query looks up its own keys.


def registry_keys(p: PersonRecord) -> list[str]:
    keys = [f"i:{p.id_number}", f"t:{p.id_number[-4:]}"]
    if p.phone is not None:
        keys.append(f"p:{p.phone.local}")
    keys.extend(f"h:{phone.local}" for phone in p.household_phones)  # found by a relative's number too
    year = p.birth.year if p.birth else 0
    for sound in p.fuzzy:
        keys.append(f"f:{sound}")
        keys.append(f"n:{sound}|{year}")
        keys.append(f"r:{sound}|{p.township}")
    for sound in p.surname_fuzzy:
        keys.append(f"v:{sound}|{p.village}|{year}")
        keys.append(f"u:{sound}|{p.id_number[-4:]}")
        if p.phone is not None:
            keys.append(f"s:{sound}|{p.phone.local[-4:]}")
    return keys


def query_keys(q: PersonRecord, tails_by_surname: bool = True) -> list[str]:
    """`tails_by_surname` False: an index filed before ID tails were filed under surnames (it has only
    the plain tails until it is rebuilt)."""
    keys: list[str] = []
    if q.id.full:
        keys.append(f"i:{q.id.full}")
        keys.extend(f"i:{v}" for v in id_variants(q.id.full))
    elif q.id.mistyped:
        keys.extend(f"i:{v}" for v in id_variants(q.id.pattern))
    tail = q.id.full[-4:] or (q.id.pattern[-4:] if q.id.pattern and "?" not in q.id.pattern[-4:] else "")
    if not tail and len(q.id.fragment) >= 4:
        tail = q.id.fragment[-4:]
    if tail:
        # With a surname, the tail is read under it: the last four digits alone are shared by a hundred
        # persons of a county of a million, who would all be compared.
        by_surname = [f"u:{sound}|{tail}" for sound in q.surname_fuzzy] if tails_by_surname else []
        keys.extend(by_surname or [f"t:{tail}"])
    if q.phone is not None:
        keys.extend((f"p:{q.phone.local}", f"h:{q.phone.local}"))
    # Blocked on every year the age as said allows (虚岁, a round number), not only the likeliest two.
    span = q.birth_near if q.birth is None and q.birth_near else q.birth_years
    years = range(span[0], span[1] + 1) if span else range(0)
    townships = {q.township} if q.township else {v[:9] for v in q.villages}
    for sound in q.fuzzy:
        keys.extend(f"n:{sound}|{y}" for y in years)
        keys.extend(f"r:{sound}|{township}" for township in sorted(townships))
    for sound in q.surname_fuzzy:
        for village in (q.village,) if q.village else q.villages:
            keys.extend(f"v:{sound}|{village}|{y}" for y in years)
        if q.phone is not None:
            keys.append(f"s:{sound}|{q.phone.local[-4:]}")
    if not keys:
        # The name alone (a form as its first field is typed): read only while its block is small, a
        # rare name; with anything else given, the other keys find the person with far fewer candidates.
        keys.extend(f"f:{sound}" for sound in q.fuzzy)
    return keys


def person_schema(
    as_of: dt.date, resolver: AddressResolver | None, tails_by_surname: bool = True
) -> Schema[PersonRecord]:
    return Schema(
        name="person",
        comparisons=COMPARISONS,
        prepare=lambda raw: prepare_query(raw, as_of, resolver),
        keys=registry_keys,
        query_keys=lambda q: query_keys(q, tails_by_surname),
        anchors=ANCHORS,
    )


# Anchors for estimating m: pairs that are the same person whatever else they say. A valid ID number
# given in full and agreeing exactly; or the same phone with the same name (as written or as heard).
ANCHORS = ((("id_number",), (0,)), (("phone", "name"), (0, 1)))


# Starting values before any training: what an experienced matcher would guess. EM replaces m.
DEFAULT_M = {
    "name": [0.80, 0.10, 0.04, 0.03, 0.02, 0.01],
    "id_number": [0.90, 0.06, 0.03, 0.01],
    "phone": [0.80, 0.08, 0.08, 0.04],
    "birth": [0.80, 0.15, 0.04, 0.01],
    "gender": [0.98, 0.02],
    "place": [0.75, 0.06, 0.10, 0.06, 0.02, 0.01],
}
DEFAULT_U = {
    "name": [0.001, 0.002, 0.004, 0.01, 0.06, 0.923],
    "id_number": [1e-7, 1e-6, 1e-4, 0.9999],
    "phone": [1e-5, 1e-4, 3e-5, 0.99986],
    "birth": [1e-4, 0.012, 0.03, 0.958],
    "gender": [0.5, 0.5],
    "place": [0.002, 0.005, 0.02, 0.06, 0.895, 0.018],
}
DEFAULT_PRIOR = 1 / 50_000  # two random records, one of them a registered person: about one registry's size
