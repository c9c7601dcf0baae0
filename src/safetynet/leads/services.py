"""Leads from every channel: matched to a household (linkage), merged into its open case, assigned by region.

A lead is kept whatever the matcher says: matched leads join their household's open case; the others stay
"unidentified" with what is known, in the inbox of the township (or village) the place text points to.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from safetynet import events
from safetynet.access import permissions
from safetynet.access.masking import mask_in_text
from safetynet.access.permissions import REPORT_CHANNELS, Cap
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.leads.models import Channel, Lead
from safetynet.linkage import services as linkage
from safetynet.listing import EVERYTHING, ListQuery
from safetynet.regions import services as regions
from safetynet.screening import services as screening
from safetynet.screening.models import RiskWarning
from safetynet.xlsx import SHEET_CHUNK, sheet_in_chunks

MAX_SUMMARY = 1000


class LeadRejected(ValueError):
    """Input a clerk can correct, said in Chinese."""


@dataclass
class LeadInput:
    channel: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)  # any of linkage.FIELDS
    urgent: bool = False
    reporter_name: str = ""
    # A hotline call: who called (often not the person in hardship), from which number, the 12345 ticket.
    caller: dict[str, str] = field(default_factory=dict)
    # The household staff chose among the candidates (the lead is then theirs, whatever the matcher says).
    household_id: str = ""


CALLER_FIELDS = {"caller_name": 50, "caller_phone": 20, "ticket": 40}


def _text(value: str, limit: int) -> str:
    """Printable text only (no control characters), trimmed and capped."""
    cleaned = "".join(ch for ch in str(value or "") if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    return cleaned.strip()[:limit]


def allowed_channels(actor: Actor) -> tuple[str, ...]:
    """The channels the actor reports through (access.permissions.REPORT_CHANNELS)."""
    if Cap.REPORT_LEAD not in actor.user.caps:
        return ()
    return REPORT_CHANNELS.get(actor.user.role, ())


def _require_channel(actor: Actor, channel: str) -> None:
    """The role must report leads at all, and through this channel (a refusal is audited)."""
    permissions.require(actor, Cap.REPORT_LEAD)
    if channel not in allowed_channels(actor):
        region = actor.user.region_id or ""
        record(actor, "denied", "capability", Cap.REPORT_LEAD.value, region, f"channel {channel}"[:500])
        raise PermissionDenied(f"role {actor.user.role} may not report through channel {channel}")


def _land(lead: Lead) -> None:
    """A matched lead joins its household's open case, or opens one (the cases app does it, subscribed
    to `events.lead_matched`), in the lead's transaction."""
    events.publish(events.LeadMatched(lead.pk, lead.household_id, lead.region_code, lead.urgent))
    lead.case_id = Lead.objects.filter(pk=lead.pk).values_list("case_id", flat=True).first()
    if lead.case_id is None:
        raise RuntimeError("a matched lead landed in no case: is the cases app installed?")


def attach_case(lead_id: int, case_id: int) -> None:
    """The case a matched lead landed in (called by the cases app)."""
    Lead.objects.filter(pk=lead_id).update(case_id=case_id)


