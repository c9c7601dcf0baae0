"""Free address text ("夏津县新盛店镇王庄", "新盛店汪庄村") resolved to a village or township code.

People say where they live loosely: the township without 镇, the village without 村, a homophone
character, or only the township. Names are compared as written and as fuzzy pinyin.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from safetynet.linkage.chinese import base_name, fuzzy_spellings
from safetynet.regions.models import Level, Region


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    level: str  # village or township
    how: str  # how the text was read, for the explanation
    # A village name that several townships have (两个乡镇都有王庄村) and nothing said which: all of them,
    # `code` being the first. The person may live in any; none is guessed.
    villages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Entry:
    code: str
    parent: str
    base: str


_CACHE: dict[str, tuple[tuple[object, ...], AddressResolver]] = {}
# Where the place's name ends in what people say: a direction, a landmark, a number.
LANDMARK = re.compile(
    r"[东西南北]头|[东西南北前后]街|卫生室|小学|学校|村委|大队|路口|后面|前面|旁边|对面|附近|[0-9一二三四五六七八九十]+[组队号排]|\d"
)
CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]+")


class AddressResolver:
    def __init__(self, townships: list[_Entry], villages: list[_Entry], strip: list[str]):
        self.townships = townships
        self.villages = villages
        self.strip = sorted(strip, key=len, reverse=True)
        # A batch's leads name the same places again and again; a resolver never changes (a new alias or
        # import makes a new one), so what it read once it reads the same way.
        self._read: dict[tuple[str, str], Place | None] = {}

    @classmethod
    def cached(cls, prefix: str = "") -> AddressResolver:
        """One resolver per region subtree and registry import: regions change only by an import, and
        reading a county's thousands of villages on every keystroke would cost more than the lookup."""
        from safetynet.linkage.models import VillageAlias
        from safetynet.registry.models import ImportBatch

        # The newest import names the regions' version; its hash too, as a rolled-back id can come again.
        # The alias table's size and newest row name its version (an alias removed and another added
        # change the newest id).
        stamp = (
            *(ImportBatch.objects.order_by("-id").values_list("id", "content_hash").first() or (0, "")),
            VillageAlias.objects.count(),
            VillageAlias.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        )
        found = _CACHE.get(prefix)
        if found is None or found[0] != stamp:
            if len(_CACHE) > 64:
                _CACHE.clear()
            found = (stamp, cls.for_regions(prefix))
            _CACHE[prefix] = found
        return found[1]

    @classmethod
    def for_regions(cls, prefix: str = "") -> AddressResolver:
        rows = Region.objects.filter(
            code__startswith=prefix, level__in=[Level.TOWNSHIP, Level.VILLAGE]
        ).values_list("code", "name", "level", "parent_id")
        from safetynet.linkage.models import VillageAlias

        townships = [_Entry(c, p or "", base_name(n)) for c, n, lv, p in rows if lv == Level.TOWNSHIP]
        villages = [_Entry(c, p or "", base_name(n)) for c, n, lv, p in rows if lv == Level.VILLAGE]
        # The county's aliases are more names of their villages, found like the registered ones.
        parent = {v.code: v.parent for v in villages}
        villages += [
            _Entry(code, parent[code], base_name(alias))
            for alias, code in VillageAlias.objects.filter(region_code__startswith=prefix).values_list(
                "alias", "region_code"
            )
            if code in parent
        ]
        upper = Region.objects.filter(level__in=[Level.PROVINCE, Level.CITY, Level.COUNTY]).values_list(
            "name", flat=True
        )
        strip = [n for name in upper for n in {name, base_name(name)} if len(n) >= 2]
        return cls(townships, villages, strip)

    def resolve(self, text: str, within: str = "") -> Place | None:
        """`within`: a code prefix the place is known to be in (a township's 9 digits when the region code
        said the township and the text says the village)."""
        key = (text, within)
        if key not in self._read:
            if len(self._read) >= 100_000:
                self._read.clear()
            self._read[key] = self._resolve(text, within)
        return self._read[key]

    def _resolve(self, text: str, within: str) -> Place | None:
        text = re.sub(r"\s", "", unicodedata.normalize("NFKC", text or ""))
        for name in self.strip:
            text = text.replace(name, "")
        if len(text) < 2:
            return None
        townships = [t for t in self.townships if t.code.startswith(within)] if within else self.townships
        township = self._best(text, townships)
        rest = text
        pool = [v for v in self.villages if v.code.startswith(within)] if within else self.villages
        if township is not None:
            entry, start, end = township
            rest = text[:start] + text[end:]
            pool = [v for v in pool if v.parent == entry.code]
        rest_base = base_name(rest) if rest else ""
        village = self._best(rest, pool) if rest else None
        if village is not None:
            return Place(village[0].code, Level.VILLAGE, "村名一致")
        namesakes = self._namesakes(rest, pool) if rest else []
        if namesakes:
            return Place(namesakes[0], Level.VILLAGE, "同名村（多个乡镇都有）", tuple(namesakes))
        guess = self._sounds_like(rest_base, pool) if len(rest_base) >= 2 else None
        if guess is not None:
            return Place(guess.code, Level.VILLAGE, "村名近似")
        if township is not None:
            return Place(township[0].code, Level.TOWNSHIP, "仅到乡镇")
        return None

    @staticmethod
    def _best(text: str, entries: list[_Entry]) -> tuple[_Entry, int, int] | None:
        """The name said first (people name the township before the village), the longest at one place;
        two places of one name are not guessed between."""
        hits = [(e, text.find(e.base)) for e in entries if len(e.base) >= 2 and e.base in text]
        if not hits:
            return None
        first = min(at for _, at in hits)
        longest = max(len(e.base) for e, at in hits if at == first)
        top = [(e, at) for e, at in hits if at == first and len(e.base) == longest]
        if len({e.code for e, _ in top}) > 1:
            return None
        entry, at = top[0]
        return entry, at, at + len(entry.base)

    def unread_name(self, text: str, village: str) -> str:
        """The name `text` gives a place, when it is not how the registry names `village` nor any place
        this resolver knows there: "张家庄西头" said of 张庄村 gives 张家庄. Empty when there is none."""
        text = re.sub(r"\s", "", unicodedata.normalize("NFKC", text or ""))
        for name in self.strip:
            text = text.replace(name, "")
        township = next((t for t in self.townships if t.code == village[:9] + "000"), None)
        if township is not None:
            text = text.split(township.base, 1)[-1]
            text = next(
                (text[len(s) :] for s in ("街道办事处", "街道", "镇", "乡") if text.startswith(s)), text
            )
        said = base_name(LANDMARK.split(text, 1)[0])
        known = {v.base for v in self.villages if v.code == village}
        if not (2 <= len(said) <= 8) or not CJK.fullmatch(said) or said in known:
            return ""
        place = self.resolve(said, within=village[:9])
        return "" if place is not None and place.code == village else said

    @staticmethod
    def _namesakes(text: str, entries: list[_Entry]) -> list[str]:
        """Villages of the one name said first, where several townships have a village of that name."""
        hits = [(e, text.find(e.base)) for e in entries if len(e.base) >= 2 and e.base in text]
        if not hits:
            return []
        first = min(at for _, at in hits)
        longest = max(len(e.base) for e, at in hits if at == first)
        codes = sorted({e.code for e, at in hits if at == first and len(e.base) == longest})
        return codes if 1 < len(codes) <= 6 else []

    @staticmethod
    def _sounds_like(text: str, entries: list[_Entry]) -> _Entry | None:
        """A misspelt village: the same fuzzy pinyin, or one character off, and no rival as close."""
        sounds = set(fuzzy_spellings(text))
        scored = []
        for entry in entries:
            if sounds & set(fuzzy_spellings(entry.base)):
                scored.append((100.0, entry))
            elif len(entry.base) == len(text):
                scored.append((fuzz.ratio(text, entry.base), entry))
        scored.sort(key=lambda s: -s[0])
        if not scored or scored[0][0] < 60:
            return None
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return None
        return scored[0][1]
