"""Every write route of leads and cases, over HTTP, with malformed, out-of-scope and hostile input: each is
refused with a clear status and message, and nothing is saved. A social organisation reaches no case,
referral or registry data by any of them."""

from __future__ import annotations

import pytest
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cases.models import Case, Referral, Step
from safetynet.leads import services as leads
from safetynet.leads.models import Channel, Lead
from safetynet.registry.models import Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE cases_case; --", "=cmd|' /C calc'!A0", "\x00\x1b[2J"]


def _client(user) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/cases/inbox/")  # sets the CSRF cookie (a 403 page sets it too)
    return client, client.cookies["csrftoken"].value


def _post(client: Client, token: str, url: str, body: object, raw: bool = False):  # type: ignore[no-untyped-def]
    data = body if raw else __import__("json").dumps(body)
    return client.post(url, data, content_type="application/json", headers={"X-CSRFToken": token})


@pytest.fixture
def case_id(county, make_user) -> int:  # type: ignore[no-untyped-def]
    hotline = Actor(user=make_user("hotline", "hotline", "371522000000"), purpose="test")
    lead = leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"})
    )
    leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "有人生病", {"name": "赵无名", "address_text": "燕店镇"})
    )
    assert lead.case_id
    return lead.case_id


def test_case_steps_refuse_malformed_and_hostile_bodies(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    town, token = _client(make_user("town", "township", "371522100000"))
    url = f"/api/cases/{case_id}/steps"
    cases = [
        ("{not json", True, 400),
        ([], False, 422),
        ({"action": "verify"}, False, 422),  # no version
        ({"action": "verify", "version": "one", "data": {}}, False, 422),
        ({"action": "verify", "version": 0, "data": "text"}, False, 422),
        ({"action": "x" * 10_000, "version": 0}, False, 422),
        ({"action": "verify", "version": 0, "data": {"visited_on": "2026-13-01"}}, False, 422),
        ({"action": "verify", "version": 0, "data": {"monthly_income": "1e400"}}, False, 422),
        ({"action": "decide", "version": 0, "data": {"approved": True}}, False, 403),  # county only
        ({"action": "refer", "version": 0, "data": {"department": "education", "request": "x"}}, False, 403),
        ({"action": "approve_amount", "version": 0, "data": {}}, False, 403),  # county only
    ] + [({"action": text, "version": 0, "data": {}}, False, 422) for text in HOSTILE]
    for body, raw, status in cases:
        response = _post(town, token, url, body, raw)
        assert response.status_code == status, (body, response.content)
        answer = response.json()
        assert answer["code"] and answer["message"] and "detail" in answer, answer
    assert not Step.objects.exists() and Case.objects.get(pk=case_id).version == 0
    huge = _post(
        town, token, url, {"action": "verify", "version": 0, "data": {"situation": "困" * 3_000_000}}
    )
    assert huge.status_code in (400, 413, 422)
    assert (
        _post(town, token, "/api/cases/999999/steps", {"action": "verify", "version": 0}).status_code == 403
    )


def test_hostile_text_is_kept_as_text_and_escaped_on_the_page(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    town, token = _client(make_user("town", "township", "371522100000"))
    visit = {
        "visited_on": "2026-01-05",
        "situation": "<script>alert(1)</script>",
        "monthly_income": "600",
        "monthly_expense": "0",
        "hardship": True,
        "wants_help": True,
    }
    assert (
        _post(
            town, token, f"/api/cases/{case_id}/steps", {"action": "verify", "version": 0, "data": visit}
        ).status_code
        == 200
    )
    page = town.get(f"/cases/{case_id}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_form_posts_refuse_bad_input_with_a_message(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    town, token = _client(make_user("town", "township", "371522100000"))
    for form in (
        {"action": "verify", "version": "abc"},
        {"action": "'; DROP TABLE cases_case; --", "version": "0"},
        {"action": "verify", "version": "0", "visited_on": "昨天"},
    ):
        response = town.post(f"/cases/{case_id}/", {**form, "csrfmiddlewaretoken": token}, follow=True)
        assert response.status_code in (409, 422), form  # the page again, with the reason
        assert 'class="error"' in response.content.decode(), form
    assert town.post(f"/cases/{case_id}/", {"action": "verify"}).status_code == 403  # no CSRF token
    unknown = Lead.objects.get(match=Lead.Match.UNIDENTIFIED)
    for form in (
        {"lead": "abc", "region_code": "371522100201"},
        {"lead": str(unknown.pk)},
        {"lead": str(unknown.pk), "region_code": HOSTILE[1]},
        {"lead": str(unknown.pk), "household_id": HOSTILE[0]},
        {"lead": str(unknown.pk), "region_code": "371522101201"},  # another township's village
    ):
        response = town.post("/cases/inbox/", {**form, "csrfmiddlewaretoken": token}, follow=True)
        assert 'class="error"' in response.content.decode(), form
    assert Lead.objects.get(pk=unknown.pk).region_code == unknown.region_code  # unchanged
    page = town.get("/cases/inbox/").content.decode()
    assert page.count('name="region_code"') == 1  # one village list for the whole triage section
    done = town.post(
        "/cases/inbox/",
        {"lead": str(unknown.pk), "region_code": "371522100202", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert "已分派" in done.content.decode() and Lead.objects.get(pk=unknown.pk).region_code == "371522100202"


def test_assign_and_referral_routes_refuse_out_of_scope_and_bad_ids(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    unknown = Lead.objects.get(match=Lead.Match.UNIDENTIFIED)
    other_town, token = _client(make_user("guan", "township", "371522101000"))
    moved = _post(other_town, token, f"/api/leads/{unknown.pk}/assign", {"region_code": "371522101201"})
    assert moved.status_code == 422 and "辖区" in moved.json()["detail"]  # not in 观城镇's scope
    town, token = _client(make_user("town", "township", "371522100000"))
    for body in ({}, {"household_id": 123}, {"household_id": "H" * 100}, {"region_code": "1" * 50}):
        assert _post(town, token, f"/api/leads/{unknown.pk}/assign", body).status_code == 422, body
    assert _post(town, token, "/api/leads/999999/assign", {"household_id": "H001"}).status_code == 422
    assert (
        _post(town, token, "/api/cases/referrals/1/answer", {"answer": "x", "helped": True}).status_code
        == 403
    )
    assert not Referral.objects.exists()


def test_a_social_organisation_reaches_nothing_of_cases_or_the_registry(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    ngo, token = _client(make_user("ngo", "social_org", "371522000000"))
    lead_id = Lead.objects.first().pk  # type: ignore[union-attr]
    head = Person.objects.get(household_id="H001", relation="head")
    secrets = (head.phone, head.id_number, head.id_number[-8:], "李秀英")
    reads = [
        "/cases/",
        "/cases/inbox/",
        "/cases/referrals/",
        f"/cases/{case_id}/",
        "/api/cases",
        "/api/cases/inbox",
        "/api/cases/referrals",
        f"/api/cases/{case_id}",
        f"/leads/{lead_id}/",
        f"/api/leads/{lead_id}",
        "/api/leads",
        "/registry/search/?q=王建国",
        "/registry/households/H001/",
    ]
    for url in reads:
        response = ngo.get(url)
        assert response.status_code in (403, 404), url
        # Nothing of the registry: no phone, no ID number (URLs themselves may echo in the page's links).
        assert not any(secret in response.content.decode() for secret in secrets), url
    writes = [
        (f"/api/cases/{case_id}/steps", {"action": "verify", "version": 0, "data": {}}),
        (f"/api/leads/{lead_id}/assign", {"household_id": "H001"}),
        ("/api/cases/referrals/1/answer", {"answer": "x", "helped": True}),
    ]
    for url, body in writes:
        assert _post(ngo, token, url, body).status_code == 403, url
    assert not AuditEntry.objects.filter(username="ngo", action__startswith="case_").exists()