def report(actor: Actor, data: LeadInput) -> Lead:
    """Record a lead: match it, place it, join or open its household's case; one transaction."""
    user = actor.user
    _require_channel(actor, data.channel)
    if user.region_id is None:
        raise PermissionDenied("user is bound to no region")
    summary = _text(data.summary, MAX_SUMMARY + 1)
    if not summary:
        raise LeadRejected("请填写困难情况")
    if len(summary) > MAX_SUMMARY:
        raise LeadRejected(f"困难情况请控制在 {MAX_SUMMARY} 字以内")
    details = {k: v for k, v in linkage.clean(data.details).items() if v}
    if not any(details.get(f) for f in ("name", "phone", "id_number", "address_text", "region_code")):
        raise LeadRejected("请至少填写姓名、电话、身份证号或住址中的一项，以便核实")
    low, high = regions.subtree_range(user.region_id, user.region.level)  # type: ignore[union-attr]
    linker = linkage.Linker(scope=(low, high), limit=5)
    result = linker.link(details)
    if result.error:
        raise LeadRejected(result.error)
    lead = Lead(
        channel=data.channel,
        summary=summary,
        details=details,
        urgent=bool(data.urgent),
        reported_by=user,
        reporter_name=_text(data.reporter_name, 100),
    )
    details |= {
        k: _text(data.caller.get(k, ""), n)
        for k, n in CALLER_FIELDS.items()
        if _text(data.caller.get(k, ""), n)
    }
    best = result.best
    chosen = _chosen(actor, data.household_id, result) if data.household_id else None
    if chosen is not None:
        lead.match, lead.household_id, lead.id_number, lead.region_code = Lead.Match.MATCHED, *chosen[:3]
        lead.probability = chosen[3]
    elif result.decision == linkage.DecisionKind.MATCH and best is not None:
        lead.match = Lead.Match.MATCHED
        lead.household_id = best.household_id
        lead.id_number = best.id_number
        lead.probability = best.probability
        lead.region_code = best.region_code
    else:
        lead.region_code = _place(linker, details, low, high) or user.region_id
    with transaction.atomic():
        lead.save()
        if lead.match == Lead.Match.MATCHED:
            _land(lead)
        if result.decision == linkage.DecisionKind.REVIEW and chosen is None:
            linkage.queue_reviews("lead", [(f"lead:{lead.pk}", details, result)])
        record(actor, "report_lead", "lead", str(lead.pk), region_code=lead.region_code, detail=data.channel)
    return lead


def _chosen(actor: Actor, household_id: str, result: Any) -> tuple[str, str, str, float | None]:
    """(household, ID number, village, probability) of the household staff chose: one in their region;
    the candidate of it the matcher found, else its head."""
    household = _household_in(PersonalDataScope(actor), household_id)
    if household is None:
        raise LeadRejected("所选家庭不在您的辖区内，请重新查找")
    for candidate in result.candidates:
        if candidate.household_id == household["household_id"]:
            return candidate.household_id, candidate.id_number, candidate.region_code, candidate.probability
    return household["household_id"], household["head_id_number"], household["region_code"], None


def _household_in(scope: PersonalDataScope, household_id: str) -> Any:
    """A household of the reader's region by its id (its id, head's ID number and village), or None."""
    from safetynet.registry.models import Household

    return (
        scope.restrict(Household.objects.all(), "region_code")
        .filter(pk=str(household_id)[:32])
        .values("household_id", "region_code", "head_id_number")
        .first()
    )


def _place(linker: linkage.Linker, details: dict[str, str], low: str, high: str) -> str:
    """The village, else the township (its 12-digit code), the place text points to, inside the scope."""
    try:
        prepared = linker.prepare(details)
    except ValueError:
        return ""
    code = prepared.village or (prepared.township + "000" if prepared.township else "")
    return code if code and low <= code <= high else ""


def report_for_household(
    actor: Actor,
    household_id: str,
    channel: str,
    summary: str,
    *,
    urgent: bool = False,
    source_ref: str = "",
) -> Lead:
    """A lead about a household already known by its id (a campaign visit, a referral about a registry
    household): no matching needed; it joins or opens the household's case in the same transaction."""
    user = actor.user
    _require_channel(actor, channel)
    text = _text(summary, MAX_SUMMARY + 1)
    if not text:
        raise LeadRejected("请填写困难情况")
    if len(text) > MAX_SUMMARY:
        raise LeadRejected(f"困难情况请控制在 {MAX_SUMMARY} 字以内")
    household = _household_in(PersonalDataScope(actor), household_id)
    if household is None:
        raise PermissionDenied("no such household in your region")
    with transaction.atomic():
        lead = Lead.objects.create(
            channel=channel,
            summary=text,
            urgent=bool(urgent),
            match=Lead.Match.MATCHED,
            household_id=household["household_id"],
            id_number=household["head_id_number"],
            probability=1.0,
            region_code=household["region_code"],
            source_ref=str(source_ref)[:64],
            reported_by=user,
            reporter_name=_text(user.organisation or user.get_username(), 100),
        )
        _land(lead)
        record(actor, "report_lead", "lead", str(lead.pk), region_code=lead.region_code, detail=channel)
    return lead


