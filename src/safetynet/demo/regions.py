"""The demo county's administrative tree: province, city, county, townships and villages."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from safetynet.demo import names
from safetynet.demo.ids import current_name

DEFAULT_COUNTY = "371427"  # 夏津县, 德州市, 山东省: a rural county; code 372423 before 1994


@dataclass(slots=True)
class Village:
    code: str
    name: str
    base: str  # the name without 村委会/社区居委会, as people say it
    urban: bool
    weight: float
    township: Township


@dataclass(slots=True)
class Township:
    code: str
    name: str
    villages: list[Village] = field(default_factory=list)


@dataclass(slots=True)
class County:
    code: str  # 6 digits
    name: str
    city_name: str
    province_name: str
    townships: list[Township]

    @property
    def villages(self) -> list[Village]:
        return [village for township in self.townships for village in township.villages]

    def region_rows(self) -> list[list[str]]:
        """regions.csv rows, parents before children."""
        province = self.code[:2] + "0" * 10
        city = self.code[:4] + "0" * 8
        county = self.code + "0" * 6
        rows = [
            [province, self.province_name, "province", ""],
            [city, self.city_name, "city", province],
            [county, self.name, "county", city],
        ]
        for township in self.townships:
            rows.append([township.code, township.name, "township", county])
            rows.extend([v.code, v.name, "village", township.code] for v in township.villages)
        return rows


def _unique(taken: set[str], make: Callable[..., str], *args: object) -> str:
    for _ in range(1000):
        candidate = make(*args)
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError("ran out of place names")


def _township_name(rng: random.Random, kind: str) -> str:
    if kind == "街道":
        return rng.choice(names.STREET_NAMES) + kind
    return rng.choice(names.PLACE_SURNAMES) + rng.choice(names.TOWNSHIP_SUFFIXES) + kind


def _village_base(rng: random.Random, urban: bool) -> str:
    if urban:
        return rng.choice(names.COMMUNITY_NAMES)
    return (
        rng.choice(names.VILLAGE_PREFIXES)
        + rng.choice(names.PLACE_SURNAMES)
        + rng.choice(names.VILLAGE_SUFFIXES)
    )


def build_county(rng: random.Random, persons: int, county_code: str, year: int) -> County:
    """12-15 townships (2-3 streets, towns, a few 乡) of 20-40 villages each, more villages for more people."""
    county_name = current_name(county_code, year)
    if not county_name.endswith(("县", "市", "区", "旗")):
        raise ValueError(f"{county_code} ({county_name}) is not a county-level division")
    county = County(
        code=county_code,
        name=county_name,
        city_name=current_name(county_code[:4] + "00", year),
        province_name=current_name(county_code[:2] + "0000", year),
        townships=[],
    )
    n_townships = rng.randint(12, 15)
    n_streets = rng.randint(2, 3)
    n_xiang = rng.randint(2, 3)
    per_township = min(40, max(20, round(persons / n_townships / 600)))
    township_names: set[str] = set()
    for t in range(n_townships):
        # Township codes: 00x streets (街道), 1xx towns (镇), 2xx townships (乡).
        if t < n_streets:
            kind, number = "街道", t + 1
        elif t < n_townships - n_xiang:
            kind, number = "镇", 100 + t - n_streets + 1
        else:
            kind, number = "乡", 200 + t - (n_townships - n_xiang) + 1
        township = Township(
            f"{county_code}{number:03d}000", _unique(township_names, _township_name, rng, kind)
        )
        n_villages = min(40, max(20, per_township + rng.randint(-3, 3)))
        # Streets are all communities; a town seat has a few; a 乡 is almost all villages.
        n_urban = n_villages if kind == "街道" else rng.randint(1, 3) if kind == "镇" else rng.randint(0, 1)
        village_names: set[str] = set()
        for v in range(n_villages):
            urban = v < n_urban
            base = _unique(village_names, _village_base, rng, urban)
            # Village codes: 0xx-1xx residents' committees (社区居委会), 2xx villagers' committees (村委会).
            if urban:
                village = Village(
                    f"{township.code[:9]}{v + 1:03d}",
                    base + "社区居委会",
                    base + "社区",
                    True,
                    rng.uniform(1.5, 3.0),
                    township,
                )
            else:
                village = Village(
                    f"{township.code[:9]}{200 + v - n_urban + 1:03d}",
                    base + "村委会",
                    base + "村",
                    False,
                    rng.lognormvariate(0.0, 0.4),
                    township,
                )
            township.villages.append(village)
        county.townships.append(township)
    return county
