"""A county administrator sets the county's working-day limits and cap; new deadlines follow them."""

from __future__ import annotations

import pytest
from django.test import Client

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cases import workdays
from safetynet.cases.models import CountySettings, DeadlinePolicy
from safetynet.leads import services as leads
from safetynet.leads.models import Channel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
DAYS = {
    "verify_urgent": "1",
    "verify": "3",
    "inform_and_apply": "4",
    "dibao_decision": "20",
    "dibao_extension": "10",
    "grant_first_paperwork": "5",
    "referral_answer": "7",
    "escalate_to_county": "2",
    "amount_rounding": "1",
    "repeat_window_days": "90",
    "township_decides": "no",
}


def test_the_county_administrator_sets_deadlines_and_the_cap(county, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(make_user("admin", "county_admin", "371522000000"))
    page = admin.get("/cases/settings/")
    assert page.status_code == 200 and "低保审批决定" in page.content.decode()
    token = admin.cookies["csrftoken"].value
    bad = [
        ({**DAYS, "verify": "0"}, "大于或等于1"),
        ({**DAYS, "verify": "61"}, "小于或等于60"),
        ({**DAYS, "verify": "'; DROP TABLE cases_case; --"}, "整数"),
        ({**DAYS, "verify": "-3"}, "大于或等于1"),
        ({**DAYS, "amount_rounding": "7"}, "有效的选项"),
        ({**DAYS, "township_decides": "maybe"}, "有效的选项"),
    ]
    for form, reason in bad:
        response = admin.post(
            "/cases/settings/", {**form, "temporary_cap": "3000", "csrfmiddlewaretoken": token}, follow=True
        )
        body = response.content.decode()
        assert reason in body and "'; DROP" not in body.split("<form")[0], form
        # A refused form keeps what was typed.
        assert f'value="{form["verify"]}"' in body or "DROP" in form["verify"], form
    for cap in ("0", "abc", "1e400", "-5"):
        response = admin.post(
            "/cases/settings/", {**DAYS, "temporary_cap": cap, "csrfmiddlewaretoken": token}, follow=True
        )
        assert 'class="error"' in response.content.decode(), cap
    assert not DeadlinePolicy.objects.exists() and not CountySettings.objects.exists()  # all or nothing
    assert (
        admin.post("/cases/settings/", {**DAYS, "temporary_cap": "5000"}).status_code == 403
    )  # no CSRF token
    done = admin.post(
        "/cases/settings/", {**DAYS, "temporary_cap": "5000", "csrfmiddlewaretoken": token}, follow=True
    )
    assert "已保存" in done.content.decode()
    assert DeadlinePolicy.objects.get(county_code="371522", step="verify").working_days == 3
    assert str(CountySettings.objects.get(county_code="371522").temporary_cap) == "5000.00"
    assert AuditEntry.objects.filter(action="case_settings", username="admin").count() == 1
    hotline = Actor(user=make_user("hotline", "hotline", "371522000000"), purpose="test")
    lead = leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "求助", {"name": "王建国", "phone": "13812345678"})
    )
    assert lead.case is not None
    assert (
        lead.case.due_on == workdays.add_working_days(testing.FROZEN_NOW.date(), 3)[0]
    )  # the county's 3, not 5


def test_only_a_county_administrator_may_see_or_change_them(county, make_user) -> None:  # type: ignore[no-untyped-def]
    for name, role, region in (
        ("county", "county", "371522000000"),
        ("town", "township", "371522100000"),
        ("ngo", "social_org", "371522000000"),
        ("yb", "liaison", "371522000000"),
    ):
        client = Client()
        client.force_login(make_user(name, role, region))
        assert client.get("/cases/settings/").status_code == 403, role
        assert client.post("/cases/settings/", {**DAYS, "temporary_cap": "1"}).status_code == 403, role
    assert not DeadlinePolicy.objects.exists()
