"""Each role's inbox, and the escalation of overdue work to the level above.

Overdue is read from the dates, live, so no late case waits for a job to notice it: a case past its
deadline is the township's concern at once (shown red in every inbox that holds it), and the county's
once it is `escalate_to_county` working days late. `escalate()` (run daily: `safetynet cases escalate`)
writes that climb into each case's timeline and the audit trail, so it is on record who knew when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from safetynet import events
from safetynet.access.permissions import Cap
from safetynet.access.roles import Role
from safetynet.access.services import Actor, PersonalDataScope, record_as
from safetynet.cases import workdays
from safetynet.cases.actions import deadline_days
from safetynet.cases.models import Case, Referral, Step

SECTION_LIMIT = 50
COUNT_CAP = 1000
LEVELS = ("", "township", "county")


@dataclass
class Section:
    key: str
    title: str
    total: int
    cases: list[Case] = field(default_factory=list)
    leads: list[Any] = field(default_factory=list)
    referrals: list[Any] = field(default_factory=list)
    campaigns: list[Any] = field(default_factory=list)
    more: str = ""  # the query of the cases list that shows all of a cut section ("stage=new", "overdue=1")

    @property
    def shown(self) -> int:
        return len(self.cases) + len(self.leads)

    @property
    def cut(self) -> bool:
        """More rows than the section shows: the page says so and links to the whole list."""
        return self.total > self.shown

    @property
    def total_shown(self) -> str:
        return f"{COUNT_CAP}+" if self.total >= COUNT_CAP else str(self.total)


def _campaign_visits(actor: Actor) -> Section:
    """Open campaigns (集中排查) with households still to visit in the actor's region."""
    from safetynet.campaigns import services as campaigns

    found = [
        c
        for c in campaigns.campaigns(actor, limit=SECTION_LIMIT)
        if c.campaign.status == "open" and c.counts.pending
    ]
    return Section("campaigns", "集中排查待走访", sum(c.counts.pending for c in found), campaigns=found)


def county_cut(county_code: str, today: dt.date) -> dt.date:
    """Deadlines on or before this date are late enough for the county to see them as its own."""
    return workdays.working_days_before(today, deadline_days(county_code, "escalate_to_county"))


def late(before: dt.date) -> Q:
    """Open cases with a step, grant-first paperwork or a department's answer due before `before`.
    The referrals are a subquery, not a join, so no DISTINCT is needed over a county's open cases."""
    waiting = Referral.objects.filter(answered_at__isnull=True, due_on__lt=before).values("case_id")
    return Q(status=Case.Status.OPEN) & (
        Q(due_on__lt=before) | Q(paperwork_due__lt=before) | Q(pk__in=waiting)
    )


def _section(key: str, title: str, rows: QuerySet[Case], order: tuple[str, ...], more: str = "") -> Section:
    found = list(rows.order_by(*order, "id")[:SECTION_LIMIT])
    # Counted up to a cap: "1000+" says enough, and a county's whole backlog is not counted per page view.
    total = len(found) if len(found) < SECTION_LIMIT else rows.order_by()[:COUNT_CAP].count()
    return Section(key, title, total, cases=found, more=more)


def _triage(actor: Actor, title: str) -> Section:
    from safetynet.leads import services as leads

    found = leads.unassigned(actor, limit=SECTION_LIMIT)
    total = len(found) if len(found) < SECTION_LIMIT else leads.unassigned_total(actor)
    return Section("triage", title, total, leads=found)


