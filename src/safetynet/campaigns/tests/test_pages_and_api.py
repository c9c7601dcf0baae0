"""Campaign pages and API: the declaration form, progress, the visit list, CSRF, and who gets a 403."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from safetynet.access.services import Actor
from safetynet.campaigns import services
from safetynet.campaigns.models import Campaign, VisitTask
from safetynet.leads.models import Lead

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

COUNTY, YANDIAN, DONGWANG = "371522000000", "371522100000", "371522100201"


def _client(make_user, name: str, role: str, region: str, csrf: bool = False) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name, role, region))
    return client


def _campaign(make_user) -> Campaign:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    return services.declare(
        Actor(user=make_user("county", "county", COUNTY), purpose="test"),
        name="暴雨灾后排查",
        kind="disaster",
        region_codes=[COUNTY],
        starts_on=today,
        ends_on=today + dt.timedelta(days=10),
        target_groups=["all"],
    )


def _form(**changes: object) -> dict[str, object]:
    today = timezone.localdate()
    data: dict[str, object] = {
        "name": "疫情期间独居老人排查",
        "kind": "epidemic",
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=7)).isoformat(),
        "region_codes": [YANDIAN],
        "target_groups": ["elderly_alone", "disabled"],
    }
    data.update(changes)
    return data


def test_a_township_declares_from_the_form(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    town = _client(make_user, "yandian", "township", YANDIAN)
    page = town.get("/campaigns/new/").content.decode()
    assert 'value="371522100201"' in page and 'value="371522101201"' not in page  # only its own villages
    response = town.post("/campaigns/new/", _form())
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert list(campaign.tasks.values_list("household_id", flat=True)) == ["H002"]
    page = town.get(response["Location"]).content.decode()
    assert "已发起排查，共 1 户待走访" in page and "西李村" in page and "张桂兰" not in page
    listing = town.get("/campaigns/").content.decode()
    assert "疫情期间独居老人排查" in listing and 'value="0.0"' in listing  # a progress bar at 0 %, one decimal


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region_codes": ["371522101000"]}, "不在您的辖区内"),
        ({"target_groups": []}, "请至少选择一类排查对象"),
        ({"ends_on": "2000-01-01"}, "结束日期不能早于开始日期"),
        ({"name": "<script>alert(1)</script>"}, "不能包含"),
        ({"name": "名" * 300}, "100 字以内"),
    ],
)
def test_the_form_shows_errors_in_chinese_and_saves_nothing(county, make_user, changes, message) -> None:  # type: ignore[no-untyped-def]
    town = _client(make_user, "yandian", "township", YANDIAN)
    response = town.post("/campaigns/new/", _form(**changes))
    body = response.content.decode()
    assert response.status_code == 422 and message in body
    assert "<script>alert(1)</script>" not in body  # echoed back escaped, never as markup
    assert not Campaign.objects.exists() and not VisitTask.objects.exists()


def test_forms_need_the_csrf_token(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    town = _client(make_user, "yandian", "township", YANDIAN, csrf=True)
    assert town.post("/campaigns/new/", _form()).status_code == 403
    assert Campaign.objects.count() == 1
    coordinator = _client(make_user, "dongwang", "coordinator", DONGWANG, csrf=True)
    task = campaign.tasks.get(household_id="H001")
    url = f"/campaigns/{campaign.pk}/tasks/"
    visit = {"task_id": task.pk, "outcome": "hardship", "findings": "口粮不足"}
    assert coordinator.post(url, visit).status_code == 403
    task.refresh_from_db()
    assert task.status == "pending" and not Lead.objects.exists()
    page = coordinator.get(url).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    token = coordinator.cookies["csrftoken"].value
    assert coordinator.post(url, {**visit, "csrfmiddlewaretoken": token}).status_code == 302
    task.refresh_from_db()
    assert task.status == "hardship" and Lead.objects.count() == 1
    town.get("/campaigns/new/")
    token = town.cookies["csrftoken"].value
    assert town.post("/campaigns/new/", {**_form(), "csrfmiddlewaretoken": token}).status_code == 302
    assert Campaign.objects.count() == 2


def test_the_visit_list_on_a_phone(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    coordinator = _client(make_user, "dongwang", "coordinator", DONGWANG)
    url = f"/campaigns/{campaign.pk}/tasks/"
    page = coordinator.get(url).content.decode()
    assert "王建国" in page and "138****5678" in page and "13812345678" not in page
    assert "张桂兰" not in page and "刘强" not in page
    task = campaign.tasks.get(household_id="H001")
    hostile = "<script>alert(1)</script> 房屋倒塌"
    response = coordinator.post(
        url, {"task_id": task.pk, "outcome": "hardship", "findings": hostile, "urgent": "on"}
    )
    assert response.status_code == 302
    page = coordinator.get(url).content.decode()
    assert "已记录走访结果" in page and "&lt;script&gt;alert(1)&lt;/script&gt; 房屋倒塌" in page
    assert "<script>alert(1)" not in page
    again = coordinator.post(
        url, {"task_id": task.pk, "outcome": "no_hardship"}, follow=True
    ).content.decode()
    assert "不能重复记录" in again
    other = campaign.tasks.get(household_id="H002")
    assert coordinator.post(url, {"task_id": other.pk, "outcome": "no_hardship"}).status_code == 403
    other.refresh_from_db()
    assert other.status == "pending"


def test_progress_page_marks_late_villages_red(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    services.record_visit(
        Actor(user=make_user("dongwang", "coordinator", DONGWANG), purpose="test"),
        campaign.tasks.get(household_id="H001").pk,
        "no_hardship",
    )
    today = timezone.localdate()
    Campaign.objects.filter(pk=campaign.pk).update(
        starts_on=today - dt.timedelta(days=30), ends_on=today - dt.timedelta(days=1)
    )
    leader = _client(make_user, "leader", "leader", "371500000000")
    page = leader.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-testid="overdue"' in page
    assert 'data-village="371522100201">' in page  # done: not late
    assert (
        'data-village="371522100202" class="late"' in page
        and 'data-village="371522101201" class="late"' in page
    )
    assert "王建国" not in page and "H001" not in page  # aggregate only
    assert leader.get(f"/campaigns/{campaign.pk}/tasks/").status_code == 403
    assert 'class="late"' in leader.get("/campaigns/").content.decode()


def test_pages_refuse_other_roles(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    for role in ("social_org", "hotline", "liaison", "auditor"):
        client = _client(make_user, role, role, COUNTY)
        for url in (
            "/campaigns/",
            "/campaigns/new/",
            f"/campaigns/{campaign.pk}/",
            f"/campaigns/{campaign.pk}/tasks/",
        ):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert "王建国" not in response.content.decode()
    coordinator = _client(make_user, "dongwang", "coordinator", DONGWANG)
    assert coordinator.get("/campaigns/new/").status_code == 403
    assert coordinator.post("/campaigns/new/", _form()).status_code == 403


# -- API ------------------------------------------------------------------------------------------


def _json(client: Client, method: str, url: str, body: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    if method == "post":
        return client.post(url, json.dumps(body or {}), content_type="application/json")
    return client.get(url)


def test_api_declare_progress_tasks_and_visit(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    town = _client(make_user, "yandian", "township", YANDIAN)
    body = {**_form(), "target_groups": ["all"]}
    response = _json(town, "post", "/api/campaigns", body)
    assert response.status_code == 201, response.content
    created = response.json()
    campaign_id = created["campaign_id"]
    assert created["progress"]["total"] == 2 and [v["region_code"] for v in created["villages"]] == [
        "371522100201",
        "371522100202",
    ]
    assert [c["campaign_id"] for c in _json(town, "get", "/api/campaigns").json()] == [campaign_id]
    tasks = _json(town, "get", f"/api/campaigns/{campaign_id}/tasks").json()
    assert [t["household_id"] for t in tasks] == ["H001", "H002"]
    h001 = tasks[0]["task_id"]
    visit = _json(
        town, "post", f"/api/campaigns/tasks/{h001}/visit", {"outcome": "hardship", "findings": "缺粮"}
    )
    assert visit.status_code == 200 and visit.json()["status"] == "hardship" and visit.json()["case_id"]
    again = _json(town, "post", f"/api/campaigns/tasks/{h001}/visit", {"outcome": "no_hardship"})
    assert again.status_code == 409 and "不能重复记录" in again.json()["detail"]
    bad = _json(town, "post", f"/api/campaigns/tasks/{tasks[1]['task_id']}/visit", {"outcome": "hardship"})
    assert bad.status_code == 422 and "请填写困难情况" in bad.json()["detail"]
    progress = _json(town, "get", f"/api/campaigns/{campaign_id}").json()
    assert (
        progress["progress"]["visited"],
        progress["progress"]["hardship"],
        progress["progress"]["percent"],
    ) == (
        1,
        1,
        50,
    )
    refused = _json(town, "post", "/api/campaigns", {**body, "region_codes": ["371522101201"]})
    assert refused.status_code == 422 and "不在您的辖区内" in refused.json()["detail"]
    assert _json(town, "get", "/api/campaigns/999999").status_code == 404
    assert Campaign.objects.count() == 1


def test_api_refuses_a_social_organisation_on_every_route(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    task = campaign.tasks.get(household_id="H001")
    ngo = _client(make_user, "ngo", "social_org", COUNTY)
    calls = [
        ("get", "/api/campaigns", None),
        ("post", "/api/campaigns", {**_form(), "region_codes": [COUNTY]}),
        ("get", f"/api/campaigns/{campaign.pk}", None),
        ("get", f"/api/campaigns/{campaign.pk}/tasks", None),
        ("post", f"/api/campaigns/tasks/{task.pk}/visit", {"outcome": "hardship", "findings": "x"}),
    ]
    for method, url, body in calls:
        response = _json(ngo, method, url, body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "王建国" not in response.content.decode()
    task.refresh_from_db()
    assert task.status == "pending" and Campaign.objects.count() == 1


def test_api_needs_csrf_for_a_session(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _campaign(make_user)
    coordinator = _client(make_user, "dongwang", "coordinator", DONGWANG, csrf=True)
    task = campaign.tasks.get(household_id="H001")
    response = _json(coordinator, "post", f"/api/campaigns/tasks/{task.pk}/visit", {"outcome": "no_hardship"})
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.status == "pending"
