"""In real headless Chromium, every path of the notice's intake workflow, each household from its lead:

1. H001: a red warning (child without guardian) → verified on site → the family declines, follow-up set;
2. H002: a red warning (disaster) → assisted dibao application → approved, the registry shows dibao;
   then, a complex case: referred to 医保局 and 教育局, each liaison answers → follow-up → closed;
3. H003: an emergency hotline call → temporary assistance paid first → paperwork completed in time;
   then a large amount → waits for the county's case-by-case approval (一事一议) → approved.

Screenshots of each inbox and case page go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import Actor, create_user
from safetynet.conftest import screen_small_county
from safetynet.leads import services as leads
from safetynet.leads.models import Channel, Lead
from safetynet.policies import services as policies
from safetynet.registry import services as registry

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"
TODAY = testing.FROZEN_NOW.date().isoformat()
LATER = (testing.FROZEN_NOW.date() + dt.timedelta(days=60)).isoformat()


@pytest.fixture
def cases(transactional_db, county_dir: Path, settings, tmp_path: Path) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts: the county screened, warnings turned into cases."""
    assert not registry.import_registry(county_dir).errors
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    screen_small_county(tmp_path)
    policies.seed_catalog("371522", by="test")
    create_user("town", PASSWORD, "township", "371522100000")  # 燕店镇: H001, H002
    create_user("county", PASSWORD, "county", "371522000000")
    create_user("yb", PASSWORD, "liaison", "371522000000", organisation="医保局")
    create_user("jy", PASSWORD, "liaison", "371522000000", organisation="教育局")
    hotline = create_user("hotline", PASSWORD, "hotline", "371522000000")
    leads.report(
        Actor(user=hotline, purpose="test"),
        leads.LeadInput(
            Channel.HOTLINE, "家中失火，无处居住", {"name": "刘强", "phone": "15055556666"}, urgent=True
        ),
    )
    found = {
        lead.household_id: lead.case_id
        for lead in Lead.objects.filter(household_id__in=["H001", "H002", "H003"]).order_by("id")
    }
    assert set(found) == {"H001", "H002", "H003"}, found
    return found  # type: ignore[return-value]


