"""Least data per role, and look-ups that cannot be used to fish: the hotline learns who a caller is, not
their health or income; a masked ID number cannot be completed by trying birth dates; a social
organisation's "known / not known" is rationed; every refusal of that kind is an alert in the trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.access.services import subject_of
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db


def _client(make_user, name: str, role: str, region: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user(name, role, region))
    return client


def test_the_hotline_sees_who_not_their_health_or_income(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _client(make_user, "hotline", "hotline", "371522000000")
    household = hotline.get("/api/registry/households/H002").json()
    zhang = household["members"][0]
    assert zhang["name"] == "张桂兰" and "*" in zhang["phone"]
    assert zhang["disability_level"] is None and zhang["serious_illness"] is None and zhang["self_care"] is None
    assert household["monthly_income"] is None and household["covered"] is True  # on tekun, amount unsaid
    assert all(a["monthly_amount"] is None for a in household["assistance"])
    page = hotline.get("/registry/households/H002/").content.decode()
    assert "950" not in page and "重病" not in page
    assert hotline.get("/api/screening/warnings").status_code == 403
    assert hotline.get("/api/policies/match/H002").status_code == 403
    town = _client(make_user, "town", "township", "371522100000")
    assert town.get("/api/registry/households/H002").json()["members"][0]["disability_level"] == 2


def test_a_masked_id_number_cannot_be_completed_by_trying_birth_dates(county, make_user) -> None:  # type: ignore[no-untyped-def]
    coordinator = _client(make_user, "coord", "coordinator", "371522100201")
    wang = Person.objects.get(name="王建国")
    shown = coordinator.get("/api/registry/households/H001").json()["members"]
    assert {m["age"] for m in shown} >= {"65–69"}  # a band, not the year a search could be built from
    guesses = [
        testing.make_id_number(dt.date(1958, 1, 1) + dt.timedelta(days=d), 1, True) for d in range(12)
    ]
    answers = [coordinator.get("/api/registry/persons", {"q": g}).status_code for g in guesses]
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]
    alert = AuditEntry.objects.filter(username="coord", action="rate_limited")
    assert alert.count() == 1 and "疑似批量查询" in alert.get().detail
    searched = AuditEntry.objects.filter(username="coord", object_type="person_search")
    assert searched.count() == 10 and len({e.subject for e in searched}) == 10  # each guess on record
    assert wang.id_number not in str(list(searched.values()))
    # Staff who see whole numbers are not held to the masked limit (only the general one).
    town = _client(make_user, "town", "township", "371522100000")
    assert all(town.get("/api/registry/persons", {"q": g}).status_code == 200 for g in guesses)


def test_a_social_organisations_known_or_not_is_rationed_and_audited(county, make_user) -> None:  # type: ignore[no-untyped-def]
    ngo = _client(make_user, "ngo", "social_org", "371522000000")
    wang = Person.objects.get(name="王建国")
    answers = [
        ngo.get("/api/linkage/candidates", {"name": "王建国", "id_number": wang.id_number}) for _ in range(21)
    ]
    assert [a.status_code for a in answers[:20]] == [200] * 20 and answers[20].status_code == 429
    assert answers[20].json()["code"] == "rate_limited"
    asked = AuditEntry.objects.filter(username="ngo", object_type="linkage_lookup")
    assert asked.count() == 20 and {e.subject for e in asked} == {subject_of(wang.id_number)}
    assert AuditEntry.objects.filter(username="ngo", action="rate_limited").exists()
