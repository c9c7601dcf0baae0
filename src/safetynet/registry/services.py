"""Registry use cases: import, scoped search and profiles, and the derived household facts rules rely on."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet

from safetynet.access import ratelimit
from safetynet.access.masking import mask_id_number, mask_phone
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, PersonalDataScope, record, subject_of
from safetynet.phones import Phone, normalise_phone
from safetynet.registry.importer import ImportResult, Progress, RegistryImport
from safetynet.registry.models import (
    COVERING_PROGRAMS,
    Application,
    Assistance,
    AssistanceStatus,
    Decision,
    Household,
    HouseholdFacts,
    ImportBatch,
    Person,
    Program,
    RegistryState,
    VerifiedIncome,
)
from safetynet.registry.signals import name_reads_like, registry_imported

SEARCH_LIMIT = 50
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
PHONE = re.compile(r"^\+?\d[\d-]{6,19}$")


# -- import -----------------------------------------------------------------------------------------


def import_registry(directory: Path, imported_by: str = "", progress: Progress | None = None) -> ImportResult:
    """Load a folder of registry files, all or nothing; re-importing the same content is a no-op."""
    result = RegistryImport(directory, imported_by=imported_by, progress=progress).run()
    if not result.errors and not result.already_imported:
        _analyse()
        bump_version()
        registry_imported.send(sender=RegistryImport, result=result)
    return result


def _analyse() -> None:
    """Fresh planner statistics after a bulk load: planned on stale ones, PostgreSQL read a household's
    members through the wrong index (110 ms instead of 1 ms per identity lookup at 1,000,000 persons)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in (Household, Person):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# -- registry version, verified incomes and household facts ------------------------------------------


def bump_version() -> None:
    """Every change to the registry moves the version on; a live run snapshots the registry again when
    the newest snapshot holds an older one (lake.snapshot_registry reads it in the same transaction)."""
    updated = RegistryState.objects.filter(pk=1).update(version=models.F("version") + 1)
    if not updated:
        RegistryState.objects.get_or_create(pk=1, defaults={"version": 1})


VERSION_SQL = f"SELECT COALESCE(MAX(version), 0) FROM {RegistryState._meta.db_table}"  # noqa: S608


def has_households() -> bool:
    return Household.objects.exists()


def age_on(birth_date: dt.date, as_of: dt.date) -> int:
    """Whole years at `as_of`, for showing a person's age (the screening SQL computes the same for facts)."""
    return as_of.year - birth_date.year - ((as_of.month, as_of.day) < (birth_date.month, birth_date.day))


def record_verified_income(
    household_id: str, visited_on: dt.date, monthly_income: Decimal, monthly_expense: Decimal, reference: str
) -> VerifiedIncome:
    """A verification visit's household income (cases call this in the step's transaction). Idempotent
    on `reference`, the case step."""
    found, created = VerifiedIncome.objects.get_or_create(
        reference=reference,
        defaults={
            "household_id": household_id,
            "visited_on": visited_on,
            "monthly_income": monthly_income,
            "monthly_expense": monthly_expense,
        },
    )
    if created:
        bump_version()
    return found


FACT_COLUMNS = [
    f.column
    for f in HouseholdFacts._meta.concrete_fields
    if f.column not in ("run_id", "as_of", "computed_at")
]


def replace_facts(run_id: int, as_of: dt.date, computed_at: dt.datetime, table: pa.Table) -> int:
    """Replace every household's facts with a live run's (`table` has FACT_COLUMNS, as the screening
    engine computed them). One transaction: readers see the old facts or the new, never a mix."""
    rows = table.select(FACT_COLUMNS).to_pylist()
    with transaction.atomic():
        HouseholdFacts.objects.all().delete()
        for start in range(0, len(rows), 5000):
            HouseholdFacts.objects.bulk_create(
                [
                    HouseholdFacts(run_id=run_id, as_of=as_of, computed_at=computed_at, **row)
                    for row in rows[start : start + 5000]
                ]
            )
    return len(rows)


