"""Registry use cases: import, scoped search and profiles, and the derived household facts rules rely on."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from django.core.cache import cache
from django.db import models
from django.db.models import Q, QuerySet

from safetynet.access.masking import mask_id_number, mask_phone
from safetynet.access.services import Actor, PersonalDataScope
from safetynet.registry.importer import ImportResult, Progress, RegistryImport
from safetynet.registry.models import (
    COVERING_PROGRAMS,
    Assistance,
    AssistanceStatus,
    Household,
    ImportBatch,
    Person,
    Standard,
)
from safetynet.registry.signals import registry_imported

SEARCH_LIMIT = 50
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
PHONE = re.compile(r"^\+?\d[\d-]{6,19}$")


# -- import -----------------------------------------------------------------------------------------


def import_registry(directory: Path, imported_by: str = "", progress: Progress | None = None) -> ImportResult:
    """Load a folder of registry files, all or nothing; re-importing the same content is a no-op."""
    result = RegistryImport(directory, imported_by=imported_by, progress=progress).run()
    if not result.errors and not result.already_imported:
        registry_imported.send(sender=RegistryImport, result=result)
    return result


# -- derived facts (DATA-CONTRACT "Default rule pack") ------------------------------------------------


def age_on(birth_date: dt.date, as_of: dt.date) -> int:
    """Whole years at `as_of`."""
    return as_of.year - birth_date.year - ((as_of.month, as_of.day) < (birth_date.month, birth_date.day))


def members_alive(household: Household, as_of: dt.date) -> list[Person]:
    """Members born on or before `as_of` and not dead by then: the people a household counts."""
    return [
        p
        for p in household.members.all()
        if p.birth_date <= as_of and (p.death_date is None or p.death_date > as_of)
    ]


def monthly_income(
    household: Household, as_of: dt.date, pensions: dict[str, Decimal] | None = None
) -> Decimal:
    """Living members' monthly income plus each living member's latest pension (from the lake)."""
    pensions = pensions or {}
    return sum(
        (p.monthly_income + pensions.get(p.id_number, Decimal(0)) for p in members_alive(household, as_of)),
        Decimal(0),
    )


def per_capita_income(
    household: Household, as_of: dt.date, pensions: dict[str, Decimal] | None = None
) -> Decimal | None:
    """Household monthly income divided by living members; None for a household with nobody alive."""
    living = len(members_alive(household, as_of))
    if not living:
        return None
    return (monthly_income(household, as_of, pensions) / living).quantize(Decimal("0.01"))


def standard_for(household: Household, as_of: dt.date) -> Standard | None:
    return Standard.objects.filter(
        county_code=household.region_code[:6], year=as_of.year, area_type=household.area_type
    ).first()


def active_programs(household: Household, as_of: dt.date) -> set[str]:
    """Programs with a record running on `as_of` for any member.

    The dates decide, not today's status: a record ended since was active then. (The import requires
    an end date on every ended record, so an open-ended record is an active one.)
    """
    records = household.assistance.filter(start_date__lte=as_of).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=as_of)
    )
    return set(records.values_list("program", flat=True))


def is_covered(household: Household, as_of: dt.date) -> bool:
    """Covered: any member has an active dibao or tekun record."""
    return bool(active_programs(household, as_of) & set(COVERING_PROGRAMS))


def is_low_income(
    household: Household, as_of: dt.date, pensions: dict[str, Decimal] | None = None
) -> bool | None:
    """Per-capita income strictly below dibao × edge multiplier; None when no standard is on file."""
    standard = standard_for(household, as_of)
    income = per_capita_income(household, as_of, pensions)
    if standard is None or income is None:
        return None
    return income < standard.dibao_monthly * standard.edge_multiplier


# -- scoped reads for pages and the API ---------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    """A person as a given user may see them: identifiers masked unless the role may see them whole."""

    id_number: str
    name: str
    gender: str
    birth_date: dt.date | None  # None where the role sees identifiers masked: it would reveal them
    age: int
    relation: str
    phone: str
    disability_level: int
    self_care: str
    serious_illness: bool
    employment: str
    monthly_income: Decimal
    household_id: str
    region_code: str
    alive: bool


@dataclass(frozen=True)
class HouseholdProfile:
    household_id: str
    region_code: str
    region_name: str
    address: str
    area_type: str
    head_name: str
    members: list[PersonView]
    assistance: list[dict[str, object]]
    applications: list[dict[str, object]]
    covered: bool
    per_capita_income: Decimal | None
    standard: Standard | None
    low_income: bool | None


def _person_view(scope: PersonalDataScope, person: Person, region_code: str, today: dt.date) -> PersonView:
    return PersonView(
        id_number=scope.mask_id(person.id_number),
        name=person.name,
        gender=person.gender,
        birth_date=person.birth_date if scope.actor.user.caps.sees_full_identifiers else None,
        age=age_on(person.birth_date, today),
        relation=person.relation,
        phone=scope.mask_phone(person.phone),
        disability_level=person.disability_level,
        self_care=person.self_care,
        serious_illness=person.serious_illness,
        employment=person.employment,
        monthly_income=person.monthly_income,
        household_id=person.household_id,
        region_code=region_code,
        alive=person.death_date is None or person.death_date > today,
    )


def scoped_persons(actor: Actor) -> QuerySet[Person]:
    """Every person the actor may see: those whose household lies in their region subtree."""
    return PersonalDataScope(actor).restrict(Person.objects.all(), "household__region_code")


def search_persons(actor: Actor, query: str) -> list[PersonView]:
    """Find people in the actor's region by whole ID number, phone, or name (exact first, then prefix)."""
    scope = PersonalDataScope(actor)
    query = query.strip()[:50]
    if not query:
        return []
    persons = scope.restrict(Person.objects.select_related("household"), "household__region_code")
    if ID_NUMBER.match(query):
        found = persons.filter(id_number=query.upper())
        kind = "id_number"
    elif PHONE.match(query):
        found = persons.filter(phone=query)
        kind = "phone"
    else:
        found = persons.filter(name__startswith=query)
        kind = "name"
    results = list(found.order_by("name", "id_number")[:SEARCH_LIMIT])
    # The query itself may be an ID number or a phone: the trail keeps it masked.
    shown = mask_id_number(query) if kind == "id_number" else mask_phone(query) if kind == "phone" else query
    scope.audit_read(
        "person_search", "", region_code=scope.region_code, detail=f"{kind}={shown} results={len(results)}"
    )
    today = dt.date.today()
    return [_person_view(scope, p, p.household.region_code, today) for p in results]


