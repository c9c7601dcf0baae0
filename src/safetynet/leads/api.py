"""API routes of leads: report from any channel, the scoped inbox, a reporter's own leads (thin)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.leads import services
from safetynet.leads.models import Lead
from safetynet.linkage.api import PersonFields

router = Router(tags=["leads"])


class LeadIn(PersonFields):
    channel: str
    summary: str
    urgent: bool = False
    reporter_name: str = ""


class LeadOut(Schema):
    lead_id: int
    channel: str
    status: str
    urgent: bool
    summary: str
    match: str
    household_id: str
    region_code: str
    case_id: int | None
    created_at: dt.datetime


class OwnLeadOut(Schema):
    lead_id: int
    channel: str
    summary: str
    details: dict[str, str]
    status: str
    status_label: str
    created_at: dt.datetime


class InboxQuery(Schema):
    status: str = ""
    channel: str = ""
    unidentified: bool = False
    limit: int = 200


def _lead(lead: Lead) -> LeadOut:
    return LeadOut(
        lead_id=lead.pk,
        channel=lead.channel,
        status=lead.status,
        urgent=lead.urgent,
        summary=lead.summary,
        match=lead.match,
        household_id=lead.household_id,
        region_code=lead.region_code,
        case_id=lead.case_id,
        created_at=lead.created_at,
    )


def _own(lead: services.OwnLead) -> OwnLeadOut:
    return OwnLeadOut(**lead.__dict__)


@router.post("", response=answers(OwnLeadOut, 400, 403, 422, status=201))
def report(request: HttpRequest, body: LeadIn) -> Status[OwnLeadOut]:
    """Answers with what the reporter may see of the lead: their own words and its status."""
    actor = Actor.from_request(request, "api report lead")
    fields = body.dict()
    data = services.LeadInput(
        channel=fields.pop("channel"),
        summary=fields.pop("summary"),
        urgent=fields.pop("urgent"),
        reporter_name=fields.pop("reporter_name"),
        details=fields,
    )
    try:
        lead = services.report(actor, data)
    except PermissionDenied:
        raise HttpError(403, "this role may not report through this channel") from None
    except services.LeadRejected as error:
        raise HttpError(422, str(error)) from None
    own = next(o for o in services.my_leads(actor, limit=50) if o.lead_id == lead.pk)
    return Status(201, _own(own))


@router.get("", response=answers(list[LeadOut], 403, 422))
def inbox(request: HttpRequest, query: Query[InboxQuery]) -> list[LeadOut]:
    actor = Actor.from_request(request, "api leads inbox")
    try:
        found = services.inbox(
            actor,
            status=query.status[:12],
            channel=query.channel[:12],
            unidentified=query.unidentified,
            limit=query.limit,
        )
    except PermissionDenied:
        raise HttpError(403, "this role may not read leads") from None
    return [_lead(lead) for lead in found]


@router.get("/mine", response=answers(list[OwnLeadOut]))
def mine(request: HttpRequest) -> list[OwnLeadOut]:
    return [_own(o) for o in services.my_leads(Actor.from_request(request, "api own leads"))]


@router.get("/{lead_id}", response=answers(LeadOut, 403, 404, 422))
def get_lead(request: HttpRequest, lead_id: Id) -> LeadOut:
    try:
        lead = services.get_lead(Actor.from_request(request, "api lead"), lead_id)
    except PermissionDenied:
        raise HttpError(403, "this role may not read leads") from None
    if lead is None:
        raise HttpError(404, "no such lead in your region")
    return _lead(lead)


class AssignIn(Schema):
    household_id: str = ""
    region_code: str = ""


@router.post("/{lead_id}/assign", response=answers(LeadOut, 400, 403, 422))
def assign(request: HttpRequest, lead_id: Id, body: AssignIn) -> LeadOut:
    """Triage: tie an unidentified lead to a household, or hand it to a village."""
    try:
        lead = services.assign(
            Actor.from_request(request, "api lead assign"),
            lead_id,
            household_id=body.household_id[:32],
            region_code=body.region_code[:12],
        )
    except PermissionDenied:
        raise HttpError(403, "this role may not assign leads") from None
    except services.LeadRejected as error:
        raise HttpError(422, str(error)) from None
    return _lead(lead)
