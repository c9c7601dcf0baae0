"""Cases: the open case of a household, opened or joined when a lead names the household."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from safetynet import events
from safetynet.cases.models import Case
from safetynet.cases.workflow import set_intake_deadline


def open_case_for(household_id: str, region_code: str, urgent: bool = False) -> tuple[Case, bool]:
    """The household's open case, or a new one; (case, created). Safe when two leads arrive at once: the
    partial unique index lets one insert win and the other find it."""
    with transaction.atomic():  # the caller's transaction, or one of its own
        return _open_case_for(household_id, region_code, urgent)


def _open_case_for(household_id: str, region_code: str, urgent: bool) -> tuple[Case, bool]:
    existing = (
        Case.objects.select_for_update().filter(household_id=household_id, status=Case.Status.OPEN).first()
    )
    if existing is not None:
        if urgent and not existing.urgent:
            # Now urgent: verified within a working day, unless already due sooner.
            existing.urgent = True
            before = existing.due_on
            set_intake_deadline(existing)
            if existing.stage != Case.Stage.NEW or before and existing.due_on and before < existing.due_on:
                existing.due_on = before
            existing.save(update_fields=["urgent", "due_on", "due_estimated"])
        return existing, False
    case = Case(household_id=household_id, region_code=region_code, urgent=urgent)
    set_intake_deadline(case)
    try:
        with transaction.atomic():
            case.save()
            return case, True
    except IntegrityError:
        return Case.objects.get(household_id=household_id, status=Case.Status.OPEN), False


def land_lead(event: events.LeadMatched, **_: object) -> None:
    """A lead that names a household joins the household's open case, or opens one (subscribed to
    `events.lead_matched`, inside the lead's transaction)."""
    from safetynet.leads import services as leads

    case, _created = open_case_for(event.household_id, event.region_code, urgent=event.urgent)
    leads.attach_case(event.lead_id, case.pk)