def household_profile(actor: Actor, household_id: str) -> HouseholdProfile | None:
    """A household's members, assistance and applications; None when missing or outside the scope."""
    from safetynet.regions import services as regions

    scope = PersonalDataScope(actor)
    household = (
        scope.restrict(Household.objects.all(), "region_code").filter(household_id=household_id).first()
    )
    if household is None:
        return None
    scope.audit_read("household", household.household_id, region_code=household.region_code)
    today = dt.date.today()
    members = sorted(household.members.all(), key=lambda p: (p.relation != "head", p.birth_date))
    head = next((p for p in members if p.id_number == household.head_id_number), None)
    region = regions.get(household.region_code)
    standard = standard_for(household, today)
    return HouseholdProfile(
        household_id=household.household_id,
        region_code=household.region_code,
        region_name=" ".join(r.name for r in regions.ancestors(region)[2:])
        if region
        else household.region_code,
        address=household.address,
        area_type=household.area_type,
        head_name=head.name if head else "",
        members=[_person_view(scope, p, household.region_code, today) for p in members],
        assistance=[
            {
                "person_name": a.person.name,
                "program": a.program,
                "status": a.status,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "monthly_amount": a.monthly_amount,
            }
            for a in household.assistance.select_related("person").order_by("-start_date")
        ],
        applications=[
            {
                "application_id": a.application_id,
                "person_name": a.person.name,
                "program": a.program,
                "applied_on": a.applied_on,
                "decision": a.decision,
                "decided_on": a.decided_on,
                "reason": a.reason,
            }
            for a in household.applications.select_related("person").order_by("-applied_on")
        ],
        covered=is_covered(household, today),
        per_capita_income=per_capita_income(household, today),
        standard=standard,
        low_income=is_low_income(household, today),
    )