@pytest.fixture
def browser(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield chromium
    for context in chromium.contexts:
        context.close()


class Desk:
    """One person at their own browser (own cookies): signs in, opens a case, takes a step."""

    def __init__(self, browser, url: str, username: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.url, self.page = url, context.new_page()
        self.page.goto(f"{url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit].primary")
        self.page.wait_for_selector("nav")

    def open(self, case_id: int) -> None:
        self.page.goto(f"{self.url}/cases/{case_id}/")

    def step(self, action: str, **fields: str) -> None:
        form = f"[data-testid=action-{action}]"
        for name, value in fields.items():
            selector = f"{form} [name={name}]"
            if self.page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
                self.page.select_option(selector, value)
            else:
                self.page.fill(selector, value)
        self.page.click(f"{form} button[type=submit]")
        self.page.wait_for_selector("[data-testid=message]")
        message = self.page.inner_text("[data-testid=message]")
        assert message.startswith("已记录"), message

    def stage(self) -> str:
        return self.page.inner_text("[data-testid=stage]")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=testing.ARTIFACTS / f"paths-{name}.png", full_page=True)


def test_every_path_of_the_intake_workflow(live_server, cases, browser) -> None:  # type: ignore[no-untyped-def]
    town = Desk(browser, live_server.url, "town")
    town.page.goto(f"{live_server.url}/cases/inbox/")
    for household in ("H001", "H002"):
        assert household in town.page.inner_text("body")
    town.shot("township-inbox")

    # 1. A red warning, verified on site; the family declines and is followed up.
    town.open(cases["H001"])
    assert "数据比对预警" in town.page.inner_text("[data-testid=timeline]")
    visit = {"visited_on": TODAY, "monthly_income": "800", "monthly_expense": "200"}
    town.step("verify", situation="孙女由邻居照看，祖父外出务工", wants_help="no", **visit)
    town.step("decline", reason="祖父已返乡照顾，暂不申请", follow_up_on=LATER)
    assert town.stage() == "已结案" and LATER in town.page.inner_text("body")

    # 2. A red warning, assisted dibao application, approved: the registry shows it.
    town.open(cases["H002"])
    town.step(
        "verify", situation="独居老人，房屋受灾", wants_help="yes", **{**visit, "monthly_income": "300"}
    )
    assert "特困" in town.page.inner_text("[data-testid=assessment]")
    assert "高龄津贴" in town.page.inner_text("[data-testid=policies]")
    # The notification letter: what the form's button would download, fetched with the clerk's session.
    url = town.page.eval_on_selector(
        "[data-testid=policies] form", "f => f.action + '?' + new URLSearchParams(new FormData(f))"
    )
    letter = town.page.context.request.get(url)
    assert letter.ok and letter.body().startswith(b"%PDF") and "policy=" in url
    town.step("inform", policies="村里的邻里互助")
    assert "高龄津贴" in town.page.inner_text("[data-testid=timeline]")
    town.step("apply", program="dibao")
    assert town.stage() == "协助申请中"
    town.step("decide", approved="yes", monthly_amount="780")
    assert town.stage() == "帮扶中"
    town.page.click("a.mono")  # the household's registry page
    town.page.wait_for_selector("h1")
    assert "780" in town.page.inner_text("body") and "低保" in town.page.inner_text("body")
    town.shot("registry-after-dibao")

    # ... then a complex case: the county refers it to two departments, each answers.
    county = Desk(browser, live_server.url, "county")
    county.open(cases["H002"])
    county.step("refer", department="medical_insurance", request="住院费用大病保险再报销")
    county.step("refer", department="education", request="孙子学费减免")
    county.shot("case-referred")
    for liaison, answer in (("yb", "已再报销 3,200 元"), ("jy", "已减免学费并发放助学金")):
        desk = Desk(browser, live_server.url, liaison)
        desk.page.goto(f"{live_server.url}/cases/referrals/")
        desk.page.fill("input[name=answer]", answer)
        desk.shot(f"referral-{liaison}")
        desk.page.click("form.card button[type=submit]")
        assert "已答复" in desk.page.inner_text("[data-testid=message]")
        desk.page.close()
    town.open(cases["H002"])
    assert "已再报销" in town.page.inner_text("[data-testid=referrals]")
    town.step("follow_up", findings="医药费已报销，孙子正常上学", follow_up_on=LATER)
    town.step("close", reason="帮扶到位")
    assert town.stage() == "已结案"
    town.shot("case-closed-after-referrals")

    # 3. An emergency: paid first, paperwork completed in time; then a large amount for the county.
    county.open(cases["H003"])
    county.step("grant_first", amount="2000", reason="火灾后无处居住，先行救助")
    assert "paperwork" not in county.page.url and county.page.query_selector("[data-testid=paperwork]")
    county.step("complete_paperwork", reason="申请书与核查材料已补齐")
    assert county.page.query_selector("[data-testid=paperwork]") is None
    county.step("grant_first", amount="8000", reason="房屋重建需要大额临时救助")
    assert "8000" in county.page.inner_text("[data-testid=pending]")
    county.page.goto(f"{live_server.url}/cases/inbox/")
    assert str(cases["H003"]) in county.page.inner_text("[data-testid=section-approvals]")
    county.shot("county-inbox-approvals")
    county.open(cases["H003"])
    county.step("approve_amount", approved="yes", reason="经一事一议，同意救助 8000 元")
    assert county.page.query_selector("[data-testid=pending]") is None
    timeline = county.page.inner_text("[data-testid=timeline]")
    assert "先行救助" in timeline and "一事一议审批" in timeline and "补齐先行救助手续" in timeline
    county.shot("case-grant-first-and-case-by-case")
