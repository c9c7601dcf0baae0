"""Chinese-aware normalisation of the fields people give: names, ID numbers, phone numbers.

Everything here is a pure function of its input (plus pypinyin's dictionary), so the same record
normalises the same way in the online lookup, in batch and when the index is built.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin

from safetynet.validation import ID_CHECK_CHARS, ID_WEIGHTS

# Two-character surnames are rare but real; the rest of the name is the given name.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "南宫",
        "独孤",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "太史",
        "申屠",
        "端木",
        "西门",
        "闻人",
        "万俟",
        "呼延",
        "赫连",
        "第五",
        "百里",
        "东郭",
        "拓跋",
    ]
)
# Heteronym combinations grow fast (every character may have three readings); past this many
# spellings the name is ambiguous enough that the extra keys only widen blocks.
MAX_SPELLINGS = 8


# Characters read differently in names than in words (曾 is zeng as a surname, 单 is shan), with the
# readings a clerk may have heard. pypinyin's full heteronym lists also hold archaic readings (王 yu,
# 舒 yu) that would make unrelated names sound alike, so other characters keep their usual reading.
NAME_HETERONYMS: dict[str, tuple[str, ...]] = {
    "曾": ("zeng", "ceng"),
    "单": ("shan", "dan"),
    "解": ("xie", "jie"),
    "区": ("ou", "qu"),
    "仇": ("qiu", "chou"),
    "朴": ("piao", "pu"),
    "查": ("zha", "cha"),
    "盖": ("ge", "gai"),
    "乐": ("yue", "le"),
    "翟": ("zhai", "di"),
    "缪": ("miao", "mou"),
    "尉": ("yu", "wei"),
    "召": ("shao", "zhao"),
    "覃": ("qin", "tan"),
    "员": ("yun", "yuan"),
    "长": ("chang", "zhang"),
    "朝": ("zhao", "chao"),
    "重": ("zhong", "chong"),
    "行": ("xing", "hang"),
    "传": ("chuan", "zhuan"),
    "柏": ("bai", "bo"),
    "秘": ("bi", "mi"),
    "种": ("chong", "zhong"),
    "折": ("she", "zhe"),
    "藏": ("zang", "cang"),
    "都": ("du", "dou"),
    "参": ("can", "shen"),
    "薄": ("bo", "bao"),
    "晟": ("sheng", "cheng"),
    "莘": ("shen", "xin"),
    "茜": ("qian", "xi"),
    "乾": ("qian", "gan"),
}


# Rare name characters pypinyin's dictionary does not read, with their Unihan kMandarin reading. Any other
# character it cannot read stands for itself (never a blank), so it matches only itself.
RARE_READINGS: dict[str, str] = {
    "𠮷": "ji",  # U+20BB7, the 吉 with a long lower stroke
    "㐂": "xi",  # U+3402, 喜
}


@lru_cache(maxsize=65536)
def char_readings(char: str) -> tuple[str, ...]:
    """Toneless pinyin of one character: its usual reading, or its name readings; a non-Han char is itself."""
    if char in NAME_HETERONYMS:
        return NAME_HETERONYMS[char]
    if char in RARE_READINGS:
        return (RARE_READINGS[char],)
    return ((pinyin(char, style=Style.NORMAL, errors="default")[0][0] or char).lower(),)


def fuzzy_syllable(syllable: str) -> str:
    """Fold the confusions of regional accents and hurried typing: zh/z, ch/c, sh/s, n/l, -ng/-n."""
    for retroflex in ("zh", "ch", "sh"):
        if syllable.startswith(retroflex):
            syllable = syllable[0] + syllable[2:]
            break
    if syllable.startswith("n") and not syllable.startswith("ng"):
        syllable = "l" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def clean_name(name: str) -> str:
    """NFKC (full-width letters), no spaces or separator dots (维吾尔族 names: 买买提·艾力)."""
    text = unicodedata.normalize("NFKC", name or "")
    return re.sub(r"[\s·•．.\-_]", "", text)


def split_name(name: str) -> tuple[str, str]:
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


@lru_cache(maxsize=262144)
def spellings(text: str) -> tuple[str, ...]:
    """Every toneless pinyin spelling of `text` (syllables joined by spaces), the usual one first."""
    options = [char_readings(ch) for ch in text]
    result: list[str] = []
    for combo in itertools.product(*options):
        result.append(" ".join(combo))
        if len(result) >= MAX_SPELLINGS:
            break
    return tuple(result)


@lru_cache(maxsize=262144)
def fuzzy_spellings(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(fuzzy_syllable(s) for s in sp.split(" ")) for sp in spellings(text)))


# As sets, for comparing two names' readings in a batch's hundreds of thousands of pairs without building
# a set per pair.
@lru_cache(maxsize=262144)
def spelling_set(text: str) -> frozenset[str]:
    return frozenset(spellings(text))


@lru_cache(maxsize=262144)
def fuzzy_set(text: str) -> frozenset[str]:
    return frozenset(fuzzy_spellings(text))


# ---------------------------------------------------------------------------------------------
# Place names

# Longest first: 社区居民委员会 must go before 社区 and 委员会.
SUFFIXES = (
    "社区居民委员会",
    "村民委员会",
    "居民委员会",
    "街道办事处",
    "社区居委会",
    "村委会",
    "居委会",
    "办事处",
    "委员会",
    "街道",
    "社区",
    "村",
    "镇",
    "乡",
    "县",
    "市",
    "区",
    "省",
)


def base_name(name: str) -> str:
    """The name as people say it: 王庄村村民委员会 -> 王庄, 新盛店镇 -> 新盛店."""
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                name = name[: -len(suffix)]
                changed = True
                break
    return name


# ---------------------------------------------------------------------------------------------
# Phones


def one_digit_apart(a: str, b: str) -> bool:
    """Same length and one digit different, or two neighbours swapped: the typos of keyed numbers."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