@dataclass(frozen=True)
class Facts:
    """A household's facts for every page and matcher: the newest run's, with the newest verification
    visit's income where it is newer than that run (`verified_after_run` says so)."""

    row: HouseholdFacts
    monthly_income: Decimal
    per_capita_income: Decimal
    low_income: bool
    below_dibao: bool
    out_of_pocket_share: Decimal | None
    visit: VerifiedIncome | None  # the visit whose income counts, if any

    @property
    def verified_after_run(self) -> bool:
        return self.visit is not None and self.visit.recorded_at > self.row.computed_at

    @property
    def income_ratio(self) -> Decimal | None:
        """Per-capita income as a multiple of the dibao standard."""
        line = self.row.dibao_line
        return (self.per_capita_income / line).quantize(Decimal("0.01")) if line else None

    @property
    def programs(self) -> list[str]:
        return [p for p in self.row.programs.split(",") if p]

    @property
    def source(self) -> str:
        """Where the figures come from, in words for the page."""
        text = f"数据比对（{self.row.as_of:%Y-%m-%d}，第 {self.row.run_id} 次运行）"
        if self.visit is not None:
            text += f"；家庭收入为 {self.visit.visited_on:%Y-%m-%d} 实地核实所得"
        return text

    def __getattr__(self, name: str) -> Any:
        """Every other fact is the run's (members, lines, ages, coverage ...)."""
        return getattr(self.row, name)


def household_facts(household_id: str) -> Facts | None:
    """The facts of one household, or None before the first live run has seen it. Unscoped and unaudited:
    callers check the actor's scope first."""
    row = HouseholdFacts.objects.filter(pk=household_id).first()
    if row is None:
        return None
    visit = VerifiedIncome.objects.filter(household_id=household_id).order_by("-visited_on", "-id").first()
    if visit is None or visit.recorded_at <= row.computed_at:
        # The run saw every visit there is: its figures stand (naming the visit they came from, if any).
        if visit is not None and not (row.verified_income and visit.visited_on == row.verified_on):
            visit = None
        return Facts(
            row,
            row.monthly_income,
            row.per_capita_income,
            row.low_income,
            row.below_dibao,
            row.out_of_pocket_share,
            visit,
        )
    # A visit since the run: its income counts now, with the run's members and lines, compared exactly as
    # the run compares (income < line × members), until the next run computes it again.
    income, members = visit.monthly_income, max(row.members, 1)
    share = (row.out_of_pocket / (income * 12)).quantize(Decimal("0.0001")) if income > 0 else None
    return Facts(
        row,
        income,
        (income / members).quantize(Decimal("0.01")),
        row.low_income_line is not None and income < row.low_income_line * members,
        row.dibao_line is not None and income < row.dibao_line * members,
        share,
        visit,
    )


def facts_for(household_ids: list[str]) -> dict[str, HouseholdFacts]:
    """The run's facts of many households at once (lists and campaigns), without visits since the run."""
    return {f.household_id: f for f in HouseholdFacts.objects.filter(pk__in=household_ids)}


# -- scoped reads for pages and the API ---------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    """A person as a given user may see them: identifiers masked unless the role may see them whole."""

    id_number: str
    name: str
    gender: str
    birth_date: dt.date | None  # None where the role sees identifiers masked: it would reveal them
    # Exact for roles that see whole identifiers; else a five-year band ("65–69"), so a masked ID number
    # and an age cannot be completed by trying the few birth dates left.
    age: str
    relation: str
    phone: str
    # None for roles without registry.sensitive (the hotline): health, disability and income.
    disability_level: int | None
    self_care: str | None
    serious_illness: bool | None
    employment: str
    monthly_income: Decimal | None
    household_id: str
    region_code: str
    alive: bool
    ref: str = ""  # a keyed reference to the person (never the ID number): what "拨打" posts back


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
    # From the household's facts (the newest run, a verification visit since): None before any run.
    covered: bool | None
    monthly_income: Decimal | None
    per_capita_income: Decimal | None
    dibao_line: Decimal | None
    low_income: bool | None
    facts_source: str


