"""Least data per role, and look-ups that cannot be used to fish: the hotline learns who a caller is, not
their health or income; a masked ID number cannot be completed by trying birth dates; a social
organisation's "known / not known" is rationed; every refusal of that kind is an alert in the trail."""

from __future__ import annotations

import datetime as dt
import re

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


def _spaced(number: str, groups: tuple[int, ...]) -> str:
    out, at = [], 0
    for size in groups:
        out.append(number[at : at + size])
        at += size
    return " ".join(out)


def test_masking_covers_lead_pages_the_audit_trail_and_every_export(screened_county, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An ID number and a phone a caller dictated into the report, spaced as people say them, are masked
    for a village coordinator wherever the lead shows (its page, the inboxes, the case page, the API), in a
    warnings export a county lets such a role download, and never kept whole in the audit trail."""
    from safetynet.access.masking import mask_id_number, mask_phone
    from safetynet.access.permissions import GRANTS, Cap
    from safetynet.access.roles import Role
    from safetynet.leads.models import Lead

    wang = Person.objects.get(name="王建国")
    spaced_id = _spaced(wang.id_number, (4, 4, 4, 4, 2))
    dashed_phone = _spaced(wang.phone, (3, 4, 4)).replace(" ", "-")
    hotline = _client(make_user, "hotline", "hotline", "371522000000")
    report = {
        "channel": "hotline",
        "summary": f"来电人说身份证号 {spaced_id}，手机 {dashed_phone}，老人摔伤",
        "name": "王建国",
        "id_number": wang.id_number,
        "phone": wang.phone,
    }
    assert hotline.post("/api/leads", report, content_type="application/json").status_code == 201
    lead = Lead.objects.latest("id")
    leaks = (wang.id_number, spaced_id, wang.phone, dashed_phone)

    coordinator = _client(make_user, "coord", "coordinator", "371522100201")
    pages = [f"/leads/{lead.pk}/", "/leads/", f"/api/leads/{lead.pk}", "/api/leads", "/", "/api/leads/mine"]
    if lead.case_id:
        pages.append(f"/cases/{lead.case_id}/")
    seen_masked = False
    for url in pages:
        response = coordinator.get(url)
        body = response.content.decode() if "json" not in response["Content-Type"] else str(response.json())
        assert not [v for v in leaks if v in body], (url, [v for v in leaks if v in body])
        seen_masked |= mask_id_number(wang.id_number) in body and mask_phone(wang.phone) in body
    assert seen_masked, "the lead page shows the report, masked"
    mine = str(hotline.get("/api/leads/mine").json())  # the operator's own list: masked too
    assert spaced_id not in mine and wang.phone not in mine

    town = _client(make_user, "town", "township", "371522100000")
    assert spaced_id in town.get(f"/leads/{lead.pk}/").content.decode()  # whole for who may see it

    # A county that lets coordinators export warnings: the file masks as the page does.
    monkeypatch.setitem(GRANTS, Cap.EXPORT_WARNINGS, (*GRANTS[Cap.EXPORT_WARNINGS], Role.COORDINATOR))
    coordinator = _client(make_user, "coord2", "coordinator", "371522100201")
    exported = coordinator.get("/screening/warnings/export.csv").content.decode("utf-8-sig")
    assert "H001" in exported and "********" in exported
    assert not re.search(r"(?<![0-9])\d{17}[\dXx](?![0-9])", exported)  # no whole ID number of anyone
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(coordinator.get("/screening/warnings/export.xlsx").getvalue()), read_only=True)
    cells = " ".join(str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None)
    assert "********" in cells and not re.search(r"(?<![0-9])\d{17}[\dXx](?![0-9])", cells)  # the workbook too

    # The trail: nothing whole, neither in the table nor in its export.
    auditor = _client(make_user, "aud", "auditor", "371522000000")
    for body in (
        auditor.get("/audit/").content.decode(),
        auditor.get("/audit/", {"format": "csv"}).content.decode("utf-8-sig"),
    ):
        assert not [v for v in leaks if v in body]
    stored = " ".join(f"{e.detail} {e.object_id}" for e in AuditEntry.objects.all())
    assert not [v for v in leaks if v in stored]
