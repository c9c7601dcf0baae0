"""The county's coordination mechanism for complex cases: referrals to departments and their answers.

A department liaison (role `liaison`, organisation = the department, e.g. "medical_insurance" or
"医保局") sees the referrals to their department in their region and answers them; county staff may
record an answer given on paper. Each answer is a step of the case, audited, under the case's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from safetynet.access.departments import Department
from safetynet.access.permissions import Cap, require
from safetynet.access.roles import Role
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.cases.forms import AnswerForm
from safetynet.cases.models import Case, Referral, Step
from safetynet.cases.workflow import StepRejected, publish, refused


def department_of(actor: Actor) -> str:
    """The department a liaison speaks for, from their organisation (code or Chinese name); '' if none."""
    org = (actor.user.organisation or "").strip()
    for value, label in Department.choices:
        if org in (value, label):
            return value
    return ""


def _referrals_for(actor: Actor) -> tuple[PersonalDataScope, Any]:
    require(actor, Cap.READ_REFERRALS)
    scope = PersonalDataScope(actor, referred_only=True)
    rows = Referral.objects.select_related("case")
    if actor.user.role == Role.LIAISON:
        # A liaison speaks for one department and sees only what was referred to it.
        department = department_of(actor)
        if not department:
            raise PermissionDenied("this liaison account names no department")
        rows = rows.filter(department=department)
    return scope, scope.restrict(rows, "case__region_code")


@dataclass(frozen=True)
class ReferralView:
    """What a department sees of a referral: the request, where, the head of household by name and ID
    number (whole for the department that must find them in its own system; each one shown is audited),
    the deadline, and once answered the answer; never the rest of the registry."""

    referral: Referral
    department_label: str
    head_name: str
    head_id: str
    place: str
    overdue: bool
    answered_by: str = ""


def waiting(actor: Actor) -> tuple[int, int]:
    """(referrals waiting for the actor's department or region, of which overdue): counts only."""
    _scope, rows = _referrals_for(actor)
    open_rows = rows.filter(answered_at__isnull=True)
    return open_rows.count(), open_rows.filter(due_on__lt=timezone.localdate()).count()


def referrals(actor: Actor, *, open_only: bool = True, answered: bool = False, limit: int = 200) -> list[ReferralView]:
    """The referrals the actor's department (or region) waits on, by deadline; `answered`: those answered,
    newest first (the department's history)."""
    from safetynet.regions import services as regions
    from safetynet.registry.models import Household, Person

    scope, rows = _referrals_for(actor)
    if answered:
        rows = rows.filter(answered_at__isnull=False).order_by("-answered_at", "-id")
    elif open_only:
        rows = rows.filter(answered_at__isnull=True).order_by("due_on", "id")
    else:
        rows = rows.order_by("due_on", "id")
    found = list(rows.select_related("answered_by")[: min(max(limit, 1), 1000)])
    households = {r.case.household_id for r in found}
    heads = dict(Household.objects.filter(pk__in=households).values_list("household_id", "head_id_number"))
    names = dict(Person.objects.filter(pk__in=heads.values()).values_list("id_number", "name"))
    places = regions.names(sorted({r.case.region_code for r in found}))
    today = timezone.localdate()
    whole = Cap.REFERRAL_IDENTITY in actor.user.caps
    if found:
        scope.audit_read("referrals", "", scope.region_code, detail=f"{len(found)} 个转介")
    views = []
    for r in found:
        head_id = heads.get(r.case.household_id, "")
        if whole and head_id:
            scope.audit_read("referral", str(r.pk), r.case.region_code, detail="转介对象身份证号", subject=head_id)
        views.append(
            ReferralView(
                r,
                Department(r.department).label,
                names.get(head_id, ""),
                head_id if whole else scope.mask_id(head_id),
                places.get(r.case.region_code, r.case.region_code),
                r.answered_at is None and r.due_on < today,
                (r.answered_by.get_full_name() or r.answered_by.get_username()) if r.answered_by else "",
            )
        )
    return views


def answer(actor: Actor, referral_id: int, text: str, helped: object) -> Referral:
    """Record a department's answer to a referral: one transaction, once."""
    require(actor, Cap.ANSWER_REFERRAL)
    _, rows = _referrals_for(actor)
    form = AnswerForm({"answer": text, "helped": helped})
    if not form.is_valid():
        raise refused(form)  # type: ignore[arg-type]
    facts = dict(form.cleaned_data)
    with transaction.atomic():
        referral = rows.select_for_update().filter(pk=referral_id).first()
        if referral is None:
            raise PermissionDenied("no such referral for your department and region")
        if referral.answered_at is not None:
            raise StepRejected("该转介已答复，不能重复答复")
        now = timezone.now()
        updated = Referral.objects.filter(pk=referral.pk, answered_at__isnull=True).update(
            answer=facts["answer"], helped=facts["helped"], answered_by=actor.user, answered_at=now
        )
        if updated != 1:
            raise StepRejected("该转介已答复，不能重复答复")
        case = referral.case
        Case.objects.filter(pk=case.pk).update(version=F("version") + 1)
        step = Step.objects.create(
            case=case,
            action="answer",
            from_stage=case.stage,
            to_stage=case.stage,
            data={"department": referral.department, **facts},
            actor=actor.user,
        )
        publish(case, "answered", step, {"department": referral.department, "helped": facts["helped"]})
        record(
            actor,
            "referral_answer",
            "referral",
            str(referral.pk),
            region_code=case.region_code,
            detail=referral.department,
        )
    referral.refresh_from_db()
    return referral
