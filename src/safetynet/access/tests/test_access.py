"""Roles, region scope, audit entries, masking, passwords, lockout, CSRF and language."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from safetynet.access.masking import mask_id_number, mask_phone
from safetynet.access.models import AuditEntry, User
from safetynet.access.services import Actor, AuditFilters, audit_entries, create_user
from safetynet.registry import services as registry
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db


def actor(user: User) -> Actor:
    return Actor(user=user, purpose="test", ip_address="127.0.0.1")


def test_masking() -> None:
    assert mask_id_number("37010219900101123X") == "370102********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == "" and mask_phone("123") == "***"


def test_village_coordinator_sees_only_their_village_with_masked_identifiers(county, make_user) -> None:  # type: ignore[no-untyped-def]
    coordinator = actor(make_user("c1", "coordinator", "371522100201"))
    found = registry.search_persons(coordinator, "王")
    assert {p.name for p in found} == {"王建国", "王小红"}
    assert found[0].id_number.count("*") == 8 and found[0].birth_date is None
    assert registry.search_persons(coordinator, "张桂兰") == []
    assert registry.household_profile(coordinator, "H002") is None
    wang = Person.objects.get(name="王建国")
    assert registry.search_persons(coordinator, wang.id_number)[0].name == "王建国"
    assert registry.search_persons(coordinator, "13812345678")[0].phone == "138****5678"


def test_township_staff_see_their_township_in_full(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    township = actor(make_user("t1", "township", "371522100000"))
    assert {p.name for p in registry.search_persons(township, "张")} == {"张桂兰"}
    assert registry.household_profile(township, "H003") is None  # 观城镇, another township
    profile = registry.household_profile(township, "H002")
    assert profile is not None
    assert profile.members[0].id_number == Person.objects.get(name="张桂兰").id_number
    assert profile.covered is True  # tekun


def test_every_detail_read_and_search_is_audited(county, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("c2", "county", "371522000000")
    wang = Person.objects.get(name="王建国")
    registry.household_profile(actor(user), "H001")
    registry.search_persons(actor(user), wang.id_number)
    entries = list(AuditEntry.objects.filter(username="c2").order_by("id"))
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("read", "household", "H001"),
        ("read", "person_search", ""),
    ]
    assert entries[0].region_code == "371522100201" and entries[0].ip_address == "127.0.0.1"
    # The trail itself never holds a whole ID number a searcher typed.
    assert wang.id_number not in entries[1].detail and mask_id_number(wang.id_number) in entries[1].detail


@pytest.mark.parametrize(
    "role,region",
    [
        ("social_org", "371522000000"),
        ("leader", "371500000000"),
        ("auditor", "371522000000"),
        ("liaison", "371522000000"),
    ],
)
def test_roles_without_registry_access_are_refused(county, make_user, role: str, region: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user(f"u-{role}", role, region)
    with pytest.raises(PermissionDenied):
        registry.search_persons(actor(user), "王建国")
    with pytest.raises(PermissionDenied):
        registry.household_profile(actor(user), "H001")
    client = Client()
    client.force_login(user)
    assert client.get("/registry/search/", {"q": "王建国"}).status_code == 403
    assert client.get("/api/registry/persons", {"q": "王建国"}).status_code == 403


def test_leader_sees_statistics_only(county, make_user) -> None:  # type: ignore[no-untyped-def]
    leader = make_user("lead", "leader", "371500000000")
    assert registry.region_statistics(actor(leader)) == {
        "households": 3,
        "persons": 5,
        "covered_households": 1,
    }
    client = Client()
    client.force_login(leader)
    home = client.get("/")  # a leader's home page is the analysis of their region
    assert home.status_code == 302 and home["Location"] == "/reports/"
    body = client.get("/reports/").content.decode()
    assert "王建国" not in body and "聊城市主动发现分析研判" in body


def test_audit_trail_is_for_auditors_within_their_region(county, make_user) -> None:  # type: ignore[no-untyped-def]
    registry.household_profile(actor(make_user("c3", "county", "371522000000")), "H003")
    auditor = make_user("aud", "auditor", "371522000000")
    entries = list(audit_entries(actor(auditor), AuditFilters(username="c3")))
    assert [e.object_id for e in entries] == ["H003"]
    with pytest.raises(PermissionDenied):
        audit_entries(actor(make_user("c4", "coordinator", "371522100201")), AuditFilters())


def test_user_region_must_fit_the_role(county) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="works at"):
        create_user("x", "correct-horse-battery", "coordinator", "371522000000")
    with pytest.raises(ValueError, match="unknown role"):
        create_user("y", "correct-horse-battery", "superhero", "371522000000")


def test_passwords_are_argon2_and_logins_lock_after_five_failures(county, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("lock", "township", "371522100000")
    assert user.password.startswith("argon2$")
    client = Client()
    for _ in range(5):
        response = client.post("/login/", {"username": "lock", "password": "wrong-password"})
        assert response.status_code in (200, 429)
    response = client.post("/login/", {"username": "lock", "password": "correct-horse-battery"})
    assert response.status_code == 429  # locked even with the right password
    assert "王建国" not in response.content.decode()


def test_login_works_and_requires_csrf(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ok", "township", "371522100000")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"username": "ok", "password": "correct-horse-battery"}).status_code == 403
    client = Client()
    response = client.post("/login/", {"username": "ok", "password": "correct-horse-battery"})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/").content.decode()
    assert "燕店镇" in home
    # the township's day on its home page: each inbox section, counted, linked to the inbox
    assert "今日待办" in home and 'href="/cases/inbox/#triage"' in home and 'data-section="overdue"' in home
    hotline = Client()
    hotline.force_login(make_user("hot", "hotline", "371522000000"))
    assert "今日待办" not in hotline.get("/").content.decode()  # no case inbox for the hotline


def test_pages_are_chinese_by_default_and_english_on_request(county, make_user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert "登录" in client.get("/login/").content.decode()
    assert "登录" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in" in client.get("/login/").content.decode()


def test_api_docs_need_login_and_load_no_cdn(county, make_user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.get("/api/docs").status_code == 302
    client.force_login(make_user("docs", "county", "371522000000"))
    docs = client.get("/api/docs").content.decode()
    assert "swagger-ui-bundle.js" in docs and "cdn." not in docs
    assert "/api/registry/persons" in client.get("/api/openapi.json").content.decode()
