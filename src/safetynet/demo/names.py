"""Pools of Chinese names, place-name syllables and phone prefixes, sampled without calling Faker per row."""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

from faker.providers.person.zh_CN import Provider as _FakerPerson
from faker.providers.phone_number.zh_CN import Provider as _FakerPhone


def _gbk_safe(text: str) -> bool:
    # Some feeds are written in GBK, so every character we may emit must exist there.
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


_SURNAME_WEIGHTS = [
    (name, float(weight)) for name, weight in _FakerPerson.last_names.items() if _gbk_safe(name)
]
SURNAMES = [name for name, _ in _SURNAME_WEIGHTS]
_SURNAME_CUMULATIVE = list(accumulate(weight for _, weight in _SURNAME_WEIGHTS))

# Given names by sex and birth cohort: a 1950s 桂兰 and a 2010s 梓涵 should not trade places.
_GIVEN = {
    (True, 0): (
        "建国志德福永宝长树玉春庆占金洪学文立士振兆继新凤广",
        "国华军民强林山田生祥福贵才胜明义忠成元海亮堂章荣勤",
    ),
    (True, 1): ("建志海春晓永红卫东新立文俊宏国学洪振金", "伟强军勇涛杰斌磊刚峰波平辉鹏明亮超华东辉龙"),
    (True, 2): ("子梓浩宇俊博一思嘉家昊雨皓天泽锦佳亦瑞晨景明", "轩宇涵豪阳航睿杰辰然泽铭凯鑫博哲熙晨诚宸"),
    (False, 0): ("秀桂玉凤淑兰金素翠春月美爱", "英兰珍芝荣花梅华云霞琴芬香莲清"),
    (False, 1): ("丽晓海红雪春艳燕秀美静彩慧", "丽娟艳静敏燕霞玲红梅芳萍华莉洁"),
    (False, 2): ("欣子梓雨诗佳思一语可紫若晨梦心", "怡涵萱琪彤雯悦瑶妍菲琳婷茜然曦"),
}
_FAKER_GIVEN = {
    True: [n for n in _FakerPerson.first_names_male if _gbk_safe(n)],
    False: [n for n in _FakerPerson.first_names_female if _gbk_safe(n)],
}

# Characters a clerk or an OCR step confuses: same or similar sound, similar shape.
_CONFUSABLE = {
    "英": "瑛",
    "华": "花",
    "明": "铭",
    "军": "君",
    "丽": "莉",
    "芳": "方",
    "静": "净",
    "伟": "玮",
    "红": "宏",
    "梅": "媚",
    "兰": "岚",
    "玉": "钰",
    "强": "蔷",
    "杰": "洁",
    "刚": "钢",
    "磊": "垒",
    "建": "健",
    "国": "帼",
    "春": "椿",
    "秀": "绣",
    "涛": "滔",
    "峰": "锋",
    "辉": "晖",
    "霞": "侠",
    "王": "汪",
    "张": "章",
    "李": "黎",
    "刘": "柳",
    "陈": "程",
    "杨": "阳",
    "黄": "皇",
    "赵": "肇",
    "吴": "武",
    "周": "邹",
    "徐": "许",
    "孙": "荪",
    "朱": "诸",
    "胡": "湖",
    "高": "郜",
    "林": "琳",
}

PHONE_PREFIXES = [str(prefix) for prefix in _FakerPhone.phonenumber_prefixes]

# Place-name syllables for a north-China plain county.
PLACE_SURNAMES = "王李张刘陈杨赵孙马朱胡郭何高宋郑韩冯邓曹彭曾田董袁潘蒋蔡魏薛叶阎余杜丁崔程苏吕侯雷邢史甄"
VILLAGE_PREFIXES = ["", "", "", "前", "后", "东", "西", "南", "北", "大", "小", "新", "老"]
VILLAGE_SUFFIXES = [
    "庄",
    "庄",
    "屯",
    "营",
    "楼",
    "集",
    "寨",
    "洼",
    "堤",
    "官庄",
    "家庄",
    "店",
    "口",
    "庙",
    "园",
]
TOWNSHIP_SUFFIXES = ["集", "庄", "屯", "楼", "店", "口", "庙", "官屯", "留庄", "马湖", "盛店", "保屯", "口驿"]
STREET_NAMES = ["银城", "北城", "南城", "东城", "西城", "新城"]
COMMUNITY_NAMES = [
    "东关",
    "西关",
    "南关",
    "北关",
    "银河",
    "文化",
    "建设",
    "胜利",
    "幸福",
    "和平",
    "新华",
    "振兴",
    "育才",
    "滨河",
    "锦绣",
    "阳光",
    "利民",
    "光明",
    "富民",
    "朝阳",
    "人民",
    "友谊",
    "团结",
    "府前",
    "中心",
    "恩城",
    "花园",
    "金桥",
    "运河",
    "青年",
    "解放",
    "红星",
    "春晖",
    "华苑",
    "安居",
    "祥和",
    "丽景",
    "泰和",
    "兴隆",
    "福源",
]
ESTATE_NAMES = [
    "阳光花园",
    "锦绣家园",
    "幸福小区",
    "和平里",
    "运河小区",
    "金桥小区",
    "恩城佳苑",
    "新华苑",
    "育才小区",
]


def surname(rng: random.Random) -> str:
    return SURNAMES[bisect(_SURNAME_CUMULATIVE, rng.random() * _SURNAME_CUMULATIVE[-1])]


def given_name(rng: random.Random, male: bool, birth_year: int) -> str:
    cohort = 0 if birth_year < 1966 else 1 if birth_year < 1990 else 2
    roll = rng.random()
    if cohort == 1 and roll < 0.3:
        return rng.choice(_FAKER_GIVEN[male])
    first, second = _GIVEN[(male, cohort)]
    # Single-character given names were common in the 1970s-80s, rarer before and after.
    if roll < (0.45 if cohort == 1 else 0.2):
        return rng.choice(second)
    return rng.choice(first) + rng.choice(second)


def typo(rng: random.Random, name: str) -> str:
    """One character swapped for a confusable one, as in a hand-keyed departmental record."""
    positions = [i for i, ch in enumerate(name) if ch in _CONFUSABLE]
    if positions:
        i = rng.choice(positions)
        return name[:i] + _CONFUSABLE[name[i]] + name[i + 1 :]
    return name[:-1] + rng.choice(_GIVEN[(True, 1)][1])


def phone(rng: random.Random) -> str:
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(100_000_000):08d}"
