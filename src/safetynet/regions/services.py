"""Region lookups: subtree ranges for scoping, ancestry for display, county names checked against stdnum."""

from __future__ import annotations

from functools import lru_cache

from safetynet.regions.models import LEVEL_ORDER, PREFIX_LENGTH, Level, Region


def subtree_range(code: str, level: str) -> tuple[str, str]:
    """Inclusive (low, high) bounds of every 12-digit code inside the region: an index range scan."""
    prefix = code[: PREFIX_LENGTH[Level(level)]]
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


def in_subtree(region_code: str, scope_code: str, scope_level: str) -> bool:
    low, high = subtree_range(scope_code, scope_level)
    return low <= region_code <= high


def expected_parent_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(Level(level))
    return LEVEL_ORDER[index - 1].value if index else None


def prefix_matches_parent(code: str, level: str, parent_code: str, parent_level: str) -> bool:
    """A child's code starts with its parent's prefix and has zeros past its own level."""
    own = PREFIX_LENGTH[Level(level)]
    parent_prefix = parent_code[: PREFIX_LENGTH[Level(parent_level)]]
    return code.startswith(parent_prefix) and code[own:] == "0" * (12 - own)


@lru_cache(maxsize=4096)
def stdnum_county_names(county_code: str) -> tuple[str, ...]:
    """Every name python-stdnum's division table has held for a 6-digit county code (any period)."""
    from stdnum import numdb

    results = numdb.get("cn/loc").info(county_code)
    info = {k: v for _part, props in results for k, v in props.items()}
    names: list[str] = []
    for entry in info.get("county", "").split(","):
        names.append(entry.split("]", 1)[1] if entry.startswith("[") else entry)
    return tuple(n for n in names if n)


def ancestors(region: Region) -> list[Region]:
    """The chain from the province down to the region itself, for breadcrumbs."""
    chain = [region]
    while chain[-1].parent_id:
        parent = chain[-1].parent
        assert parent is not None
        chain.append(parent)
    return list(reversed(chain))


def get(code: str) -> Region | None:
    return Region.objects.filter(code=code).first()


def children(region: Region) -> list[Region]:
    return list(region.children.order_by("code"))


def narrowing(region: Region | None) -> list[tuple[str, str]]:
    """(code prefix, name) of the regions one level down that a list may be narrowed to: a city's
    counties, a county's townships, a township's villages; nothing below a village."""
    if region is None or region.level == Level.VILLAGE:
        return []
    return [(child.code[: PREFIX_LENGTH[Level(child.level)]], child.name) for child in children(region)]


def names(codes: list[str]) -> dict[str, str]:
    """Region names by 12-digit code, for the codes that exist."""
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


def villages_under(region: Region) -> list[Region]:
    """The villages (社区) in a region's subtree, by code: where a township hands a lead to be checked."""
    low, high = subtree_range(region.code, region.level)
    return list(Region.objects.filter(level="village", code__gte=low, code__lte=high).order_by("code"))


def boundaries(codes: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
    """The imported outline (a GeoJSON feature) of each region of `codes` that has one."""
    from safetynet.regions.models import Boundary

    return dict(Boundary.objects.filter(region_id__in=codes).values_list("region_id", "feature"))