# ---------------------------------------------------------------------------------------------
# ID numbers

_MASK_CHARS = "*＊xX?？_"


def check_char(body17: str) -> str:
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def id_valid(number: str) -> bool:
    return bool(re.fullmatch(r"\d{17}[\dX]", number)) and check_char(number[:17]) == number[17]


@dataclass(frozen=True, slots=True)
class IdEvidence:
    """What an ID number as given tells: the full number, a pattern with unknown positions, or nothing.

    `pattern` has 18 characters with '?' where a digit is unknown (masked or missing); a fragment whose
    position is unknown (e.g. "1234" typed alone) is kept in `fragment` and only matched as a suffix.
    """

    full: str = ""  # a valid 18-character number as given
    pattern: str = ""  # 18 chars, '?' unknown; set for masked and for invalid full-length numbers
    fragment: str = ""
    mistyped: bool = False  # 18 characters that fail the check digit

    @property
    def known(self) -> int:
        if self.full:
            return 18
        if self.pattern:
            return 18 - self.pattern.count("?")
        return len(self.fragment)


def read_id(text: str) -> IdEvidence:
    raw = unicodedata.normalize("NFKC", text or "").strip().upper().replace(" ", "")
    if not raw:
        return IdEvidence()
    # Masks: 3714**********123X. A trailing X is a check character unless the mask ran to the end.
    if any(c in "*?_" for c in raw) and len(raw) == 18:
        pattern = "".join(c if c.isdigit() or (i == 17 and c == "X") else "?" for i, c in enumerate(raw))
        return IdEvidence(pattern=pattern)
    if len(raw) == 18 and re.fullmatch(r"\d{17}[\dX]", raw):
        if id_valid(raw):
            return IdEvidence(full=raw)
        return IdEvidence(pattern=raw, mistyped=True)
    if len(raw) == 15 and raw.isdigit():
        # A first-generation 15-digit number: year without century and no check character.
        body = raw[:6] + "19" + raw[6:]
        return IdEvidence(full=body + check_char(body))
    digits = re.sub(r"[^\dX]", "", raw)
    if 4 <= len(digits) < 18:
        return IdEvidence(fragment=digits)
    return IdEvidence()


def id_variants(number: str) -> list[str]:
    """Valid numbers one keyed error away from `number` (one digit wrong, or two neighbours swapped).

    The check digit makes this small: of the ~170 single-digit changes about one in eleven is valid.
    """
    found: dict[str, None] = {}
    body, check = number[:17], number[17]
    digits = re.fullmatch(r"\d{17}", body) is not None
    total = 0
    if digits:
        found[body + check_char(body)] = None  # the check character itself was the typo
        # One digit changed moves the weighted sum by weight × difference: test all 153 in arithmetic
        # rather than recomputing each number's check character.
        total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
        for i, weight in enumerate(ID_WEIGHTS):
            old = int(body[i])
            for new in range(10):
                if new != old and ID_CHECK_CHARS[(total + weight * (new - old)) % 11] == check:
                    found[body[:i] + str(new) + body[i + 1 :] + check] = None
    swappable = number if check != "X" else body
    for i in range(len(swappable) - 1):
        a, b = swappable[i], swappable[i + 1]
        if a == b:
            continue
        swapped = number[:i] + b + a + number[i + 2 :]
        if digits and i + 1 < 17:  # both in the body: the sum moves by (w_i - w_i+1) × (b - a)
            valid = (
                ID_CHECK_CHARS[(total + (ID_WEIGHTS[i] - ID_WEIGHTS[i + 1]) * (int(b) - int(a))) % 11]
                == check
            )
        else:
            valid = id_valid(swapped)
        if valid:
            found[swapped] = None
    found.pop(number, None)
    return [v for v in found if v[6:8] in ("18", "19", "20")]


def pattern_agrees(pattern: str, number: str) -> bool:
    return len(pattern) == 18 and all(p in ("?", n) for p, n in zip(pattern, number, strict=True))
