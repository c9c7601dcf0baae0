"""API routes of campaigns: declare, list with progress, progress by village, visit tasks, record a visit."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.campaigns import services

router = Router(tags=["campaigns"])


class CampaignIn(Schema):
    name: str
    kind: str
    region_codes: list[str]
    starts_on: str
    ends_on: str
    target_groups: list[str]


class CountsOut(Schema):
    region_code: str
    region_name: str
    total: int
    visited: int
    pending: int
    no_hardship: int
    hardship: int
    unreachable: int
    percent: float  # visited share, one decimal
    late: bool


class CampaignOut(Schema):
    campaign_id: int
    name: str
    kind: str
    status: str
    county_code: str
    region_codes: list[str]
    target_groups: list[str]
    starts_on: dt.date
    ends_on: dt.date
    as_of: dt.date
    overdue: bool
    progress: CountsOut
    villages: list[CountsOut] = []


class TaskOut(Schema):
    task_id: int
    campaign_id: int
    household_id: str
    region_code: str
    region_name: str
    address: str
    head_name: str
    head_id_number: str
    phone: str
    groups: list[str]
    status: str
    urgent: bool
    findings: str
    visited_by: str
    visited_at: dt.datetime | None
    lead_id: int | None
    case_id: int | None


class TasksQuery(Schema):
    village: str = ""
    status: str = ""
    limit: int = 500


class VisitIn(Schema):
    outcome: str
    findings: str = ""
    urgent: bool = False


def _counts(c: services.Counts) -> CountsOut:
    return CountsOut(
        region_code=c.region_code,
        region_name=c.region_name,
        total=c.total,
        visited=c.visited,
        pending=c.pending,
        no_hardship=c.no_hardship,
        hardship=c.hardship,
        unreachable=c.unreachable,
        percent=c.percent,
        late=c.late,
    )


def _campaign(summary: services.CampaignSummary) -> CampaignOut:
    c = summary.campaign
    return CampaignOut(
        campaign_id=c.pk,
        name=c.name,
        kind=c.kind,
        status=c.status,
        county_code=c.county_code,
        region_codes=c.region_codes,
        target_groups=c.target_groups,
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        as_of=c.as_of,
        overdue=summary.overdue,
        progress=_counts(summary.counts),
        villages=[_counts(v) for v in summary.villages],
    )


def _task(t: services.TaskView) -> TaskOut:
    return TaskOut(**{k: getattr(t, k) for k in TaskOut.model_fields})


@router.get("", response=answers(list[CampaignOut], 403))
def campaigns(request: HttpRequest) -> list[CampaignOut]:
    try:
        return [_campaign(s) for s in services.campaigns(Actor.from_request(request, "api campaigns"))]
    except PermissionDenied:
        raise HttpError(403, "this role has no access to campaigns") from None


@router.post("", response=answers(CampaignOut, 400, 403, 422, status=201))
def declare(request: HttpRequest, body: CampaignIn) -> Status[CampaignOut]:
    actor = Actor.from_request(request, "api declare campaign")
    try:
        campaign = services.declare(
            actor,
            name=body.name,
            kind=body.kind[:20],
            region_codes=body.region_codes,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            target_groups=body.target_groups,
        )
    except PermissionDenied:
        raise HttpError(403, "this role may not declare a campaign here") from None
    except services.CampaignRejected as error:
        raise HttpError(422, str(error)) from None
    summary = services.progress(actor, campaign.pk)
    assert summary is not None
    return Status(201, _campaign(summary))


@router.get("/{campaign_id}", response=answers(CampaignOut, 403, 404, 422))
def progress(request: HttpRequest, campaign_id: Id) -> CampaignOut:
    try:
        summary = services.progress(Actor.from_request(request, "api campaign progress"), campaign_id)
    except PermissionDenied:
        raise HttpError(403, "this role has no access to campaigns") from None
    if summary is None:
        raise HttpError(404, "no such campaign in your region")
    return _campaign(summary)


@router.get("/{campaign_id}/tasks", response=answers(list[TaskOut], 403, 404, 422))
def tasks(request: HttpRequest, campaign_id: Id, query: Query[TasksQuery]) -> list[TaskOut]:
    try:
        found = services.tasks(
            Actor.from_request(request, "api campaign tasks"),
            campaign_id,
            village=query.village[:12],
            status=query.status[:12],
            limit=query.limit,
        )
    except PermissionDenied:
        raise HttpError(403, "this role has no access to visit tasks") from None
    if found is None:
        raise HttpError(404, "no such campaign in your region")
    return [_task(t) for t in found]


@router.post("/tasks/{task_id}/visit", response=answers(TaskOut, 400, 403, 409, 422))
def visit(request: HttpRequest, task_id: Id, body: VisitIn) -> TaskOut:
    actor = Actor.from_request(request, "api record visit")
    try:
        services.record_visit(actor, task_id, body.outcome[:20], body.findings, body.urgent)
        found = services.get_task(actor, task_id)
    except PermissionDenied:
        raise HttpError(403, "no such visit task in your region") from None
    except services.AlreadyRecorded as error:
        raise HttpError(409, str(error)) from None
    except services.CampaignRejected as error:
        raise HttpError(422, str(error)) from None
    assert found is not None
    return _task(found)
