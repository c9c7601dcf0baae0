"""Campaign use cases: declare (visit tasks chosen set-wise in SQL), record visits, progress by village.

Who may do what is `access.permissions` (campaign.declare, campaign.visit, campaign.progress): township
and county staff declare inside their own region; village, township and county staff read and record the
visit tasks of their region subtree; leaders read aggregate progress only, never a household.

How households are chosen (`select_households`): from the household facts of the newest screening run
(`registry.HouseholdFacts`, defined once in screening/features.py), so a campaign picks exactly the
households every page calls low income, elderly or covered:
- low_income: the facts' low_income (per-capita income with pensions below the low-income line);
- dibao_edge (低保边缘): low income but not below the dibao standard and not covered; or running a
  dibao_edge record;
- elderly_alone: one living member, elderly by the pack's definition;
- disabled: a member with a severe registered disability; serious_illness: a member seriously ill;
- covered: running dibao or tekun;
- all: every household of the registry in the regions (no facts needed).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
)
from django.utils import timezone

from safetynet.access.permissions import Cap, require
from safetynet.access.roles import Role
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.campaigns.models import Campaign, VisitTask
from safetynet.leads import services as leads
from safetynet.leads.models import Channel
from safetynet.regions import services as regions
from safetynet.regions.models import PREFIX_LENGTH, Level, Region
from safetynet.registry.models import Household, HouseholdFacts, Person

# The channel a hardship found on a campaign visit is reported through (access.permissions.REPORT_CHANNELS).
VISIT_CHANNEL: dict[str, str] = {Role.COORDINATOR: Channel.VISIT}
DEFAULT_VISIT_CHANNEL: str = Channel.PATROL

MAX_NAME = 100
MAX_FINDINGS = 800  # with the campaign's name in front it stays within a lead's 1000 characters
MAX_DAYS = 366
MAX_REGIONS = 2000
CHUNK = 2000
CODE = re.compile(r"^\d{12}$")
MARKUP = re.compile(r"[<>]")
OUTCOMES = (VisitTask.Status.NO_HARDSHIP, VisitTask.Status.HARDSHIP, VisitTask.Status.UNREACHABLE)
GROUP_ORDER = list(Campaign.Group.values)
GROUP_LABELS = dict(Campaign.Group.choices)


class CampaignRejected(ValueError):
    """Input a clerk can correct, said in Chinese; nothing was saved."""


class AlreadyRecorded(CampaignRejected):
    """The task's visit was recorded already: a second record would overwrite the first."""