def _person_view(scope: PersonalDataScope, person: Person, region_code: str, today: dt.date) -> PersonView:
    age = age_on(person.birth_date, today)
    sensitive = Cap.SENSITIVE in scope.actor.user.caps
    return PersonView(
        id_number=scope.mask_id(person.id_number),
        name=person.name,
        gender=person.gender,
        birth_date=person.birth_date if scope.full_identifiers else None,
        age=str(age) if scope.full_identifiers else f"{age // 5 * 5}–{age // 5 * 5 + 4}",
        relation=person.relation,
        phone=scope.mask_phone(person.phone),
        disability_level=person.disability_level if sensitive else None,
        self_care=person.self_care if sensitive else None,
        serious_illness=person.serious_illness if sensitive else None,
        employment=person.employment,
        monthly_income=person.monthly_income if sensitive else None,
        household_id=person.household_id,
        region_code=region_code,
        alive=person.death_date is None or person.death_date > today,
        ref=subject_of(person.id_number),
    )


def phone_to_call(actor: Actor, household_id: str, ref: str) -> str:
    """The whole phone number of a member of a household in the actor's region, to ring it: never shown on
    a page, handed to the phone's dialer; each call is an audit entry about the person. PermissionDenied
    when the role may not call or the household is not theirs; '' when the member has no phone."""
    require(actor, Cap.CALL)
    scope = PersonalDataScope(actor)
    household = (
        scope.restrict(Household.objects.all(), "region_code").filter(pk=str(household_id)[:32]).first()
    )
    if household is None:
        raise PermissionDenied("no such household in your region")
    for person in Person.objects.filter(household=household).exclude(phone=""):
        if subject_of(person.id_number) == ref:
            record(
                actor,
                "call",
                "person",
                household.pk,
                household.region_code,
                "拨打电话",
                subject=person.id_number,
            )
            return person.phone
    return ""


def scoped_persons(actor: Actor) -> QuerySet[Person]:
    """Every person the actor may see: those whose household lies in their region subtree."""
    return PersonalDataScope(actor).restrict(Person.objects.all(), "household__region_code")


def search_persons(actor: Actor, query: str) -> list[PersonView]:
    """Find people in the actor's region by whole ID number, phone, household code or name (names that
    begin with the query, then names that read like it); at most SEARCH_LIMIT, so no one can fish."""
    return search(actor, query)[0]


def search(actor: Actor, query: str) -> tuple[list[PersonView], int]:
    """search_persons, and how many people match in all (a page says so when it shows fewer)."""
    scope = PersonalDataScope(actor)
    query = query.strip()[:50]
    if not query:
        return [], 0
    persons = scope.restrict(Person.objects.select_related("household"), "household__region_code")
    ratelimit.check(actor, "search")
    if ID_NUMBER.match(query) and not scope.full_identifiers:
        # Whoever sees numbers masked could otherwise complete one by trying the birth dates left.
        ratelimit.check(actor, "id_search_masked")
    if ID_NUMBER.match(query):
        found = persons.filter(id_number=query.upper())
        kind = "id_number"
    elif phone := _as_phone(query):
        # "138 1234 5678", "+86 138-1234-5678", "(0534) 555-1234": as stored, or as bare digits
        found = persons.filter(phone__in=_phone_spellings(query, phone))
        kind, query = "phone", phone.digits
    elif persons.filter(household_id=query).exists():  # a household code, as lists and letters show it
        found = persons.filter(household_id=query)
        kind = "household"
    else:
        found = persons.filter(name__startswith=query)
        kind = "name"
    results = list(found.order_by("name", "id_number")[:SEARCH_LIMIT])
    total = len(results) if len(results) < SEARCH_LIMIT else found.count()
    if kind == "name" and len(results) < SEARCH_LIMIT:
        more = _reading_alike(persons, query, scope, {p.id_number for p in results})
        results, total = results + more, total + len(more)
    # The query itself may be an ID number or a phone: the trail keeps it masked.
    shown = mask_id_number(query) if kind == "id_number" else mask_phone(query) if kind == "phone" else query
    scope.audit_read(
        "person_search",
        "",
        region_code=scope.region_code,
        detail=f"{kind}={shown} results={len(results)} of {total}",
        subject=query if kind in ("id_number", "phone") else "",
    )
    today = dt.date.today()
    return [_person_view(scope, p, p.household.region_code, today) for p in results], total


