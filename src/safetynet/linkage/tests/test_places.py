"""Places as people say them, read against a county where two townships each have a 王庄村: the name alone
points at both (neither is guessed), the township said with it picks one, a region code of the township
with the village in the text is the village; and a name said with a character dropped."""

from __future__ import annotations

import datetime as dt

from safetynet.linkage.address import AddressResolver, _Entry
from safetynet.linkage.persons import (
    NameComparison,
    PlaceComparison,
    prepare_query,
    query_keys,
    registry_record,
)

MAJI, CHENGGUAN = "371427003000", "371427001000"
WANGZHUANG_MAJI, WANGZHUANG_CG, SHIQIAO = "371427003201", "371427001203", "371427003202"


def resolver() -> AddressResolver:
    townships = [_Entry(MAJI, "371427000000", "马集"), _Entry(CHENGGUAN, "371427000000", "城关")]
    villages = [
        _Entry(WANGZHUANG_MAJI, MAJI, "王庄"),
        _Entry(WANGZHUANG_CG, CHENGGUAN, "王庄"),
        _Entry(SHIQIAO, MAJI, "石桥"),
    ]
    return AddressResolver(townships, villages, ["夏津县"])


def test_a_village_name_of_two_townships_is_both_and_a_township_picks_one() -> None:
    places = resolver()
    both = places.resolve("王庄村西头")
    assert both is not None and both.villages == (WANGZHUANG_CG, WANGZHUANG_MAJI)
    one = places.resolve("马集镇王庄村")
    assert one is not None and (one.code, one.villages) == (WANGZHUANG_MAJI, ())
    assert places.resolve("王庄村", within="371427001").code == WANGZHUANG_CG  # type: ignore[union-attr]
    assert places.resolve("石桥村卫生室后面").code == SHIQIAO  # type: ignore[union-attr]


def test_the_place_compares_as_one_of_the_namesake_villages() -> None:
    as_of = dt.date(2026, 12, 1)
    query = prepare_query({"name": "王秀英", "age": "71", "address_text": "王庄村"}, as_of, resolver())
    assert query.village == "" and query.villages == (WANGZHUANG_CG, WANGZHUANG_MAJI)
    here = registry_record("x", "王秀英", "F", dt.date(1955, 3, 1), "", "H1", WANGZHUANG_MAJI)
    there = registry_record("y", "王秀英", "F", dt.date(1955, 3, 1), "", "H2", SHIQIAO)
    place = PlaceComparison()
    assert place.level(query, here) == 1 and place.levels[1].startswith("同名村")
    assert place.level(query, there) == 4  # same county, another village: not the one said
    keys = query_keys(query)
    assert any(k.endswith(f"|{WANGZHUANG_MAJI}|1955") for k in keys)
    assert any(k.endswith(f"|{WANGZHUANG_CG}|1955") for k in keys)


def test_a_township_code_and_the_village_in_the_text_is_the_village() -> None:
    as_of = dt.date(2026, 12, 1)
    raw = {"name": "王秀英", "region_code": CHENGGUAN, "address_text": "王庄村南头"}
    query = prepare_query(raw, as_of, resolver())
    assert query.village == WANGZHUANG_CG and "区划代码" in query.place_how
    alone = prepare_query({"name": "王秀英", "region_code": CHENGGUAN}, as_of, resolver())
    assert alone.village == "" and alone.township == "371427001"
    # text naming a village of another township does not override the code
    other = prepare_query({"name": "王秀英", "region_code": CHENGGUAN, "address_text": "石桥村"}, as_of, resolver())
    assert other.village == "" and other.township == "371427001"


def test_a_name_said_with_a_character_dropped_or_added() -> None:
    as_of = dt.date(2026, 12, 1)
    name = NameComparison()
    person = registry_record("x", "刘玉兰", "F", dt.date(1955, 3, 1), "", "H1", SHIQIAO)
    for said, level in (("刘玉", 3), ("刘兰", 3), ("刘玉兰", 0), ("刘小玉兰", 3), ("刘建国", 4), ("张玉", 5)):
        query = prepare_query({"name": said}, as_of, None)
        assert name.level(query, person) == level, said


def test_a_whole_birth_date_of_another_year_and_day_is_another_person() -> None:
    from safetynet.linkage.persons import BirthComparison

    as_of = dt.date(2026, 12, 1)
    birth = BirthComparison()
    person = registry_record("x", "张国庆", "M", dt.date(1954, 10, 8), "", "H1", SHIQIAO)
    for said, level in (
        ("1954-10-08", 0),
        ("1954-08-10", 2),  # day and month swapped
        ("1954-10-09", 2),  # one digit
        ("1955-10-08", 2),  # the year a year off, the day right
        ("1955-10-21", 3),  # another year and another day: someone else
    ):
        query = prepare_query({"name": "张国庆", "birth_date": said}, as_of, None)
        assert birth.level(query, person) == level, said


def test_the_name_a_record_gives_a_village_the_registry_calls_otherwise() -> None:
    places = resolver()
    assert places.unread_name("马集镇道口村西头", SHIQIAO) == "道口"  # 道 is the name, not 街道
    assert places.unread_name("夏津县马集乡石家桥12组", SHIQIAO) == "石家桥"
    assert places.unread_name("马集镇石桥村卫生室后面", SHIQIAO) == ""  # the registered name: nothing new
    assert places.unread_name("", SHIQIAO) == "" and places.unread_name("12号", SHIQIAO) == ""
