"""The filters every staff list shares (area one level down, dates, a search box), on the cases and leads
lists and their Excel exports: server-side, inside the reader's scope, audited with ID numbers masked, and
bad input filtering nothing rather than failing."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from safetynet.access.models import AuditEntry
from safetynet.cases.models import Case
from safetynet.leads.models import Lead
from safetynet.registry.models import Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

EAST_WANG, WEST_LI, SOUTH_ZHANG = "371522100201", "371522100202", "371522101201"  # 燕店镇 ×2, 观城镇


@pytest.fixture
def lists(county):  # type: ignore[no-untyped-def]
    """A case and a lead for each of the three households, opened on different days."""
    now = timezone.now()
    made = {}
    for household, village, days_ago in (("H001", EAST_WANG, 1), ("H002", WEST_LI, 20), ("H003", SOUTH_ZHANG, 40)):
        case = Case.objects.create(household_id=household, region_code=village)
        Case.objects.filter(pk=case.pk).update(opened_at=now - dt.timedelta(days=days_ago))
        lead = Lead.objects.create(
            channel="visit", summary="走访发现", household_id=household, region_code=village, case=case,
            match=Lead.Match.MATCHED,
        )  # fmt: skip
        Lead.objects.filter(pk=lead.pk).update(created_at=now - dt.timedelta(days=days_ago))
        made[household] = case.pk
    return made


def rows(client: Client, url: str, marker: str, **params: str) -> set[int]:
    page = client.get(url, params)
    assert page.status_code == 200
    html = page.content.decode()
    return {int(part.split('"')[0]) for part in html.split(f'{marker}="')[1:]}


@pytest.mark.parametrize("url,marker", [("/cases/", "data-case"), ("/leads/", "data-lead")])
def test_area_dates_and_search_narrow_a_county_list(lists, make_user, url: str, marker: str) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("cty", "county", "371522000000"))
    ids = {h: (lists[h] if marker == "data-case" else Lead.objects.get(case_id=lists[h]).pk) for h in lists}
    assert rows(client, url, marker) == set(ids.values())
    page = client.get(url).content.decode()
    assert 'value="371522100"' in page and "燕店镇" in page  # the county's townships to choose from
    assert rows(client, url, marker, region="371522100") == {ids["H001"], ids["H002"]}
    assert rows(client, url, marker, region="371522101") == {ids["H003"]}
    today = timezone.localdate()
    assert rows(client, url, marker, since=str(today - dt.timedelta(days=25))) == {ids["H001"], ids["H002"]}
    assert rows(client, url, marker, until=str(today - dt.timedelta(days=10))) == {ids["H002"], ids["H003"]}
    assert rows(client, url, marker, q="张桂") == {ids["H002"]}  # the head's name, its beginning
    assert rows(client, url, marker, q="王小") == {ids["H001"]}  # any member's name
    assert rows(client, url, marker, q="H003") == {ids["H003"]}
    assert rows(client, url, marker, q="138 1234 5678") == {ids["H001"]}  # a member's phone, however typed
    wang = Person.objects.get(name="王建国").id_number
    assert rows(client, url, marker, q=wang) == {ids["H001"]}
    trail = AuditEntry.objects.filter(username="cty").latest("id").detail
    assert wang not in trail and "查询=" in trail  # the ID searched for is kept masked


def test_a_township_narrows_to_its_villages_and_cannot_widen(lists, make_user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("town", "township", "371522100000"))
    page = client.get("/cases/").content.decode()
    assert f'value="{EAST_WANG}"' in page and f'value="{WEST_LI}"' in page  # villages, not townships
    assert rows(client, "/cases/", "data-case", region=EAST_WANG) == {lists["H001"]}
    # another township's code narrows an already scoped list: nothing, never 观城镇's case
    assert rows(client, "/cases/", "data-case", region="371522101") == set()
    assert rows(client, "/cases/", "data-case", q="H003") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-13-45"},
        {"until": "yesterday"},
        {"region": "371522' OR 1=1 --"},
        {"q": "%"},
        {"q": "x" * 5000},
        {"q": "'; DROP TABLE cases_case; --"},
        {"region": "３７１５２２１００"},  # full-width digits
    ],
)
def test_bad_filters_filter_nothing_or_say_so(lists, make_user, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("cty", "county", "371522000000"))
    page = client.get("/cases/", params)
    assert page.status_code == 200
    found = rows(client, "/cases/", "data-case", **params)
    if "since" in params or "until" in params:
        assert found == set(lists.values()) and "不是日期" in page.content.decode()
    elif params.get("q", "").startswith(("%", "x", "'")):
        assert found == set()  # no name begins with it; % is a character, not a wildcard
    else:
        assert found == set(lists.values()) or found == set()
    assert Case.objects.count() == 3


def test_exports_follow_the_filters_and_are_for_county_staff(lists, make_user) -> None:  # type: ignore[no-untyped-def]
    county = Client()
    county.force_login(make_user("cty", "county", "371522000000"))
    for url, title in (("/cases/export.xlsx", "个案"), ("/leads/export.xlsx", "线索")):
        answer = county.get(url, {"region": "371522100", "q": "张"})
        assert answer.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)))[title]
        body = [row for row in sheet.iter_rows(min_row=2, values_only=True) if any(row)]
        assert len(body) == 1 and "张桂兰" in body[0], body
    assert AuditEntry.objects.filter(username="cty", action="export", object_type="lead_list").count() == 1
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    assert town.get("/leads/export.xlsx").status_code == 403
    assert 'data-testid="export-xlsx"' not in town.get("/leads/").content.decode()


def test_the_warnings_list_narrows_by_run_date_and_search(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.screening.models import RiskWarning

    open_ = RiskWarning.objects.filter(status=RiskWarning.Status.OPEN)
    other = open_.first()  # a second household's warning beside the run's own, so a search must choose
    other.pk, other.household_id, other.region_code = None, "H003", SOUTH_ZHANG
    other.id_number = Person.objects.get(name="刘强").id_number
    other.save()
    assert open_.values("household_id").distinct().count() >= 2
    household = open_.order_by("household_id").first().household_id
    theirs = set(open_.filter(household_id=household).values_list("pk", flat=True))
    client = Client()
    client.force_login(make_user("cty", "county", "371522000000"))
    every = rows(client, "/screening/warnings/", "data-warning")
    assert every == set(open_.values_list("pk", flat=True))
    assert rows(client, "/screening/warnings/", "data-warning", q=household) == theirs
    member = Person.objects.filter(household_id=household).first()
    assert theirs <= rows(client, "/screening/warnings/", "data-warning", q=member.name)
    today = timezone.localdate()
    assert rows(client, "/screening/warnings/", "data-warning", since=str(today)) == every  # today's run
    assert rows(client, "/screening/warnings/", "data-warning", since=str(today + dt.timedelta(days=1))) == set()
    assert rows(client, "/screening/warnings/", "data-warning", until=str(today - dt.timedelta(days=1))) == set()
    answer = client.get("/screening/warnings/export.xlsx", {"q": household})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)))["预警"]
    assert len([r for r in sheet.iter_rows(min_row=2, values_only=True) if any(r)]) == len(theirs)


def ordered(client: Client, url: str, marker: str, **params: str) -> list[int]:
    html = client.get(url, params).content.decode()
    return [int(part.split('"')[0]) for part in html.split(f'{marker}="')[1:]]


def test_lists_sort_as_chosen_and_an_unknown_sort_is_the_default(lists, make_user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("cty", "county", "371522000000"))
    newest_first = [lists["H001"], lists["H002"], lists["H003"]]  # opened 1, 20 and 40 days ago
    assert ordered(client, "/cases/", "data-case", sort="newest") == newest_first
    assert ordered(client, "/cases/", "data-case", sort="oldest") == newest_first[::-1]
    assert ordered(client, "/cases/", "data-case", sort="'; DROP") == ordered(client, "/cases/", "data-case")
    leads = [Lead.objects.get(case_id=c).pk for c in newest_first]
    assert ordered(client, "/leads/", "data-lead", sort="oldest") == sorted(leads)
    assert ordered(client, "/leads/", "data-lead", sort="newest") == sorted(leads, reverse=True)
    answer = client.get("/cases/export.xlsx", {"sort": "oldest"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)))["个案"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]] == newest_first[::-1]
    assert 'value="newest"' in client.get("/cases/").content.decode()  # the choice is offered