def for_actor(actor: Actor, today: dt.date | None = None) -> list[Section]:
    """The inbox of the actor's role: what is theirs to do now, overdue first."""

    day = today or timezone.localdate()
    role = actor.user.role
    if role == Role.LIAISON:
        from safetynet.cases import coordination

        found = coordination.referrals(actor, limit=SECTION_LIMIT)
        return [Section("referrals", "待答复的转介", len(found), referrals=found)]
    if Cap.READ_CASES not in actor.user.caps:
        raise PermissionDenied("this role has no case inbox")
    scope = PersonalDataScope(actor)
    cases = scope.restrict(Case.objects.all(), "region_code")
    open_cases = cases.filter(status=Case.Status.OPEN)
    sections: list[Section] = []
    if role == "coordinator":
        sections += [
            _section(
                "verify",
                "待实地核实",
                open_cases.filter(stage=Case.Stage.NEW),
                ("due_on", "-urgent"),
                "stage=new",
            ),
            _section(
                "follow_up",
                "近期回访",
                cases.filter(follow_up_on__lte=day + dt.timedelta(days=7)),
                ("follow_up_on",),
            ),
        ]
        sections.insert(0, _triage(actor, "身份未明的线索"))
    elif role == "township":
        sections += [
            _section("overdue", "已逾期", open_cases.filter(late(day)), ("due_on",), "overdue=1"),
            _section(
                "due_soon",
                "五个工作日内到期",
                open_cases.filter(due_on__gte=day, due_on__lte=workdays.add_working_days(day, 5)[0]),
                ("due_on", "-urgent"),
            ),
            _section(
                "applying",
                "协助申请待审核",
                open_cases.filter(stage=Case.Stage.APPLYING),
                ("due_on",),
                "stage=applying",
            ),
            _section(
                "paperwork",
                "先行救助待确认手续",
                open_cases.filter(paperwork_due__isnull=False),
                ("paperwork_due",),
            ),
        ]
        if Cap.DECIDE in actor.user.caps:  # the county delegates confirmation to its townships
            sections.append(_confirmations(open_cases))
        sections.insert(0, _triage(actor, "待分派线索"))
    elif role in (Role.COUNTY, Role.COUNTY_ADMIN):
        cut = county_cut(scope.region_code[:6], day)
        sections += [
            _confirmations(open_cases),
            _section(
                "approvals",
                "待一事一议审批",
                open_cases.filter(pending_amount__isnull=False),
                ("opened_at",),
            ),
            _section(
                "coordination",
                "统筹协调中",
                open_cases.filter(coordination=True).annotate(
                    waiting=Count("referrals", filter=Q(referrals__answered_at__isnull=True)),
                    next_answer=Min("referrals__due_on", filter=Q(referrals__answered_at__isnull=True)),
                ),
                ("next_answer",),
            ),
            _section(
                "overdue", "逾期升级至县级", open_cases.filter(late(cut + dt.timedelta(days=1))), ("due_on",)
            ),
        ]
        sections.insert(0, _triage(actor, "待分派线索"))
    else:
        raise PermissionDenied("this role has no case inbox")
    if role in ("coordinator", "township"):
        sections.append(_campaign_visits(actor))
    shown = sum(len(s.cases) + len(s.leads) for s in sections)
    if shown:
        scope.audit_read("inbox", "", scope.region_code, detail=f"{shown} 项")
    return sections


def _confirmations(open_cases: QuerySet[Case]) -> Section:
    """Applications reviewed (审核) and waiting for someone to confirm (确认) them."""
    return _section("confirm", "已审核待确认", open_cases.filter(stage=Case.Stage.REVIEWED), ("due_on",))


BADGE_CAP = 999


def due_soon(actor: Actor, today: dt.date | None = None) -> int:
    """Open cases of the actor's region overdue or due within three days, counted up to BADGE_CAP: the
    number the menu shows beside 待办 (a count, no personal data read)."""
    if Cap.READ_CASES not in actor.user.caps:
        return 0
    day = today or timezone.localdate()
    scope = PersonalDataScope(actor)
    rows = scope.restrict(Case.objects.filter(late(day + dt.timedelta(days=4))), "region_code")
    return rows.order_by()[: BADGE_CAP + 1].count()


def is_late(case: Case, today: dt.date) -> bool:
    return bool(
        case.status == Case.Status.OPEN
        and ((case.due_on and case.due_on < today) or (case.paperwork_due and case.paperwork_due < today))
    )


def escalate(today: dt.date | None = None) -> dict[str, int]:
    """Record the climb of every overdue open case to the township, then the county. Idempotent: a
    case is escalated to each level once. Returns how many cases reached each level now."""
    day = today or timezone.localdate()
    counts = {"township": 0, "county": 0}
    by_county = Case.objects.filter(late(day)).values_list("region_code", flat=True).distinct()
    for county in sorted({code[:6] for code in by_county}):
        cut = county_cut(county, day) + dt.timedelta(days=1)
        for level, before in (("county", cut), ("township", day)):
            lower = LEVELS[: LEVELS.index(level)]
            rows = Case.objects.filter(late(before), region_code__startswith=county, escalated_to__in=lower)
            ids = sorted(set(rows.values_list("id", flat=True)))
            if not ids:
                continue
            with transaction.atomic():
                now = timezone.now()
                Case.objects.filter(pk__in=ids).update(escalated_to=level, escalated_at=now)
                escalated = {
                    c.pk: c
                    for c in Case.objects.filter(pk__in=ids).only(
                        "id", "stage", "household_id", "region_code"
                    )
                }
                steps = Step.objects.bulk_create(
                    [
                        Step(
                            case_id=pk,
                            action="escalate",
                            from_stage=escalated[pk].stage,
                            to_stage=escalated[pk].stage,
                            data={"to": {"township": "乡镇（街道）", "county": "县级"}[level]},
                        )
                        for pk in ids
                    ],
                    batch_size=1000,
                )
                for step in steps:  # told like any other step (statistics count escalations)
                    events.publish(
                        events.CaseEvent(
                            kind="escalated",
                            case_id=step.case_id,
                            household_id=escalated[step.case_id].household_id,
                            region_code=escalated[step.case_id].region_code,
                            at=now,
                            step_id=step.pk,
                            by="system",
                            data={"to": level},
                        )
                    )
                record_as(
                    "system", "system", "case_escalate", "case", "", detail=f"{county} {level} {len(ids)}"
                )
            counts[level] += len(ids)
    return counts
