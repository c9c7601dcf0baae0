"""Analysis for leaders (分析研判): who may read which region's figures, each read audited.

Anyone who reads statistics (township, county, county administrator, leader) reads the figures of their
own region and any region below it, never beside or above it. Readers who may not see personal data
(leaders) get small cells suppressed (`measures`). Every dashboard, workbook and brief is an audit entry
naming the region and the period, so the auditor can see who looked at what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, record
from safetynet.regions import services as regions
from safetynet.regions.models import Region
from safetynet.reports import facts, measures
from safetynet.reports.measures import Figures, Period


@dataclass
class Dashboard:
    region: Region
    period: Period
    trail: list[Region]  # from the reader's own region down to this one
    figures: Figures
    children: list[Figures]  # ranked on `rank_by`
    child_level: str | None
    rank_by: str
    channel: str
    series: dict[str, Any]
    rule_trend: dict[str, list[float | None]]
    suppressed: bool
    campaigns: list[Any] = field(default_factory=list)


def region_for(actor: Actor, code: str = "") -> Region:
    """The region a reader asked for, if it is theirs or below theirs; their own when none is asked."""
    require(actor, Cap.READ_STATISTICS)
    own = actor.user.region
    if own is None:
        raise PermissionDenied("user is bound to no region")
    if not code or code == own.code:
        return own
    region = regions.get(str(code)[:12])
    if region is None:
        raise Http404("no such region")
    if not regions.in_subtree(region.code, own.code, own.level):
        record(actor, "denied", "report", region.code, own.code, "辖区外的统计")
        raise PermissionDenied("region outside the reader's own")
    return region


def suppresses(actor: Actor) -> bool:
    """Small cells are hidden from readers who may not see the people behind them."""
    return Cap.READ_REGISTRY not in actor.user.caps


def dashboard(
    actor: Actor,
    code: str,
    period: Period,
    *,
    rank_by: str = "opened",
    channel: str = "",
    audit: str = "分析研判",
) -> Dashboard:
    """The figures of a region the reader may read, with its children ranked; audited."""
    region = region_for(actor, code)
    own = actor.user.region
    assert own is not None
    board = build(region, period, suppress=suppresses(actor), rank_by=rank_by, channel=channel)
    board.trail = [r for r in board.trail if regions.in_subtree(r.code, own.code, own.level)]
    board.campaigns = _campaigns(actor)
    record(actor, "read", "report", region.code, region.code, f"{audit} {period}")
    return board


def build(
    region: Region, period: Period, *, suppress: bool, rank_by: str = "opened", channel: str = ""
) -> Dashboard:
    """The figures of a region and its children for a period (no access check: the callers check)."""
    from safetynet.reports import tallies
    from safetynet.screening import services as screening

    tallies.catch_up()  # leads that landed since the last count (usually none or a few)
    kids = regions.children(region)
    level = measures.child_level(region)
    codes = [region.code, *(k.code for k in kids)]
    channel = channel if channel in measures.CHANNEL_LABELS else ""
    found = measures.read([region.code], period)
    if kids:  # the children's comparison rows need a few measures only (and the channel's funnel if one)
        wanted = (*measures.CHILD_MEASURES, facts.FUNNEL) if channel else measures.CHILD_MEASURES
        found |= measures.read([k.code for k in kids], period, wanted)
    today = measures.today_counts(codes)
    titles = screening.rule_titles()

    def of(r: Region) -> Figures:
        return measures.figures(
            r,
            found[r.code],
            today[r.code],
            suppress=suppress,
            titles=titles,
            channel=channel,
        )

    children = [of(k) for k in kids]
    measures.suppress_siblings(children, suppress)
    rank_by = rank_by if rank_by in measures.RANKINGS else "opened"
    return Dashboard(
        region=region,
        period=period,
        trail=regions.ancestors(region),
        figures=of(region),
        children=measures.ranked(children, rank_by),
        child_level=level,
        rank_by=rank_by,
        channel=channel,
        series=measures.monthly_series(region.code, period, suppress),
        rule_trend=measures.rule_precision_by_month(region.code, period, suppress),
        suppressed=suppress,
    )


def boundary_map(board: Dashboard) -> dict[str, Any] | None:
    """The children's boundaries as one GeoJSON feature collection, with the ranked values, when the
    county imported them (`safetynet regions boundaries FILE`); None: the page shows a ranked grid."""
    shapes = regions.boundaries([k.region_code for k in board.children])
    if not shapes:
        return None
    return {
        "type": "FeatureCollection",
        "features": [shapes[k.region_code] for k in board.children if k.region_code in shapes],
    }


def _campaigns(actor: Actor) -> list[Any]:
    from safetynet.campaigns import services as campaigns

    if Cap.CAMPAIGN_PROGRESS not in actor.user.caps:
        return []
    return campaigns.campaigns(actor, limit=10)
