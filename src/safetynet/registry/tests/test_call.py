"""Tap to call: the village coordinator who must visit rings the household from its page; the number goes
to the phone's dialer and never onto the page; every call is audited; only in one's own region."""

from __future__ import annotations

import pytest
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.access.services import subject_of
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db


def test_a_coordinator_rings_a_household_of_their_village_and_the_call_is_audited(county, make_user) -> None:  # type: ignore[no-untyped-def]
    wang = Person.objects.get(name="王建国")  # H001, 东王村
    coordinator = Client(enforce_csrf_checks=True)
    coordinator.force_login(make_user("coord", "coordinator", "371522100201"))
    page = coordinator.get("/registry/households/H001/").content.decode()
    assert wang.phone not in page and 'data-testid="call"' in page  # masked, with a button
    url = "/registry/households/H001/call/"
    assert coordinator.post(url, {"member": subject_of(wang.id_number)}).status_code == 403  # no CSRF token
    token = coordinator.cookies["csrftoken"].value
    rung = coordinator.post(url, {"member": subject_of(wang.id_number)}, headers={"X-CSRFToken": token})
    assert rung.status_code == 302 and rung["Location"] == f"tel:{wang.phone}"
    entry = AuditEntry.objects.get(action="call")
    assert entry.username == "coord" and entry.subject == subject_of(wang.id_number)
    assert coordinator.get(url).status_code == 405  # a link or a prefetch rings no one
    assert coordinator.post(url, {"member": "nobody"}, headers={"X-CSRFToken": token}).status_code == 404
    # another village's coordinator, the hotline and a leader may not ring 王建国
    for role, region in (
        ("coordinator", "371522100202"),
        ("hotline", "371522000000"),
        ("leader", "371500000000"),
    ):
        other = Client()
        other.force_login(make_user(f"x-{role}-{region}", role, region))
        assert other.post(url, {"member": subject_of(wang.id_number)}).status_code == 403, role
    assert AuditEntry.objects.filter(action="call").count() == 1
