"""Derived household facts of DATA-CONTRACT's rule pack: living members, income line, coverage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from safetynet.registry import services
from safetynet.registry.models import Household, Person

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2025, 6, 30)


def test_age_counts_whole_years() -> None:
    assert services.age_on(dt.date(2007, 6, 30), AS_OF) == 18
    assert services.age_on(dt.date(2007, 7, 1), AS_OF) == 17
    assert services.age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17


def test_members_alive_excludes_the_dead_and_the_unborn(county) -> None:  # type: ignore[no-untyped-def]
    h001 = Household.objects.get(pk="H001")
    assert len(services.members_alive(h001, AS_OF)) == 3
    Person.objects.filter(name="王建国").update(death_date=dt.date(2025, 5, 1))
    assert {p.name for p in services.members_alive(h001, AS_OF)} == {"李秀英", "王小红"}
    assert len(services.members_alive(h001, dt.date(2025, 4, 30))) == 3  # still alive then
    assert {p.name for p in services.members_alive(h001, dt.date(2012, 9, 29))} == {"王建国", "李秀英"}


def test_per_capita_income_and_low_income_line(county) -> None:  # type: ignore[no-untyped-def]
    h001 = Household.objects.get(pk="H001")  # 800 + 300 + 0 over 3 members, rural 2025: 780 × 1.5 = 1170
    assert services.monthly_income(h001, AS_OF) == Decimal("1100")
    assert services.per_capita_income(h001, AS_OF) == Decimal("366.67")
    assert services.is_low_income(h001, AS_OF) is True
    wang = Person.objects.get(name="王建国").id_number
    assert services.per_capita_income(h001, AS_OF, pensions={wang: Decimal("3000")}) == Decimal("1366.67")
    assert services.is_low_income(h001, AS_OF, pensions={wang: Decimal("3000")}) is False
    h003 = Household.objects.get(pk="H003")  # one person, 2500 a month
    assert services.is_low_income(h003, AS_OF) is False
    assert services.is_low_income(h003, dt.date(2031, 1, 1)) is None  # no standard on file for 2031


def test_low_income_is_strictly_below_the_line(county) -> None:  # type: ignore[no-untyped-def]
    h003 = Household.objects.get(pk="H003")
    Person.objects.filter(household=h003).update(monthly_income=Decimal("1170"))
    assert services.is_low_income(h003, AS_OF) is False
    Person.objects.filter(household=h003).update(monthly_income=Decimal("1169.99"))
    assert services.is_low_income(h003, AS_OF) is True


def test_covered_means_an_active_dibao_or_tekun_record_on_the_date(county) -> None:  # type: ignore[no-untyped-def]
    assert services.is_covered(Household.objects.get(pk="H002"), AS_OF) is True  # tekun since 2020
    assert services.is_covered(Household.objects.get(pk="H002"), dt.date(2019, 12, 31)) is False
    h001 = Household.objects.get(pk="H001")
    assert services.active_programs(h001, dt.date(2023, 5, 15)) == {"temporary"}
    assert services.is_covered(h001, dt.date(2023, 5, 15)) is False
