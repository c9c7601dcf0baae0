"""Every workflow action through the API and the case page: scoped, audited, conflicts as 409."""

from __future__ import annotations

import pytest
from django.test import Client

from safetynet import testing
from safetynet.access.services import Actor
from safetynet.leads import services as leads
from safetynet.leads.models import Channel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
TODAY = testing.FROZEN_NOW.date().isoformat()


def test_case_steps_over_the_api_and_the_page(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = Actor(user=make_user("hotline", "hotline", "371522000000"), purpose="test")
    lead = leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"})
    )
    town = Client(enforce_csrf_checks=True)
    town.force_login(make_user("town", "township", "371522100000"))
    listed = town.get("/api/cases").json()
    assert [c["case_id"] for c in listed] == [lead.case_id] and listed[0]["next_actions"] == [
        "verify",
        "grant_first",
    ]
    town.get(f"/cases/{lead.case_id}/")  # sets the CSRF cookie
    token = town.cookies["csrftoken"].value
    url = f"/api/cases/{lead.case_id}/steps"
    visit = {
        "visited_on": TODAY,
        "situation": "祖孙二人",
        "monthly_income": "600",
        "monthly_expense": "300",
        "hardship": True,
        "wants_help": True,
    }

    def post(body: dict, csrf: bool = True):  # type: ignore[no-untyped-def]
        headers = {"HTTP_X_CSRFTOKEN": token} if csrf else {}
        return town.post(url, body, content_type="application/json", **headers)

    assert post({"action": "verify", "version": 0, "data": visit}, csrf=False).status_code == 403
    assert post({"action": "apply", "version": 0, "data": {"program": "dibao"}}).status_code == 422
    done = post({"action": "verify", "version": 0, "data": visit})
    assert done.status_code == 200 and done.json()["stage"] == "verified" and len(done.json()["steps"]) == 1
    stale = post({"action": "inform", "version": 0, "data": {"policies": "低保"}})
    assert stale.status_code == 409 and "他人" in stale.json()["detail"]
    page = town.get(f"/cases/{lead.case_id}/").content.decode()
    assert "主动告知政策" in page and "祖孙二人" in page
    form = town.post(
        f"/cases/{lead.case_id}/",
        {"action": "inform", "version": "1", "policies": "低保、教育救助", "csrfmiddlewaretoken": token},
    )
    assert form.status_code == 302
    assert town.get(f"/api/cases/{lead.case_id}").json()["stage"] == "informed"
    outsider = Client()
    outsider.force_login(make_user("guan", "township", "371522101000"))
    assert outsider.get(f"/api/cases/{lead.case_id}").status_code == 404
    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))
    assert ngo.get("/api/cases").status_code == 403 and ngo.get(f"/cases/{lead.case_id}/").status_code == 403
