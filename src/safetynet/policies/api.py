"""API routes of policies: the county catalog, the policies that fit a household, catalog edits (thin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.policies import services
from safetynet.policies.models import Policy

router = Router(tags=["policies"])


class PolicyOut(Schema):
    policy_id: int
    county_code: str
    code: str
    title: str
    department: str
    department_label: str
    summary: str
    conditions: list[dict[str, Any]]
    condition_texts: list[str]
    how_to_apply: str
    contacts: str
    active: bool
    version: int
    updated_at: dt.datetime


class PolicyIn(Schema):
    code: str = ""
    title: str
    department: str
    summary: str = ""
    # Any JSON: the service checks it and answers in Chinese, not the schema layer in English.
    conditions: Any = []
    how_to_apply: str = ""
    contacts: str = ""
    active: bool = True
    version: int | None = None  # on PUT: the version edited, so a concurrent edit is a 409


class MatchOut(Schema):
    policy_id: int
    code: str
    title: str
    department: str
    department_label: str
    why: str
    reasons: list[str]
    how_to_apply: str
    contacts: str


def _policy(p: Policy) -> PolicyOut:
    return PolicyOut(
        policy_id=p.pk,
        county_code=p.county_code,
        code=p.code,
        title=p.title,
        department=p.department,
        department_label=p.get_department_display(),
        summary=p.summary,
        conditions=p.conditions,
        condition_texts=p.condition_texts,
        how_to_apply=p.how_to_apply,
        contacts=p.contacts,
        active=p.active,
        version=p.version,
        updated_at=p.updated_at,
    )


def _input(body: PolicyIn) -> services.PolicyInput:
    return services.PolicyInput(
        code=body.code,
        title=body.title,
        department=body.department,
        summary=body.summary,
        conditions=body.conditions,
        how_to_apply=body.how_to_apply,
        contacts=body.contacts,
        active=body.active,
    )


@router.get("", response=answers(list[PolicyOut], 403))
def catalog(request: HttpRequest) -> list[PolicyOut]:
    try:
        return [_policy(p) for p in services.catalog(Actor.from_request(request, "api policy catalog"))]
    except PermissionDenied:
        raise HttpError(403, "this role may not read the policy catalog") from None


@router.get("/match/{household_id}", response=answers(list[MatchOut], 403, 404, 422))
def match(request: HttpRequest, household_id: str) -> list[MatchOut]:
    try:
        found = services.matching(Actor.from_request(request, "api policy match"), household_id[:32])
    except PermissionDenied:
        raise HttpError(403, "this role may not read the registry") from None
    except services.NotFound:
        raise HttpError(404, "no such household in your region") from None
    return [
        MatchOut(
            policy_id=m.policy_id,
            code=m.code,
            title=m.title,
            department=m.department,
            department_label=m.department_label,
            why=m.why,
            reasons=list(m.reasons),
            how_to_apply=m.how_to_apply,
            contacts=m.contacts,
        )
        for m in found
    ]


@router.get("/{policy_id}", response=answers(PolicyOut, 403, 404, 422))
def get_policy(request: HttpRequest, policy_id: Id) -> PolicyOut:
    try:
        policy = services.get_policy(Actor.from_request(request, "api policy"), policy_id)
    except PermissionDenied:
        raise HttpError(403, "this role may not read the policy catalog") from None
    if policy is None:
        raise HttpError(404, "no such policy in your county")
    return _policy(policy)


@router.post("", response=answers(PolicyOut, 400, 403, 422, status=201))
def create(request: HttpRequest, body: PolicyIn) -> Status[PolicyOut]:
    try:
        policy = services.create_policy(Actor.from_request(request, "api policy create"), _input(body))
    except PermissionDenied:
        raise HttpError(403, "only county staff edit the policy catalog") from None
    except services.PolicyRejected as error:
        raise HttpError(422, str(error)) from None
    return Status(201, _policy(policy))


@router.put("/{policy_id}", response=answers(PolicyOut, 400, 403, 404, 409, 422))
def update(request: HttpRequest, policy_id: Id, body: PolicyIn) -> PolicyOut:
    try:
        policy = services.update_policy(
            Actor.from_request(request, "api policy update"), policy_id, _input(body), body.version
        )
    except PermissionDenied:
        raise HttpError(403, "only county staff edit the policy catalog") from None
    except services.NotFound:
        raise HttpError(404, "no such policy in your county") from None
    except services.Conflict as error:
        raise HttpError(409, str(error)) from None
    except services.PolicyRejected as error:
        raise HttpError(422, str(error)) from None
    return _policy(policy)