def leads_from_warnings(run_id: int) -> int:
    """Each open warning of a run becomes a lead for its household, once; returns how many were new."""
    warnings = RiskWarning.objects.filter(run_id=run_id, status=RiskWarning.Status.OPEN).order_by("id")
    existing = set(
        Lead.objects.filter(
            channel=Channel.WARNING,
            source_ref__in=[f"warning:{w}" for w in warnings.values_list("id", flat=True)],
        ).values_list("source_ref", flat=True)
    )
    created = 0
    with transaction.atomic():
        for warning in warnings:
            ref = f"warning:{warning.pk}"
            if ref in existing:
                continue
            urgent = warning.level == RiskWarning.Level.RED
            lead = Lead.objects.create(
                channel=Channel.WARNING,
                summary=warning.explanation[:MAX_SUMMARY],
                details={"rule_id": warning.rule_id, "level": warning.level},
                urgent=urgent,
                match=Lead.Match.MATCHED,
                household_id=warning.household_id,
                id_number=warning.id_number,
                probability=1.0,
                region_code=warning.region_code,
                source_ref=ref,
                reporter_name="数据比对",
            )
            _land(lead)
            screening.attach_case(warning.pk, lead.case_id)  # type: ignore[arg-type]
            created += 1
    return created


# ---------------------------------------------------------------------------------------------
# Reading


def _as_read(scope: PersonalDataScope, leads: list[Lead]) -> list[Lead]:
    """Leads as this reader may see them: an ID number or a phone typed into the situation or the details
    (spaced or not) masked for a reader without whole identifiers. Such objects refuse to be saved."""
    if scope.full_identifiers:
        return leads
    for lead in leads:
        lead.summary = scope.mask_text(lead.summary)
        lead.details = {k: scope.mask_text(v) if isinstance(v, str) else v for k, v in lead.details.items()}
        lead.masked_for_reading = True
    return leads


def _leads_of(
    actor: Actor, status: str, channel: str, unidentified: bool, narrow: ListQuery = EVERYTHING
) -> tuple[PersonalDataScope, QuerySet[Lead]]:
    """The leads of the actor's region, filtered (an unknown status or channel filters nothing); `narrow`
    by area, dates received and a household, ID number, phone or name (a lead not yet tied to a
    household is found by its own household code only, never by what a caller said)."""
    from safetynet.registry import services as registry

    permissions.require(actor, Cap.READ_LEADS)
    scope = PersonalDataScope(actor)
    rows = narrow.narrow(scope.restrict(Lead.objects.all(), "region_code"), "region_code", "created_at")
    if narrow.q:
        rows = rows.filter(registry.households_matching(scope, narrow.q))
    if status in Lead.Status.values:
        rows = rows.filter(status=status)
    if channel in Channel.values:
        rows = rows.filter(channel=channel)
    if unidentified:
        rows = rows.filter(match=Lead.Match.UNIDENTIFIED)
    return scope, rows


def inbox(
    actor: Actor, *, status: str = "", channel: str = "", unidentified: bool = False, limit: int = 200
) -> list[Lead]:
    """Leads in the actor's region, newest and urgent first; audited like every personal-data read."""
    scope, rows = _leads_of(actor, status, channel, unidentified)
    found = list(rows.order_by("-urgent", "-id")[: min(max(limit, 1), 1000)])
    if found:
        scope.audit_read("leads", "", scope.region_code, detail=f"{len(found)} 条线索")
    return _as_read(scope, found)


LEAD_PAGE = 50
# How the leads list may be sorted: urgent and newest first, newest whatever its urgency, or oldest first.
LEAD_ORDERS: dict[str, tuple[Any, ...]] = {"": ("-urgent", "-id"), "newest": ("-id",), "oldest": ("id",)}
LEAD_SORTS = [("", "紧急在前"), ("newest", "最新在前"), ("oldest", "最早在前")]


def lead_page(
    actor: Actor,
    number: int = 1,
    *,
    status: str = "",
    channel: str = "",
    unidentified: bool = False,
    narrow: ListQuery = EVERYTHING,
) -> Page[Lead]:
    """A page of the leads in the actor's region, urgent and newest first (read in the index's order);
    its paginator holds the true total. Each row carries the household head's name (people, not codes)."""
    from safetynet.registry import services as registry

    scope, rows = _leads_of(actor, status, channel, unidentified, narrow)
    page = Paginator(rows.order_by(*narrow.ordering(LEAD_ORDERS)), LEAD_PAGE).get_page(number)
    found = _as_read(scope, list(page.object_list))
    heads, _ = registry.names_of(lead.household_id for lead in found if lead.household_id)
    for lead in found:
        lead.head_name = heads.get(lead.household_id, "")  # type: ignore[attr-defined]
    page.object_list = found
    scope.audit_read(
        "leads",
        "",
        scope.region_code,
        detail=f"第 {page.number}/{page.paginator.num_pages} 页，共 {page.paginator.count} 条线索 {narrow.describe()}",
    )
    return page


