"""Normalisation of what people give: names as pinyin, phones, ID numbers (no database)."""

from __future__ import annotations

import datetime as dt

from safetynet.linkage.chinese import (
    base_name,
    clean_name,
    fuzzy_spellings,
    id_valid,
    id_variants,
    one_digit_apart,
    pattern_agrees,
    read_id,
    spellings,
    split_name,
)
from safetynet.phones import normalise_phone, phones_agree
from safetynet.testing import make_id_number

NUMBER = make_id_number(dt.date(1970, 5, 6), 12, True, "371427")


def test_homophones_share_a_spelling_and_near_homophones_a_fuzzy_one() -> None:
    assert set(spellings("张伟")) & set(spellings("张炜"))
    assert set(spellings("刘洋")) & set(spellings("柳阳"))
    assert not set(spellings("张伟")) & set(spellings("章强"))
    # zh/z, n/l, -ng/-n: accents and hurried typing
    assert set(fuzzy_spellings("张成")) & set(fuzzy_spellings("臧晨"))
    assert set(fuzzy_spellings("刘宁")) & set(fuzzy_spellings("牛林"))
    # Surnames read differently as names: 曾 zeng, 单 shan
    assert "zeng guo fan" in spellings("曾国藩") and "shan xiong xin" in spellings("单雄信")
    # Archaic readings are not name readings: 王 is never "yu"
    assert not set(spellings("王玉荣")) & set(spellings("舒玉荣"))


def test_names_are_cleaned_and_split() -> None:
    assert clean_name(" 买买提·艾力 ") == "买买提艾力"
    assert clean_name("ＷＡＮＧ") == "WANG"
    assert split_name("欧阳修文") == ("欧阳", "修文")
    assert split_name("王伟") == ("王", "伟")
    assert base_name("王庄村村民委员会") == "王庄" and base_name("新盛店镇") == "新盛店"
    assert base_name("北城街道") == "北城" and base_name("村") == "村"


def test_phones_lose_prefixes_and_separators() -> None:
    assert normalise_phone("+86 138-1234-5678").digits == "13812345678"
    assert normalise_phone("0086 13812345678").digits == "13812345678"
    assert normalise_phone("（0534）555-1234").digits == "05345551234"
    assert normalise_phone("abc") is None and normalise_phone("123") is None
    landline, local = normalise_phone("0534-5551234"), normalise_phone("5551234")
    assert phones_agree(landline, local)  # the area code left off
    assert not phones_agree(normalise_phone("0531-5551234"), normalise_phone("0534-5551234"))
    assert one_digit_apart("13812345678", "13812345679")
    assert one_digit_apart("13812345678", "13812345687")  # neighbours swapped
    assert not one_digit_apart("13812345678", "13812340000")


def test_id_numbers_as_given() -> None:
    assert id_valid(NUMBER)
    assert read_id(NUMBER).full == NUMBER
    assert read_id(NUMBER[:-1] + NUMBER[-1].lower()).full == NUMBER or NUMBER[-1] != "X"
    masked = read_id(NUMBER[:4] + "*" * 10 + NUMBER[14:])
    assert masked.pattern and masked.known == 8 and pattern_agrees(masked.pattern, NUMBER)
    assert read_id("1234").fragment == "1234"
    assert read_id("").known == 0 and read_id("abc").known == 0
    # A first-generation 15-digit number becomes its 18-digit form.
    old = read_id(NUMBER[:6] + NUMBER[8:17])
    assert old.full == NUMBER[:17] + old.full[17] and id_valid(old.full)


def test_a_mistyped_id_is_recovered_with_the_check_digit() -> None:
    wrong = NUMBER[:9] + str((int(NUMBER[9]) + 3) % 10) + NUMBER[10:]
    assert not id_valid(wrong) and read_id(wrong).mistyped
    assert NUMBER in id_variants(wrong)
    swapped = NUMBER[:10] + NUMBER[11] + NUMBER[10] + NUMBER[12:]
    if swapped != NUMBER:
        assert NUMBER in id_variants(swapped)
    wrong_check = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")
    assert NUMBER in id_variants(wrong_check)
    # Few candidates: the check digit rules out ten of every eleven changes.
    assert len(id_variants(wrong)) < 40
    assert all(id_valid(v) for v in id_variants(wrong))


def test_id_variants_are_every_valid_number_one_keyed_error_away() -> None:
    """The arithmetic shortcut finds exactly what trying every change and every swap finds."""
    import random

    from safetynet.linkage.chinese import id_valid, id_variants

    rng = random.Random(3)
    for _ in range(200):
        body = "3714" + "".join(rng.choice("0123456789") for _ in range(13))
        number = body + rng.choice("0123456789X")
        brute = set()
        for i in range(18):
            for c in "0123456789X" if i == 17 else "0123456789":
                changed = number[:i] + c + number[i + 1 :]
                if changed != number and id_valid(changed):
                    brute.add(changed)
        for i in range(17):
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            if swapped != number and id_valid(swapped):
                brute.add(swapped)
        brute = {v for v in brute if v[6:8] in ("18", "19", "20")}
        assert set(id_variants(number)) == brute, number