def _text(value: object, limit: int) -> str:
    """Printable text only (no control characters), trimmed; one character over `limit` shows it was long."""
    cleaned = "".join(ch for ch in str(value or "") if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    return cleaned.strip()[: limit + 1]


def _date(value: object, label: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        raise CampaignRejected(f"请填写{label}（格式：年-月-日）") from None


def _range_of(code: str) -> tuple[str, str]:
    """The subtree of a 12-digit code, its level read from which parts are zero (a village is never 000)."""
    for level, start, end in (
        (Level.VILLAGE, 9, 12),
        (Level.TOWNSHIP, 6, 9),
        (Level.COUNTY, 4, 6),
        (Level.CITY, 2, 4),
    ):
        if code[start:end].strip("0"):
            return regions.subtree_range(code, level)
    return regions.subtree_range(code, Level.PROVINCE)


def _bounds(actor: Actor, cap: Cap) -> tuple[str, str]:
    require(actor, cap)
    user = actor.user
    if user.region_id is None:
        raise PermissionDenied("this user is bound to no region")
    return regions.subtree_range(user.region_id, user.region.level)  # type: ignore[union-attr]


def in_scope(actor: Actor, code: str) -> bool:
    """Whether a region code lies inside the actor's own region."""
    user = actor.user
    if user.region_id is None:
        return False
    return regions.in_subtree(code, user.region_id, user.region.level)  # type: ignore[union-attr]


def _worker_scope(actor: Actor) -> PersonalDataScope:
    require(actor, Cap.VISIT)
    return PersonalDataScope(actor)


def _overlaps(campaign: Campaign, low: str, high: str) -> bool:
    return any(r_low <= high and low <= r_high for r_low, r_high in map(_range_of, campaign.region_codes))


# ---------------------------------------------------------------------------------------------
# Declaring


def _regions(codes: list[str], low: str, high: str) -> list[Region]:
    """The chosen regions, checked; a region inside another chosen one is dropped (its households are in)."""
    wanted = list(dict.fromkeys(str(c).strip() for c in codes if str(c or "").strip()))
    if not wanted:
        raise CampaignRejected("请选择排查的乡镇（街道）或村（社区）")
    if len(wanted) > MAX_REGIONS:
        raise CampaignRejected(f"一次最多选择 {MAX_REGIONS} 个地区")
    malformed = [c[:20] for c in wanted if not CODE.match(c)]
    if malformed:
        raise CampaignRejected(f"行政区划代码应为 12 位数字：{'、'.join(malformed[:5])}")
    found = {r.code: r for r in Region.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise CampaignRejected(f"未知的行政区划：{'、'.join(unknown[:5])}")
    too_wide = [
        found[c] for c in wanted if found[c].level not in (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
    ]
    if too_wide:
        raise CampaignRejected(f"只能按县、乡镇（街道）或村（社区）排查：{too_wide[0].name}")
    outside = [found[c] for c in wanted if not low <= c <= high]
    if outside:
        names = "、".join(f"{r.name}（{r.code}）" for r in outside[:5])
        raise CampaignRejected(f"{names}不在您的辖区内")
    chosen = sorted(found.values(), key=lambda r: PREFIX_LENGTH[Level(r.level)])
    kept: list[Region] = []
    for region in chosen:
        if not any(regions.in_subtree(region.code, k.code, k.level) for k in kept):
            kept.append(region)
    return sorted(kept, key=lambda r: r.code)


def declarable_regions(actor: Actor) -> list[tuple[Region, list[Region]]]:
    """The townships of the actor's region, each with its villages: what a declaration may choose from."""
    low, high = _bounds(actor, Cap.DECLARE_CAMPAIGN)
    found = Region.objects.filter(
        code__gte=low, code__lte=high, level__in=(Level.TOWNSHIP, Level.VILLAGE)
    ).order_by("code")
    townships: dict[str, tuple[Region, list[Region]]] = {}
    for region in found:
        if region.level == Level.TOWNSHIP:
            townships[region.code] = (region, [])
        elif region.parent_id in townships:
            townships[region.parent_id][1].append(region)
    return list(townships.values())


def _in_regions(chosen: list[Region]) -> Q:
    q = Q(pk__in=[])
    for region in chosen:
        r_low, r_high = regions.subtree_range(region.code, region.level)
        q |= Q(region_code__gte=r_low, region_code__lte=r_high)
    return q


def select_households(chosen: list[Region], groups: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Household id -> (its village, the chosen groups it is in): one set-based query per group over the
    household facts of the newest run (every household of the regions for `all`)."""
    in_regions = _in_regions(chosen)
    facts = HouseholdFacts.objects.filter(in_regions)
    if set(groups) - {Campaign.Group.ALL} and not facts.exists():
        raise CampaignRejected(
            "所选范围内的家庭尚无数据比对得出的家庭情况，请先运行一次数据比对，或选择“全部家庭”"
        )
    if {Campaign.Group.LOW_INCOME, Campaign.Group.DIBAO_EDGE} & set(groups) and not facts.filter(
        has_standard=True
    ).exists():
        raise CampaignRejected("本县低保标准尚未录入（以最近一次数据比对为准），无法按低收入或低保边缘筛选")
    running_edge = Q(programs__contains="dibao_edge")
    queries: dict[str, QuerySet[Any]] = {
        Campaign.Group.ALL: Household.objects.filter(in_regions),
        Campaign.Group.COVERED: facts.filter(covered=True),
        Campaign.Group.LOW_INCOME: facts.filter(low_income=True),
        Campaign.Group.DIBAO_EDGE: facts.filter(
            (Q(low_income=True) & Q(below_dibao=False) & Q(covered=False)) | running_edge
        ),
        Campaign.Group.ELDERLY_ALONE: facts.filter(members=1, has_elderly=True),
        Campaign.Group.DISABLED: facts.filter(has_severe_disability=True),
        Campaign.Group.SERIOUS_ILLNESS: facts.filter(serious_illness=True),
    }
    chosen_households: dict[str, tuple[str, list[str]]] = {}
    for group in GROUP_ORDER:
        if group not in groups:
            continue
        for household_id, region_code in queries[group].values_list("pk", "region_code"):
            in_groups = chosen_households.setdefault(household_id, (region_code, []))[1]
            if group not in in_groups:
                in_groups.append(group)
    return chosen_households


def declare(
    actor: Actor,
    *,
    name: str,
    kind: str,
    region_codes: list[str],
    starts_on: dt.date | str,
    ends_on: dt.date | str,
    target_groups: list[str],
) -> Campaign:
    """Declare a campaign and create a visit task for every household of the groups in the regions; one
    transaction: either the campaign with all its tasks, or nothing."""
    low, high = _bounds(actor, Cap.DECLARE_CAMPAIGN)
    clean_name = _text(name, MAX_NAME)
    if not clean_name:
        raise CampaignRejected("请填写排查名称")
    if len(clean_name) > MAX_NAME:
        raise CampaignRejected(f"排查名称请控制在 {MAX_NAME} 字以内")
    if MARKUP.search(clean_name):
        raise CampaignRejected("排查名称不能包含 < 或 > 符号")
    if kind not in Campaign.Kind.values:
        raise CampaignRejected("请选择排查类型（自然灾害、公共卫生事件、季节性或其他）")
    start = _date(starts_on, "开始日期")
    end = _date(ends_on, "结束日期")
    today = timezone.localdate()
    if end < start:
        raise CampaignRejected("结束日期不能早于开始日期")
    if (end - start).days >= MAX_DAYS:
        raise CampaignRejected("排查期限不能超过一年")
    if end < today:
        raise CampaignRejected("结束日期已过，请重新选择排查期限")
    groups = list(dict.fromkeys(str(g).strip() for g in target_groups or [] if str(g).strip()))
    if not groups:
        raise CampaignRejected("请至少选择一类排查对象")
    unknown = [g[:30] for g in groups if g not in Campaign.Group.values]
    if unknown:
        raise CampaignRejected(f"未知的排查对象类别：{'、'.join(unknown[:5])}")
    chosen = _regions(list(region_codes or []), low, high)
    as_of = today
    households = select_households(chosen, groups)
    if not households:
        raise CampaignRejected("所选范围内没有符合条件的户，未创建排查")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=clean_name,
            kind=kind,
            county_code=chosen[0].code[:6],
            region_codes=[r.code for r in chosen],
            target_groups=[g for g in GROUP_ORDER if g in groups],
            starts_on=start,
            ends_on=end,
            as_of=as_of,
            created_by=actor.user,
        )
        ids = sorted(households)
        for i in range(0, len(ids), CHUNK):
            VisitTask.objects.bulk_create(
                [
                    VisitTask(
                        campaign=campaign,
                        household_id=h,
                        region_code=households[h][0],
                        groups=",".join(households[h][1]),
                    )
                    for h in ids[i : i + CHUNK]
                ],
                batch_size=CHUNK,
            )
        record(
            actor,
            "declare_campaign",
            "campaign",
            str(campaign.pk),
            region_code=actor.user.region_id or "",
            detail=f"{len(ids)} 户；{','.join(campaign.target_groups)}；{','.join(campaign.region_codes)}",
        )
    return campaign


def close(actor: Actor, campaign_id: int) -> Campaign:
    """End a campaign early or on time: its pending tasks stay pending, but no visit is recorded after."""
    _bounds(actor, Cap.DECLARE_CAMPAIGN)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or not all(in_scope(actor, c) for c in campaign.region_codes):
            raise PermissionDenied("this campaign is not yours to close")
        if campaign.status == Campaign.Status.CLOSED:
            raise CampaignRejected("该排查已结束")
        campaign.status = Campaign.Status.CLOSED
        campaign.save(update_fields=["status"])
        record(actor, "close_campaign", "campaign", str(campaign.pk), region_code=actor.user.region_id or "")
    return campaign


# ---------------------------------------------------------------------------------------------
# Progress (aggregate: no personal data)


@dataclass
class Counts:
    region_code: str = ""
    region_name: str = ""
    total: int = 0
    pending: int = 0
    no_hardship: int = 0
    hardship: int = 0
    unreachable: int = 0
    late: bool = False

    @property
    def visited(self) -> int:
        return self.total - self.pending

    @property
    def percent(self) -> float:
        """Visited share to one decimal, rounded down: 2 of 257 is 0.7 %, never a misleading 0 or 100."""
        return math.floor(1000 * self.visited / self.total) / 10 if self.total else 0.0


@dataclass
class CampaignSummary:
    campaign: Campaign
    counts: Counts
    overdue: bool  # past its end date with households still not visited
    villages: list[Counts] = field(default_factory=list)

    @property
    def region_names(self) -> str:
        return "、".join(
            regions.names(self.campaign.region_codes).get(c, c) for c in self.campaign.region_codes
        )

    @property
    def group_labels(self) -> str:
        return "、".join(GROUP_LABELS.get(g, g) for g in self.campaign.target_groups)


def _counts(rows: QuerySet[Any]) -> QuerySet[Any]:
    statuses = VisitTask.Status
    return rows.annotate(
        total=Count("id"),
        pending=Count("id", filter=Q(status=statuses.PENDING)),
        no_hardship=Count("id", filter=Q(status=statuses.NO_HARDSHIP)),
        hardship=Count("id", filter=Q(status=statuses.HARDSHIP)),
        unreachable=Count("id", filter=Q(status=statuses.UNREACHABLE)),
    )


COUNT_FIELDS = ("total", "pending", "no_hardship", "hardship", "unreachable")


def _is_overdue(campaign: Campaign, counts: Counts, today: dt.date) -> bool:
    return campaign.status == Campaign.Status.OPEN and campaign.ends_on < today and counts.pending > 0


def campaigns(actor: Actor, limit: int = 200) -> list[CampaignSummary]:
    """Campaigns touching the actor's region, newest first, with the actor's share of their progress."""
    low, high = _bounds(actor, Cap.CAMPAIGN_PROGRESS)
    found = [
        c
        for c in Campaign.objects.filter(county_code__gte=low[:6], county_code__lte=high[:6])[: limit * 5]
        if _overlaps(c, low, high)
    ][:limit]
    rows = _counts(
        VisitTask.objects.filter(
            campaign__in=[c.pk for c in found], region_code__gte=low, region_code__lte=high
        )
        .values("campaign_id")
        .order_by()
    )
    by_campaign = {r["campaign_id"]: Counts(**{k: r[k] for k in COUNT_FIELDS}) for r in rows}
    today = timezone.localdate()
    summaries = []
    for c in found:
        counts = by_campaign.get(c.pk, Counts())
        summaries.append(CampaignSummary(c, counts, _is_overdue(c, counts, today)))
    return summaries


def progress(actor: Actor, campaign_id: int) -> CampaignSummary | None:
    """Per village of the actor's region: total, visited, hardship, unreachable, pending and the percentage.
    None when the campaign does not exist or does not touch the actor's region."""
    low, high = _bounds(actor, Cap.CAMPAIGN_PROGRESS)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not _overlaps(campaign, low, high):
        return None
    rows = _counts(
        VisitTask.objects.filter(campaign=campaign, region_code__gte=low, region_code__lte=high)
        .values("region_code")
        .order_by("region_code")
    )
    villages = [Counts(region_code=r["region_code"], **{k: r[k] for k in COUNT_FIELDS}) for r in rows]
    names = _place_names([v.region_code for v in villages])
    today = timezone.localdate()
    total = Counts()
    for village in villages:
        village.region_name = names.get(village.region_code, village.region_code)
        village.late = _is_overdue(campaign, village, today)
        for k in COUNT_FIELDS:
            setattr(total, k, getattr(total, k) + getattr(village, k))
    return CampaignSummary(campaign, total, _is_overdue(campaign, total, today), villages)


def _place_names(codes: list[str]) -> dict[str, str]:
    """ "燕店镇 东王村" for each village code: the township's name before the village's."""
    townships = {c: c[:9] + "000" for c in codes}
    names = regions.names(sorted(set(codes) | set(townships.values())))
    return {
        c: " ".join(n for n in (names.get(townships[c]) if townships[c] != c else "", names.get(c, c)) if n)
        for c in codes
    }


# ---------------------------------------------------------------------------------------------
# Visit tasks (personal data: scoped, audited, masked)


@dataclass(frozen=True)
class TaskView:
    task_id: int
    campaign_id: int
    campaign_name: str
    household_id: str
    region_code: str
    region_name: str
    address: str
    head_name: str
    head_id_number: str  # masked unless the role sees whole identifiers
    phone: str  # masked likewise
    groups: list[str]
    status: str
    status_label: str
    urgent: bool
    findings: str
    visited_by: str
    visited_at: dt.datetime | None
    lead_id: int | None
    case_id: int | None


def _views(scope: PersonalDataScope, tasks: list[VisitTask]) -> list[TaskView]:
    households: dict[str, dict[str, Any]] = {
        h["household_id"]: dict(h)
        for h in Household.objects.filter(pk__in=[t.household_id for t in tasks]).values(
            "household_id", "address", "head_id_number"
        )
    }
    heads: dict[str, dict[str, Any]] = {
        p["id_number"]: dict(p)
        for p in Person.objects.filter(
            id_number__in=[h["head_id_number"] for h in households.values()]
        ).values("id_number", "name", "phone")
    }
    names = _place_names(sorted({t.region_code for t in tasks}))
    views = []
    for t in tasks:
        household: dict[str, Any] = households.get(t.household_id, {})
        head: dict[str, Any] = heads.get(household.get("head_id_number", ""), {})
        views.append(
            TaskView(
                task_id=t.pk,
                campaign_id=t.campaign_id,
                campaign_name=t.campaign.name,
                household_id=t.household_id,
                region_code=t.region_code,
                region_name=names.get(t.region_code, t.region_code),
                address=household.get("address", ""),
                head_name=head.get("name", ""),
                head_id_number=scope.mask_id(head.get("id_number", "")),
                phone=scope.mask_phone(head.get("phone", "")),
                groups=[GROUP_LABELS.get(g, g) for g in t.groups.split(",") if g],
                status=t.status,
                status_label=t.get_status_display(),
                urgent=t.urgent,
                findings=t.findings,
                visited_by=t.visited_by.get_username() if t.visited_by else "",
                visited_at=t.visited_at,
                lead_id=t.lead_id,
                case_id=t.lead.case_id if t.lead else None,
            )
        )
    return views


def tasks(
    actor: Actor, campaign_id: int, *, village: str = "", status: str = "", limit: int = 500
) -> list[TaskView] | None:
    """A campaign's visit tasks in the actor's region (a coordinator: their village), pending first.
    None when the campaign does not exist or does not touch the actor's region."""
    scope = _worker_scope(actor)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not _overlaps(campaign, scope.low, scope.high):
        return None
    rows = scope.restrict(VisitTask.objects.filter(campaign=campaign), "region_code")
    if village:
        rows = rows.filter(region_code=str(village)[:12])
    if status in VisitTask.Status.values:
        rows = rows.filter(status=status)
    found = list(
        rows.select_related("campaign", "visited_by", "lead").order_by(
            F("visited_at").asc(nulls_first=True), "region_code", "household_id"
        )[: min(max(limit, 1), 2000)]
    )
    if found:
        scope.audit_read(
            "campaign_tasks", str(campaign.pk), scope.region_code, detail=f"{len(found)} 户 {village}"[:500]
        )
    return _views(scope, found)


def get_task(actor: Actor, task_id: int) -> TaskView | None:
    """One visit task in the actor's region, or None."""
    scope = _worker_scope(actor)
    task = (
        scope.restrict(VisitTask.objects.select_related("campaign", "visited_by", "lead"), "region_code")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        return None
    scope.audit_read("visit_task", str(task.pk), task.region_code, detail=f"household={task.household_id}")
    return _views(scope, [task])[0]


def my_tasks(actor: Actor, campaign_id: int | None = None, limit: int = 500) -> list[TaskView]:
    """Pending visits of open campaigns in the actor's region: for a coordinator, their village's list."""
    scope = _worker_scope(actor)
    rows = scope.restrict(
        VisitTask.objects.filter(status=VisitTask.Status.PENDING, campaign__status=Campaign.Status.OPEN),
        "region_code",
    )
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    found = list(
        rows.select_related("campaign", "visited_by", "lead").order_by(
            "campaign_id", "region_code", "household_id"
        )[: min(max(limit, 1), 2000)]
    )
    if found:
        scope.audit_read(
            "campaign_tasks", str(campaign_id or ""), scope.region_code, detail=f"{len(found)} 户待走访"
        )
    return _views(scope, found)


def record_visit(
    actor: Actor, task_id: int, outcome: str, findings: str = "", urgent: bool = False
) -> VisitTask:
    """Record what a visit found, once. A hardship becomes a lead (joining or opening the household's case)
    in the same transaction. A second record of the same task is refused: the first stays as it was."""
    scope = _worker_scope(actor)
    task = (
        scope.restrict(VisitTask.objects.select_related("campaign", "visited_by"), "region_code")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise PermissionDenied("no such visit task in your region")
    if outcome not in OUTCOMES:
        raise CampaignRejected("请选择走访结果：未发现困难、发现困难或无法联系")
    text = _text(findings, MAX_FINDINGS)
    if len(text) > MAX_FINDINGS:
        raise CampaignRejected(f"走访情况请控制在 {MAX_FINDINGS} 字以内")
    if outcome == VisitTask.Status.HARDSHIP and not text:
        raise CampaignRejected("发现困难时请填写困难情况")
    if task.campaign.status != Campaign.Status.OPEN:
        raise CampaignRejected("该排查已结束，不能再记录走访")
    _refuse_if_recorded(task)
    now = timezone.now()
    with transaction.atomic():
        # Claimed by a conditional update, so two people recording at once cannot both win, on any database.
        claimed = VisitTask.objects.filter(pk=task.pk, status=VisitTask.Status.PENDING).update(
            status=outcome, findings=text, urgent=bool(urgent), visited_by=actor.user, visited_at=now
        )
        if not claimed:
            task.refresh_from_db()
            _refuse_if_recorded(task)
        if outcome == VisitTask.Status.HARDSHIP:
            channel = VISIT_CHANNEL.get(actor.user.role, DEFAULT_VISIT_CHANNEL)
            try:
                lead = leads.report_for_household(
                    actor,
                    task.household_id,
                    channel,
                    f"集中排查「{task.campaign.name}」走访发现：{text}",
                    urgent=bool(urgent),
                    source_ref=f"campaign:{task.campaign_id}:{task.household_id}",
                )
            except leads.LeadRejected as error:
                raise CampaignRejected(str(error)) from None
            VisitTask.objects.filter(pk=task.pk).update(lead=lead)
        record(
            actor,
            "record_visit",
            "visit_task",
            str(task.pk),
            region_code=task.region_code,
            detail=f"campaign={task.campaign_id} household={task.household_id} outcome={outcome}",
        )
    task.refresh_from_db()
    return task


def _refuse_if_recorded(task: VisitTask) -> None:
    if task.status != VisitTask.Status.PENDING:
        who = task.visited_by.get_username() if task.visited_by else ""
        when = timezone.localtime(task.visited_at).strftime("%Y-%m-%d %H:%M") if task.visited_at else ""
        raise AlreadyRecorded(
            f"该户的走访结果已于 {when} 由 {who} 记录为「{task.get_status_display()}」，不能重复记录；"
            "如有新情况，请另行报告线索"
        )
