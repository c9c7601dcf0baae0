"""Campaign use cases: declare (visit tasks chosen set-wise in SQL), record visits, progress by village.

Who may do what:
- township staff and the county (`county`, `county_admin`) declare campaigns inside their own region;
- village coordinators, township and county staff read and record the visit tasks of their region subtree;
- leaders read aggregate progress only (counts per village, never a household);
- hotline operators, social organisations, liaisons and auditors have no access to campaigns.

How households are chosen (`select_households`), from the registry alone, as of the declaration day:
- every group is one set-based query over the chosen regions; a household is in the campaign when it is in
  any chosen group, and its task remembers which;
- "living members" are born on or before the day and not dead by then (`registry.services.members_alive`);
- low_income: per-capita monthly income strictly below dibao_monthly × edge_multiplier of the county's
  standard for the household's area type and the year (`registry.services.is_low_income`). Approximation:
  the registry's incomes only; pensions live in the lake and are not added, so a pensioner's household may
  be chosen when the screening engine would not call it low income: a campaign errs towards one visit too
  many. The comparison is exact (income < line × members), not on a per-capita rounded to the fen;
- dibao_edge (低保边缘): not covered by dibao or tekun, and per-capita income at or above dibao_monthly but
  below the low-income line; or an active dibao_edge record in the registry;
- elderly_alone: exactly one living member, aged 60 or more;
- disabled: a living member with a level 1 or 2 disability (重度残疾);
- serious_illness: a living member flagged with a serious illness;
- covered: an active dibao or tekun record on the day (`registry.services.is_covered`);
- all: every household.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from safetynet.access.roles import Role
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.campaigns.models import Campaign, VisitTask
from safetynet.leads import services as leads
from safetynet.leads.models import Channel
from safetynet.regions import services as regions
from safetynet.regions.models import PREFIX_LENGTH, Level, Region
from safetynet.registry.models import COVERING_PROGRAMS, Assistance, Household, Person, Program, Standard

DECLARERS = frozenset({Role.TOWNSHIP, Role.COUNTY, Role.COUNTY_ADMIN})
WORKERS = DECLARERS | {Role.COORDINATOR}
PROGRESS_READERS = WORKERS | {Role.LEADER}
# The channel a hardship found on a campaign visit is reported through (see leads.CHANNELS_BY_ROLE).
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


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


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


def _bounds(actor: Actor, roles: frozenset[str]) -> tuple[str, str]:
    user = actor.user
    if not user.is_active or user.role not in roles or user.region_id is None:
        raise PermissionDenied("this role has no access to campaigns")
    return regions.subtree_range(user.region_id, user.region.level)  # type: ignore[union-attr]


def in_scope(actor: Actor, code: str) -> bool:
    """Whether a region code lies inside the actor's own region."""
    user = actor.user
    if user.region_id is None:
        return False
    return regions.in_subtree(code, user.region_id, user.region.level)  # type: ignore[union-attr]


def _worker_scope(actor: Actor) -> PersonalDataScope:
    if actor.user.role not in WORKERS:
        raise PermissionDenied("this role has no access to visit tasks")
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
    low, high = _bounds(actor, DECLARERS)
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


def select_households(
    chosen: list[Region], groups: list[str], as_of: dt.date
) -> dict[str, tuple[str, list[str]]]:
    """Household id -> (its village, the chosen groups it is in): one set-based query per group."""
    base = Household.objects.filter(_in_regions(chosen))
    alive = Q(birth_date__lte=as_of) & (Q(death_date__isnull=True) | Q(death_date__gt=as_of))
    member_alive = Q(members__birth_date__lte=as_of) & (
        Q(members__death_date__isnull=True) | Q(members__death_date__gt=as_of)
    )
    living = Person.objects.filter(alive, household=OuterRef("pk"))
    active = Assistance.objects.filter(household=OuterRef("pk"), start_date__lte=as_of).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=as_of)
    )
    covered = Exists(active.filter(program__in=COVERING_PROGRAMS))
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
    with_income = base.annotate(
        alive_n=Count("members", filter=member_alive),
        income=Coalesce(
            Sum("members__monthly_income", filter=member_alive), Value(Decimal(0)), output_field=money
        ),
    ).filter(alive_n__gt=0)

    def below(multiplier: dict[str, Decimal]) -> Q:
        """Household income below `multiplier[area] × living members`, i.e. per-capita below the line."""
        q = Q(pk__in=[])
        for area, amount in multiplier.items():
            line = ExpressionWrapper(F("alive_n") * Value(amount), output_field=money)
            q |= Q(area_type=area, income__lt=line)
        return q

    lines = _lines(chosen[0].code[:6], as_of) if {"low_income", "dibao_edge"} & set(groups) else {}
    queries: dict[str, list[QuerySet[Household]]] = {
        Campaign.Group.ALL: [base],
        Campaign.Group.COVERED: [base.filter(covered)],
        Campaign.Group.ELDERLY_ALONE: [
            base.annotate(
                alive_n=Count("members", filter=member_alive),
                old_n=Count(
                    "members", filter=member_alive & Q(members__birth_date__lte=_years_before(as_of, 60))
                ),
            ).filter(alive_n=1, old_n=1)
        ],
        Campaign.Group.DISABLED: [base.filter(Exists(living.filter(disability_level__in=(1, 2))))],
        Campaign.Group.SERIOUS_ILLNESS: [base.filter(Exists(living.filter(serious_illness=True)))],
    }
    if lines:
        low_line = {area: dibao * edge for area, (dibao, edge) in lines.items()}
        dibao_line = {area: dibao for area, (dibao, _edge) in lines.items()}
        queries[Campaign.Group.LOW_INCOME] = [with_income.filter(below(low_line))]
        queries[Campaign.Group.DIBAO_EDGE] = [
            with_income.filter(below(low_line)).exclude(below(dibao_line)).exclude(covered),
            base.filter(Exists(active.filter(program=Program.DIBAO_EDGE))),
        ]
    chosen_households: dict[str, tuple[str, list[str]]] = {}
    for group in GROUP_ORDER:
        if group not in groups:
            continue
        for query in queries[group]:
            for household_id, region_code in query.values_list("household_id", "region_code"):
                in_groups = chosen_households.setdefault(household_id, (region_code, []))[1]
                if group not in in_groups:
                    in_groups.append(group)
    return chosen_households


def _lines(county_code: str, as_of: dt.date) -> dict[str, tuple[Decimal, Decimal]]:
    """Area type -> (dibao_monthly, edge_multiplier) of the county's standard for the year."""
    rows = Standard.objects.filter(county_code=county_code, year=as_of.year)
    found = {s.area_type: (s.dibao_monthly, s.edge_multiplier) for s in rows}
    if not found:
        raise CampaignRejected(f"本县 {as_of.year} 年的低保标准尚未录入，无法按低收入或低保边缘筛选")
    return found


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
    low, high = _bounds(actor, DECLARERS)
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
    households = select_households(chosen, groups, as_of)
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
    _bounds(actor, DECLARERS)
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
    def percent(self) -> int:
        return int(100 * self.visited / self.total) if self.total else 0


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
    low, high = _bounds(actor, PROGRESS_READERS)
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
    low, high = _bounds(actor, PROGRESS_READERS)
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
