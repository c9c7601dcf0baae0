"""Person search: a household code finds its members; a search that matches more people than a page may
show says how many matched in all and how to narrow it (never a silent cut)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from safetynet import testing
from safetynet.registry.models import Household, Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_a_household_code_finds_its_members(county, make_user) -> None:  # type: ignore[no-untyped-def]
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    page = town.get("/registry/search/", {"q": "H001"}).content.decode()
    assert "辖区内找到 3 人" in page and "王建国" in page and "李秀英" in page and "王小红" in page
    assert (
        town.get("/registry/search/", {"q": "H003"}).content.decode().count("辖区内找到 0 人") == 1
    )  # 观城镇


def test_more_matches_than_shown_say_so(county, make_user) -> None:  # type: ignore[no-untyped-def]
    home = Household.objects.get(pk="H001")
    Person.objects.bulk_create(
        Person(
            id_number=testing.make_id_number(dt.date(1960, 1, 1) + dt.timedelta(days=i), 400 + i, i % 2 == 0),
            name=f"王淑珍{i}", gender="M" if i % 2 == 0 else "F", birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=i),
            household=home, relation="other", employment="farmer",
        )
        for i in range(70)
    )  # fmt: skip
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    page = town.get("/registry/search/", {"q": "王淑珍"}).content.decode()
    assert "辖区内找到 70 人" in page and "只显示前 50 人" in page
    assert page.count('<li><a href="/registry/households/') == 50
    assert "只显示前" not in town.get("/registry/search/", {"q": "王淑珍1"}).content.decode()  # 11 of them


@pytest.mark.parametrize(
    "typed", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "0086-13812345678", "（138）12345678"]
)
def test_a_phone_finds_its_person_however_it_is_typed(county, make_user, typed: str) -> None:  # type: ignore[no-untyped-def]
    """A hotline operator pastes the number as the caller said it; the trail keeps it masked."""
    from safetynet.access.models import AuditEntry
    from safetynet.access.services import Actor
    from safetynet.registry import services

    user = make_user("hot", "hotline", "371522000000")
    found = services.search_persons(Actor(user=user, purpose="test", ip_address="127.0.0.1"), typed)
    assert [p.name for p in found] == ["王建国"] and found[0].phone == "138****5678"
    entry = AuditEntry.objects.filter(username="hot", object_type="person_search").latest("id")
    assert "phone=138****5678" in entry.detail and "12345678" not in entry.detail


def test_a_landline_is_found_with_or_without_its_dash(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access.services import Actor
    from safetynet.registry import services

    Person.objects.filter(name="李秀英").update(phone="0534-5551234")
    user = Actor(user=make_user("hot", "hotline", "371522000000"), purpose="test", ip_address="127.0.0.1")
    for typed in ("0534-5551234", "05345551234", "(0534) 555 1234"):
        assert [p.name for p in services.search_persons(user, typed)] == ["李秀英"], typed
    assert services.search_persons(user, "138 1234") == []  # too short to be a phone: read as a name
