"""API routes of the registry: scoped search and household profiles (thin; services do the work)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import answers
from safetynet.registry import services

router = Router(tags=["registry"])


class PersonOut(Schema):
    id_number: str
    name: str
    gender: str
    birth_date: dt.date | None
    age: str  # whole years, or a five-year band ("65–69") where ID numbers are masked
    relation: str
    phone: str
    disability_level: int | None  # None for roles without registry.sensitive (the hotline)
    self_care: str | None
    serious_illness: bool | None
    employment: str
    monthly_income: Decimal | None
    household_id: str
    region_code: str
    alive: bool


class AssistanceOut(Schema):
    person_name: str
    program: str
    status: str
    start_date: dt.date
    end_date: dt.date | None
    monthly_amount: Decimal | None


class ApplicationOut(Schema):
    application_id: str
    person_name: str
    program: str
    applied_on: dt.date
    decision: str
    decided_on: dt.date | None
    reason: str


class HouseholdOut(Schema):
    household_id: str
    region_code: str
    region_name: str
    address: str
    area_type: str
    head_name: str
    covered: bool | None  # None before the first screening run computed the household's facts
    monthly_income: Decimal | None
    per_capita_income: Decimal | None
    dibao_line: Decimal | None
    low_income: bool | None
    facts_source: str
    members: list[PersonOut]
    assistance: list[AssistanceOut]
    applications: list[ApplicationOut]


def _actor(request: HttpRequest, purpose: str) -> Actor:
    try:
        return Actor.from_request(request, purpose)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None


@router.get("/persons", response=answers(list[PersonOut], 403, 422, 429))
def search_persons(request: HttpRequest, q: str) -> list[services.PersonView]:
    """Search people in your region by ID number, phone or name (ID numbers and phones masked by role)."""
    try:
        return services.search_persons(_actor(request, "api person search"), q)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None


@router.get("/households/{household_id}", response=answers(HouseholdOut, 403, 404, 422))
def household(request: HttpRequest, household_id: str) -> services.HouseholdProfile:
    """One household's members, assistance and applications, if it lies in your region."""
    try:
        profile = services.household_profile(_actor(request, "api household profile"), household_id)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    if profile is None:
        raise HttpError(404, "not found in your region")
    return profile


class StatisticsOut(Schema):
    households: int
    persons: int
    covered_households: int


@router.get("/statistics", response=answers(StatisticsOut, 403))
def statistics(request: HttpRequest) -> dict[str, int]:
    """Counts for your region (no personal data): households, persons, households on dibao or tekun."""
    return services.region_statistics(_actor(request, "api statistics"))
