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
    assert town.get("/registry/search/", {"q": "H003"}).content.decode().count("辖区内找到 0 人") == 1  # 观城镇


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
