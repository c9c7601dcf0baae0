"""GET /api/linkage/candidates and the review queue: scoped, audited, masked; NGOs learn only known/unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from safetynet.access.masking import mask_id_number
from safetynet.access.models import AuditEntry
from safetynet.linkage import services
from safetynet.linkage.models import LinkageModel, Review
from safetynet.linkage.services import Linker
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db
URL = "/api/linkage/candidates"


def _client(make_user, name: str, role: str, region: str, csrf: bool = False) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name, role, region))
    return client


def _person() -> Person:
    person = Person.objects.exclude(phone="").select_related("household").order_by("id_number").first()
    assert person is not None
    return person


def test_candidates_are_scoped_masked_and_audited(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    person = _person()
    village = person.household.region_code
    query = {"name": person.name, "phone": person.phone}

    hotline = _client(make_user, "hotline", "hotline", "371427000000")
    before = AuditEntry.objects.count()
    response = hotline.get(URL, query)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["decision"] == "match" and data["known"] is True
    best = data["candidates"][0]
    assert best["id_number"] == mask_id_number(person.id_number)  # the hotline hears IDs masked
    assert person.id_number not in response.content.decode()
    assert best["probability"] > 0.95 and best["explanation"] and best["fields"]
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry is not None and entry.object_type == "linkage_lookup" and entry.username == "hotline"

    county = _client(make_user, "county", "county", "371427000000")
    assert county.get(URL, query).json()["candidates"][0]["id_number"] == person.id_number

    # A coordinator of another village never sees this person, whatever is typed.
    other = Person.objects.exclude(household__region_code=village).select_related("household").first()
    assert other is not None
    coordinator = _client(make_user, "coord", "coordinator", other.household.region_code)
    for asked in (query, {"id_number": person.id_number}, {"name": person.name, "region_code": village}):
        body = coordinator.get(URL, asked).content.decode()
        assert person.id_number not in body and mask_id_number(person.id_number) not in body
        assert all(
            c["region_code"] == other.household.region_code
            for c in coordinator.get(URL, asked).json()["candidates"]
        )


def test_a_social_organisation_learns_only_known_or_not(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    person = _person()
    ngo = _client(make_user, "ngo", "social_org", "371427000000")
    known = ngo.get(URL, {"name": person.name, "id_number": person.id_number})
    assert known.status_code == 200 and known.json() == {
        "known": True,
        "decision": None,
        "place": None,
        "candidates": None,
    }
    unknown = ngo.get(URL, {"name": "查无此人", "phone": "19900000000"})
    assert unknown.json()["known"] is False
    body = known.content.decode()
    assert person.name not in body and person.id_number[-4:] not in body
    assert AuditEntry.objects.filter(username="ngo", action="linkage_known").count() == 2
    # Every other linkage route refuses the NGO.
    assert ngo.get("/api/linkage/reviews").status_code == 403
    assert ngo.get("/linkage/reviews/").status_code == 403


def test_bad_and_hostile_queries(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    county = _client(make_user, "county", "county", "371427000000")
    assert county.get(URL).status_code == 422  # nothing to look for
    assert county.get(URL, {"age": "40"}).status_code == 422
    bad = county.get(URL, {"name": "张三", "birth_date": "2020-02-30"})
    assert bad.status_code == 422 and "出生日期" in bad.json()["detail"]
    assert county.get(URL, {"name": "张三", "limit": "abc"}).status_code == 422
    for text in ("' OR 1=1 --", "<img src=x onerror=alert(1)>", "%00", "名" * 5000):
        response = county.get(URL, {"name": text, "address_text": text})
        assert (
            response.status_code == 200
            and "<img" not in response.content.decode().replace("\\u003c", "<")[:0]
        )
    liaison = _client(make_user, "liaison", "liaison", "371427000000")
    assert liaison.get(URL, {"name": "张三"}).status_code == 403
    assert Client().get(URL, {"name": "张三"}).status_code in (401, 403)


def test_review_queue_decisions_conflicts_and_csrf(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    person = _person()
    raw = {"name": person.name, "phone": person.phone}
    result = Linker().link(raw)
    result.decision = "review"
    services.queue_reviews("hotline", [("hotline:1:RX1", raw, result)])
    review = Review.objects.get()
    township = _client(make_user, "town", "township", person.household.region_code[:9] + "000", csrf=True)
    listed = township.get("/api/linkage/reviews").json()
    assert [r["review_id"] for r in listed] == [review.pk]
    url = f"/api/linkage/reviews/{review.pk}"
    assert (
        township.post(
            url, {"version": 0, "id_number": person.id_number}, content_type="application/json"
        ).status_code
        == 403
    )  # no CSRF token
    township.get("/linkage/reviews/")  # a page view sets the CSRF cookie
    token = township.cookies["csrftoken"].value
    decided = township.post(
        url,
        {"version": 0, "id_number": person.id_number},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "confirmed"
    late = township.post(
        url, {"version": 0, "id_number": None}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert late.status_code == 409 and "他人" in late.json()["detail"]
    outsider = _client(make_user, "far", "coordinator", _far_village(person))
    assert outsider.get("/api/linkage/reviews").json() == []


def _far_village(person: Person) -> str:
    other = (
        Person.objects.exclude(household__region_code__startswith=person.household.region_code[:9])
        .select_related("household")
        .first()
    )
    assert other is not None
    return other.household.region_code


def test_only_a_county_admin_changes_thresholds(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = _client(make_user, "admin", "county_admin", "371427000000")
    county = _client(make_user, "county", "county", "371427000000")
    assert (
        county.put(
            "/api/linkage/thresholds", {"match": 0.9, "review": 0.4}, content_type="application/json"
        ).status_code
        == 403
    )
    assert (
        admin.put(
            "/api/linkage/thresholds", {"match": 0.4, "review": 0.9}, content_type="application/json"
        ).status_code
        == 422
    )
    assert (
        admin.put(
            "/api/linkage/thresholds", {"match": 2, "review": 0.5}, content_type="application/json"
        ).status_code
        == 422
    )
    saved = admin.put(
        "/api/linkage/thresholds", {"match": 0.99, "review": 0.3}, content_type="application/json"
    )
    assert saved.status_code == 200 and saved.json()["match"] == 0.99
    assert LinkageModel.objects.first().review_threshold == 0.3  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(action="linkage_thresholds", username="admin").exists()


def test_an_exact_id_or_phone_shows_its_person_whatever_else_is_misspelled(
    demo_county: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    """A caller gives the right phone and a name nobody would recognise: the hotline sees whom the phone
    belongs to, for a person to judge; an organisation giving a whole ID number learns it is known."""
    person = _person()
    hotline = _client(make_user, "hot", "hotline", "371427000000")
    answer = hotline.get(
        URL, {"name": "甄士隐", "phone": f"+86 {person.phone[:3]}-{person.phone[3:7]}-{person.phone[7:]}"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert any(c["household_id"] == person.household_id for c in body["candidates"]), body
    assert body["decision"] in ("review", "match"), body  # never "unknown" when the phone points to someone
    ngo = _client(make_user, "ngo", "social_org", "371427000000")
    assert ngo.get(URL, {"name": "甄士隐", "id_number": person.id_number}).json()["known"] is True
    assert ngo.get(URL, {"name": "甄士隐", "phone": "19900000000"}).json()["known"] is False