def _as_phone(text: str) -> Phone | None:
    """The text as a phone number, if it is one however typed ("+86 138-1234-5678", "(0534) 555 1234")."""
    return normalise_phone(text) if PHONE.match(re.sub(r"[\s()（）]", "", text)) else None


def _phone_spellings(query: str, phone: Phone) -> set[str]:
    """The ways a registry may hold the number typed: as typed, as digits, a landline with its dash."""
    spellings = {query, phone.digits}
    if not phone.mobile and phone.local != phone.digits:
        area = phone.digits[: len(phone.digits) - len(phone.local)]
        spellings |= {f"{area}-{phone.local}", phone.local}
    return spellings


def _reading_alike(
    persons: QuerySet[Person], query: str, scope: PersonalDataScope, shown: set[str]
) -> list[Person]:
    """After the names that begin with the query, those that read like it as a whole: a clerk who cannot
    type 𠮷 types 吉. The readings come from the linkage index (signal `name_reads_like`)."""
    alike: set[str] = set()
    for _, found in name_reads_like.send(sender=Person, name=query, low=scope.low, high=scope.high):
        alike.update(found or ())
    alike -= shown
    if not alike:
        return []
    more = persons.filter(id_number__in=sorted(alike)).order_by("name", "id_number")
    return list(more[: SEARCH_LIMIT - len(shown)])


def households_matching(scope: PersonalDataScope, text: str, field: str = "household_id") -> models.Q:
    """What a list's search box means, as a condition on the list's household field: the household code,
    a member's whole ID number or phone, or the beginning of a member's name. The caller's rows are
    already scoped; an ID number tried by someone who sees them masked counts against the same limit as
    person search."""
    text = text.strip()
    if ID_NUMBER.match(text):
        if not scope.full_identifiers:
            ratelimit.check(scope.actor, "id_search_masked")
        members = Person.objects.filter(id_number=text.upper())
    elif phone := _as_phone(text):
        members = Person.objects.filter(phone__in=_phone_spellings(text, phone))
    else:
        named = Person.objects.filter(name__startswith=text).values("household_id")
        return models.Q(**{field: text}) | models.Q(**{f"{field}__in": named})
    return models.Q(**{f"{field}__in": members.values("household_id")})


def names_of(
    household_ids: Iterable[str], id_numbers: Iterable[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """(household → its head's name, ID number → name), in two queries: lists show people, not codes.
    The caller has already scoped the rows these come from."""
    heads = dict(Household.objects.filter(pk__in=set(household_ids)).values_list("pk", "head_id_number"))
    names = dict(
        Person.objects.filter(pk__in=set(heads.values()) | set(id_numbers)).values_list("pk", "name")
    )
    return {h: names.get(head, "") for h, head in heads.items()}, names


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
    # Roles without registry.sensitive (the hotline) learn who lives there and whether it is covered,
    # not its income, amounts or the reasons of its applications.
    sensitive = Cap.SENSITIVE in actor.user.caps
    facts = household_facts(household.household_id) if sensitive else None
    covered = bool(running_programs(household.household_id, today) & set(COVERING_PROGRAMS))
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
                "monthly_amount": a.monthly_amount if sensitive else None,
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
                "reason": a.reason if sensitive else "",
            }
            for a in household.applications.select_related("person").order_by("-applied_on")
        ],
        covered=facts.covered if facts else covered,
        monthly_income=facts.monthly_income if facts else None,
        per_capita_income=facts.per_capita_income if facts else None,
        dibao_line=facts.dibao_line if facts else None,
        low_income=facts.low_income if facts else None,
        facts_source=facts.source
        if facts
        else "尚未进行数据比对：收入、低收入和保障情况将在下一次比对后显示"
        if sensitive
        else "家庭收入、健康等情况不在您的职责范围内",
    )