LEAD_SHEET_HEADERS = [
    "线索编号",
    "来源渠道",
    "困难情况",
    "户主",
    "家庭编号",
    "责任区域",
    "个案编号",
    "状态",
    "是否紧急",
    "接收时间",
]
LEAD_EXPORT_LIMIT = 100_000


def lead_sheet_rows(
    actor: Actor,
    *,
    status: str = "",
    channel: str = "",
    unidentified: bool = False,
    narrow: ListQuery = EVERYTHING,
) -> Iterator[list[Any]]:
    """The leads list as staff read it, for a workbook: the page's filters and order, people and places in
    words, masked as the reader sees them, a chunk at a time; the export audited with its count."""
    permissions.require(
        actor, Cap.EXPORT_LEADS
    )  # here, not in the generator: refused before a byte is written
    scope, rows = _leads_of(actor, status, channel, unidentified, narrow)
    ordered = rows.order_by(*narrow.ordering(LEAD_ORDERS))[:LEAD_EXPORT_LIMIT]
    return _lead_sheet(
        scope, ordered, f"status={status or 'all'} channel={channel or 'all'} {narrow.describe()}"
    )


def _lead_sheet(scope: PersonalDataScope, leads: QuerySet[Lead], filters: str) -> Iterator[list[Any]]:
    from safetynet.registry import services as registry

    channels, statuses = dict(Channel.choices), dict(Lead.Status.choices)

    def sheet(found: list[Lead]) -> Iterator[list[Any]]:
        found = _as_read(scope, found)
        heads, _ = registry.names_of(lead.household_id for lead in found if lead.household_id)
        places = regions.names(sorted({lead.region_code for lead in found}))
        for lead in found:
            yield [
                lead.pk, str(channels.get(lead.channel, lead.channel)), lead.summary,
                heads.get(lead.household_id, ""), lead.household_id, places.get(lead.region_code, lead.region_code),
                lead.case_id or "", str(statuses.get(lead.status, lead.status)), "是" if lead.urgent else "否",
                timezone.localtime(lead.created_at).replace(tzinfo=None),
            ]  # fmt: skip

    count = [0]
    yield from sheet_in_chunks(leads.iterator(chunk_size=SHEET_CHUNK), sheet, count)
    record(scope.actor, "export", "lead_list", "", scope.region_code, f"{count[0]} 条 xlsx {filters}")


def get_lead(actor: Actor, lead_id: int) -> Lead | None:
    permissions.require(actor, Cap.READ_LEADS)
    scope = PersonalDataScope(actor)
    lead = scope.restrict(Lead.objects.select_related("case"), "region_code").filter(pk=lead_id).first()
    if lead is None:
        return None
    scope.audit_read("lead", str(lead.pk), lead.region_code)
    return _as_read(scope, [lead])[0]


def case_leads(actor: Actor, case_id: int) -> list[Lead]:
    """Every source of one case, as its page shows them."""
    scope = PersonalDataScope(actor)
    return _as_read(
        scope, list(scope.restrict(Lead.objects.filter(case_id=case_id), "region_code").order_by("id"))
    )


def _unassigned(scope: PersonalDataScope) -> QuerySet[Lead]:
    rows = scope.restrict(
        Lead.objects.filter(match=Lead.Match.UNIDENTIFIED, case__isnull=True, status=Lead.Status.RECEIVED),
        "region_code",
    )
    if scope.region_level != "village":
        # a lead handed to a village (its code ends in a village number) is the village's now: it leaves
        # the township's and county's triage instead of staying there after "已分派"
        rows = rows.filter(region_code__endswith="000")
    return rows


def unassigned(actor: Actor, limit: int = 50) -> list[Lead]:
    """Leads in the actor's region not yet tied to a household: the township's triage."""
    scope = PersonalDataScope(actor)
    return _as_read(scope, list(_unassigned(scope).order_by("-urgent", "id")[: min(max(limit, 1), 1000)]))


