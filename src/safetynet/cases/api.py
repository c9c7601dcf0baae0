"""API routes of cases: open cases, one case with its timeline, taking a step (thin; workflow works)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.cases import coordination, inbox, photos, workflow
from safetynet.cases.models import Case, Referral

router = Router(tags=["cases"])


class StepOut(Schema):
    action: str
    from_stage: str
    to_stage: str
    data: dict[str, Any]
    note: str
    actor: str
    at: dt.datetime


class ReferralOut(Schema):
    referral_id: int
    case_id: int
    department: str
    request: str
    due_on: dt.date
    overdue: bool
    answer: str
    helped: bool | None
    answered_at: dt.datetime | None


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
    paperwork_due: dt.date | None
    pending_amount: str | None
    coordination: bool
    escalated_to: str
    next_actions: list[str]
    referrals: list[ReferralOut] = []
    steps: list[StepOut] = []


class StepIn(Schema):
    action: str
    version: int
    data: dict[str, Any] = {}
    note: str = Field("", max_length=2000)


def _referral(r: Referral) -> ReferralOut:
    return ReferralOut(
        referral_id=r.pk,
        case_id=r.case_id,
        department=r.department,
        request=r.request,
        due_on=r.due_on,
        overdue=r.answered_at is None and r.due_on < timezone.localdate(),
        answer=r.answer,
        helped=r.helped,
        answered_at=r.answered_at,
    )


def _case(case: Case, actor: Actor, steps: bool = False) -> CaseOut:
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
        overdue=inbox.is_late(case, timezone.localdate()),
        outcome=case.outcome,
        follow_up_on=case.follow_up_on,
        paperwork_due=case.paperwork_due,
        pending_amount=str(case.pending_amount) if case.pending_amount is not None else None,
        coordination=case.coordination,
        escalated_to=case.escalated_to,
        next_actions=[a for a, _ in workflow.next_actions(case, actor)],
        referrals=[_referral(r) for r in case.referrals.order_by("id")] if steps else [],
        steps=[
            StepOut(
                action=s.action,
                from_stage=s.from_stage,
                to_stage=s.to_stage,
                data=s.data,
                note=s.note,
                actor=s.actor.get_username() if s.actor else "system",
                at=s.at,
            )
            for s in case.steps.select_related("actor")
        ]
        if steps
        else [],
    )


@router.get("", response=answers(list[CaseOut], 403))
def open_cases(request: HttpRequest) -> list[CaseOut]:
    actor = Actor.from_request(request, "api cases")
    return [_case(c, actor) for c in workflow.open_cases(actor)]


class InboxSectionOut(Schema):
    key: str
    title: str
    total: int
    cases: list[CaseOut]
    lead_ids: list[int]
    referrals: list[ReferralOut]


@router.get("/inbox", response=answers(list[InboxSectionOut], 403))
def my_inbox(request: HttpRequest) -> list[InboxSectionOut]:
    """The signed-in role's inbox: the same sections as the page."""
    actor = Actor.from_request(request, "api inbox")
    sections = inbox.for_actor(actor)
    return [
        InboxSectionOut(
            key=s.key,
            title=s.title,
            total=s.total,
            cases=[_case(c, actor) for c in s.cases],
            lead_ids=[lead.pk for lead in s.leads],
            referrals=[_referral(r.referral) for r in s.referrals],
        )
        for s in sections
    ]


class AnswerIn(Schema):
    answer: str
    helped: bool


@router.get("/referrals", response=answers(list[ReferralOut], 403, 422))
def referrals(request: HttpRequest, all: bool = False) -> list[ReferralOut]:
    found = coordination.referrals(Actor.from_request(request, "api referrals"), open_only=not all)
    return [_referral(r.referral) for r in found]


@router.post("/referrals/{referral_id}/answer", response=answers(ReferralOut, 400, 403, 422))
def answer_referral(request: HttpRequest, referral_id: Id, body: AnswerIn) -> ReferralOut:
    found = coordination.answer(
        Actor.from_request(request, "api referral answer"), referral_id, body.answer, body.helped
    )
    return _referral(found)


@router.get("/{case_id}", response=answers(CaseOut, 403, 404, 422))
def get_case(request: HttpRequest, case_id: Id) -> CaseOut:
    actor = Actor.from_request(request, "api case")
    case = workflow.get_case(actor, case_id)
    if case is None:
        raise HttpError(404, "no such case in your region")
    return _case(case, actor, steps=True)


@router.post("/{case_id}/steps", response=answers(CaseOut, 400, 403, 409, 422))
def take_step(request: HttpRequest, case_id: Id, body: StepIn) -> CaseOut:
    """Take a step: `action` is one of the case's `next_actions`, `data` its form's fields (see
    cases/forms.py), `version` the case version you saw (409 when someone acted first)."""
    actor = Actor.from_request(request, "api case step")
    case = workflow.act(actor, case_id, body.version, body.action[:20], body.data, body.note)
    return _case(case, actor, steps=True)


class PhotoOut(Schema):
    photo_id: int
    content_type: str
    size: int
    sha256: str


@router.post("/{case_id}/photos", response=answers(list[PhotoOut], 400, 403, 422))
def add_photos(request: HttpRequest, case_id: Id, files: File[list[UploadedFile]]) -> list[PhotoOut]:
    """Photos of the case's latest verification visit (multipart field `files`): JPEG, PNG or WebP."""
    saved = photos.attach(
        Actor.from_request(request, "api case photos"),
        case_id,
        [f.read(photos.MAX_BYTES + 1) for f in files[: photos.MAX_PER_CASE + 1]],
    )
    return [PhotoOut(photo_id=p.pk, content_type=p.content_type, size=p.size, sha256=p.sha256) for p in saved]