def region_statistics(actor: Actor) -> dict[str, int]:
    """Aggregate counts for the actor's region: no personal data, so leaders may see them too."""
    from safetynet.regions import services as regions

    require(actor, Cap.READ_STATISTICS)
    user = actor.user
    if user.region is None:
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
        # Timestamps of record-keeping (when a visit was typed in) are not inputs of any rule.
        fields = [f for f in meta.concrete_fields if f.get_internal_type() != "DateTimeField"]
        return meta.db_table, [(f.column, arrow_type(f)) for f in fields]

    return {
        "households": columns(Household),
        "persons": columns(Person),
        "assistance": columns(Assistance),
        "applications": columns(Application),
        "standards": columns(Standard),
        "verified_incomes": columns(VerifiedIncome),
    }


def grant_assistance(
    household_id: str, program: str, start: dt.date, amount: Decimal, reference: str, one_off: bool = False
) -> Assistance:
    """A case's decision or payment, recorded in the registry for the household head (in the same
    transaction as the step). One-off help (temporary assistance) starts and ends on the day it is paid.
    `reference` names the step: each payment is its own record, and recording a step again changes nothing."""
    household = Household.objects.get(pk=household_id)
    assistance, created = Assistance.objects.get_or_create(
        person_id=household.head_id_number,
        household=household,
        program=program,
        start_date=start,
        reference=reference,
        defaults={
            "status": AssistanceStatus.ENDED if one_off else AssistanceStatus.ACTIVE,
            "end_date": start if one_off else None,
            "monthly_amount": amount,
        },
    )
    if created:
        bump_version()
    return assistance


def record_application(household_id: str, program: str, applied_on: dt.date, application_id: str) -> None:
    """An assisted application (协助申请) of a case, filed for the household head as pending; idempotent."""
    household = Household.objects.get(pk=household_id)
    _, created = Application.objects.get_or_create(
        application_id=application_id,
        defaults={
            "household": household,
            "person_id": household.head_id_number,
            "program": program,
            "applied_on": applied_on,
            "decision": Decision.PENDING,
        },
    )
    if created:
        bump_version()


def decide_application(application_id: str, approved: bool, decided_on: dt.date, reason: str) -> None:
    """A case's decision on its application, as the registry records decisions."""
    updated = Application.objects.filter(application_id=application_id, decision=Decision.PENDING).update(
        decision=Decision.APPROVED if approved else Decision.REJECTED,
        decided_on=decided_on,
        reason=reason[:500],
    )
    if updated:
        bump_version()


def running_programs(household_id: str, day: dt.date) -> set[str]:
    """Programs with a record of the household running on `day` (a decision made since the last run
    counts: the registry, not the facts, is asked)."""
    rows = Assistance.objects.filter(household_id=household_id, start_date__lte=day).filter(
        models.Q(end_date__isnull=True) | models.Q(end_date__gte=day)
    )
    return set(rows.values_list("program", flat=True))


def temporary_grants(household_id: str, since: dt.date) -> list[Assistance]:
    """Temporary assistance the household received on or after `since`, newest first."""
    return list(
        Assistance.objects.filter(
            household_id=household_id, program=Program.TEMPORARY, start_date__gte=since
        ).order_by("-start_date", "-id")
    )
