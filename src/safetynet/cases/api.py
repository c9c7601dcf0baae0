"""API routes of cases: open cases, one case with its timeline, taking a step (thin; workflow works)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.cases import workflow
from safetynet.cases.models import Case

router = Router(tags=["cases"])


class StepOut(Schema):
    action: str
    from_stage: str
    to_stage: str
    data: dict[str, Any]
    note: str
    actor: str
    at: dt.datetime


class CaseOut(Schema):
    case_id: int
    household_id: str
    region_code: str
    status: str
    stage: str
    urgent: bool
    version: int
    due_on: dt.date | None
    due_estimated: bool
    overdue: bool
    outcome: str
    follow_up_on: dt.date | None
    next_actions: list[str]
    steps: list[StepOut] = []


class StepIn(Schema):
    action: str
    version: int
    data: dict[str, Any] = {}
    note: str = ""


def _case(case: Case, steps: bool = False) -> CaseOut:
    return CaseOut(
        case_id=case.pk,
        household_id=case.household_id,
        region_code=case.region_code,
        status=case.status,
        stage=case.stage,
        urgent=case.urgent,
        version=case.version,
        due_on=case.due_on,
        due_estimated=case.due_estimated,
        overdue=bool(case.due_on and case.due_on < timezone.localdate()),
        outcome=case.outcome,
        follow_up_on=case.follow_up_on,
        next_actions=[a for a, _ in workflow.next_actions(case)],
        steps=[
            StepOut(
                action=s.action,
                from_stage=s.from_stage,
                to_stage=s.to_stage,
                data=s.data,
                note=s.note,
                actor=s.actor.get_username(),
                at=s.at,
            )
            for s in case.steps.select_related("actor")
        ]
        if steps
        else [],
    )


@router.get("", response=list[CaseOut])
def open_cases(request: HttpRequest) -> list[CaseOut]:
    try:
        return [_case(c) for c in workflow.open_cases(Actor.from_request(request, "api cases"))]
    except PermissionDenied:
        raise HttpError(403, "this role may not read cases") from None


@router.get("/{case_id}", response=CaseOut)
def get_case(request: HttpRequest, case_id: int) -> CaseOut:
    try:
        case = workflow.get_case(Actor.from_request(request, "api case"), case_id)
    except PermissionDenied:
        raise HttpError(403, "this role may not read cases") from None
    if case is None:
        raise HttpError(404, "no such case in your region")
    return _case(case, steps=True)


@router.post("/{case_id}/steps", response=CaseOut)
def take_step(request: HttpRequest, case_id: int, body: StepIn) -> CaseOut:
    actor = Actor.from_request(request, "api case step")
    try:
        case = workflow.act(actor, case_id, body.version, body.action[:20], body.data, body.note)
    except PermissionDenied:
        raise HttpError(403, "this role may not act on this case") from None
    except workflow.Conflict as error:
        raise HttpError(409, str(error)) from None
    except workflow.StepRejected as error:
        raise HttpError(422, str(error)) from None
    return _case(case, steps=True)