def unassigned_total(actor: Actor, cap: int | None = None) -> int:
    """How many leads wait for triage in all (an inbox shows the first of them), up to `cap` if given."""
    rows = _unassigned(PersonalDataScope(actor)).order_by()
    return rows[: cap + 1].count() if cap is not None else rows.count()


def assign(actor: Actor, lead_id: int, *, household_id: str = "", region_code: str = "") -> Lead:
    """Triage of an unidentified lead: tie it to a household found by staff (it joins or opens that
    household's case), or hand it to a village in the actor's region to find out who it is."""
    from safetynet.registry.models import Household

    permissions.require(
        actor, Cap.ASSIGN_LEAD if region_code else Cap.IDENTIFY_LEAD, target=f"lead {lead_id}"
    )
    scope = PersonalDataScope(actor)
    with transaction.atomic():
        lead = (
            scope.restrict(Lead.objects.select_for_update(), "region_code")
            .filter(pk=lead_id, match=Lead.Match.UNIDENTIFIED, case__isnull=True)
            .first()
        )
        if lead is None:
            raise LeadRejected("该线索不存在、不在辖区内或已分派")
        if household_id:
            household = (
                scope.restrict(Household.objects.all(), "region_code")
                .filter(pk=str(household_id).strip()[:32])
                .values("household_id", "region_code", "head_id_number")
                .first()
            )
            if household is None:
                raise LeadRejected("辖区内没有这个户编号")
            lead.match, lead.household_id = Lead.Match.MATCHED, household["household_id"]
            lead.id_number, lead.region_code = household["head_id_number"], household["region_code"]
            lead.save(update_fields=["match", "household_id", "id_number", "region_code"])
            _land(lead)
            detail = f"household {lead.household_id}"
        elif region_code:
            code = str(region_code).strip()
            village = regions.get(code) if len(code) == 12 and code.isdigit() else None
            if village is None or village.level != "village" or not scope.covers(code):
                raise LeadRejected("请选择辖区内的村（社区）")
            lead.region_code, detail = code, f"village {code}"
        else:
            raise LeadRejected("请填写户编号或选择村（社区）")
        lead.save(update_fields=["match", "household_id", "id_number", "region_code"])
        record(actor, "assign_lead", "lead", str(lead.pk), region_code=lead.region_code, detail=detail)
    return lead


@dataclass(frozen=True)
class OwnLead:
    """What a reporter outside the civil-affairs system sees of a lead they sent: their own words and its
    status, nothing the registry knows."""

    lead_id: int
    channel: str
    summary: str
    details: dict[str, str]
    status: str
    status_label: str
    created_at: Any


def my_leads(actor: Actor, limit: int = 200) -> list[OwnLead]:
    rows = Lead.objects.filter(reported_by=actor.user).order_by("-id")[: min(max(limit, 1), 1000)]
    # the reporter's own words, with any ID number or phone masked unless the role sees them whole
    whole = Cap.FULL_IDENTIFIERS in actor.user.caps
    shown = (lambda text: text) if whole else mask_in_text
    return [
        OwnLead(
            lead.pk,
            lead.channel,
            shown(lead.summary),
            {k: shown(v) for k, v in lead.details.items() if k in linkage.FIELDS},
            lead.status,
            lead.get_status_display(),
            lead.created_at,
        )
        for lead in rows
    ]


def status_after(event: events.CaseEvent) -> str | None:
    """What a case step means for its leads' reporters (已受理/核实中/已帮扶/未发现困难), or None."""
    data = event.data
    if event.kind == "verified":
        return Lead.Status.VERIFYING if data.get("founded") else Lead.Status.NO_HARDSHIP
    if event.kind == "declined":
        return Lead.Status.VERIFYING
    if event.kind == "decided":
        return Lead.Status.HELPED if data.get("approved") else Lead.Status.NO_HARDSHIP
    if (event.kind == "paid" and data.get("routed") == "paid") or (
        event.kind == "amount_decided" and data.get("approved")
    ):
        return Lead.Status.HELPED
    if event.kind == "closed" and data.get("outcome") == "helped":
        return Lead.Status.HELPED
    return None


def follow_case(event: events.CaseEvent, **_: object) -> None:
    """The leads of a case show its progress (subscribed to `events.case_event`)."""
    status = status_after(event)
    if status is not None:
        Lead.objects.filter(case_id=event.case_id).update(status=status)