def region_statistics(actor: Actor) -> dict[str, int]:
    """Aggregate counts for the actor's region: no personal data, so leaders may see them too."""
    from django.core.exceptions import PermissionDenied

    from safetynet.regions import services as regions

    user = actor.user
    caps = user.caps
    if not (caps.reads_registry or caps.reads_statistics) or user.region is None:
        raise PermissionDenied("this role may not read statistics")
    low, high = regions.subtree_range(user.region.code, user.region.level)
    # Counting a county's million persons costs ~0.4 s and every sign-in lands here: the counts are cached
    # for a few minutes per region, and a new registry import changes the key.
    newest = ImportBatch.objects.order_by("-id").values_list("id", flat=True).first()
    key = f"region-statistics:{low}:{high}:{newest}"
    found = cache.get(key)
    if found is None:
        found = _count_region(low, high)
        cache.set(key, found, STATISTICS_SECONDS)
    return dict(found)


STATISTICS_SECONDS = 300


def _count_region(low: str, high: str) -> dict[str, int]:
    households = Household.objects.filter(region_code__gte=low, region_code__lte=high)
    covered = Assistance.objects.filter(
        status=AssistanceStatus.ACTIVE,
        program__in=COVERING_PROGRAMS,
        household__region_code__gte=low,
        household__region_code__lte=high,
    )
    return {
        "households": households.count(),
        "persons": Person.objects.filter(household__in=households).count(),
        "covered_households": covered.values("household_id").distinct().count(),
    }


# -- what the lake snapshots ---------------------------------------------------------------------------


def snapshot_tables() -> dict[str, tuple[str, list[tuple[str, pa.DataType]]]]:
    """The registry tables, columns and Arrow types the screening engine reads, for
    `lake.services.snapshot_registry`. Types come from the model, not the data, so an all-empty column
    (no deaths recorded yet) or whole-yuan incomes keep their type in the Parquet."""
    from safetynet.registry.models import Application, Standard

    def arrow_type(f: models.Field) -> pa.DataType:  # type: ignore[type-arg]
        kind = f.get_internal_type()
        if kind == "DateField":
            return pa.date32()
        if kind == "DecimalField":
            return pa.decimal128(f.max_digits, f.decimal_places)  # type: ignore[attr-defined]
        if kind == "BooleanField":
            return pa.bool_()
        if kind in (
            "AutoField",
            "BigAutoField",
            "IntegerField",
            "PositiveSmallIntegerField",
            "PositiveIntegerField",
        ):
            return pa.int64()
        if kind == "FloatField":
            return pa.float64()
        return pa.string()

    def columns(model: type) -> tuple[str, list[tuple[str, pa.DataType]]]:
        meta = model._meta  # type: ignore[attr-defined]
        return meta.db_table, [(f.column, arrow_type(f)) for f in meta.concrete_fields]

    return {
        "households": columns(Household),
        "persons": columns(Person),
        "assistance": columns(Assistance),
        "applications": columns(Application),
        "standards": columns(Standard),
    }


def grant_assistance(
    household_id: str, program: str, start: dt.date, amount: Decimal, one_off: bool = False
) -> Assistance:
    """An approved case's help, recorded in the registry for the household head (one transaction with the
    decision that grants it). One-off help (temporary assistance) starts and ends on the day it is paid.
    Granting the same program from the same day again changes nothing."""
    household = Household.objects.get(pk=household_id)
    assistance, _ = Assistance.objects.get_or_create(
        person_id=household.head_id_number,
        household=household,
        program=program,
        start_date=start,
        defaults={
            "status": AssistanceStatus.ENDED if one_off else AssistanceStatus.ACTIVE,
            "end_date": start if one_off else None,
            "monthly_amount": amount,
        },
    )
    return assistance
