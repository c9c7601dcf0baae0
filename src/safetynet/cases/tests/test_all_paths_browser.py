"""In real headless Chromium, every path of the notice's intake workflow, each household from its lead:

1. H001: a red warning (child without guardian) → verified on site, hardship found → the family declines,
   follow-up set;
2. H002: a red warning (disaster) → the village coordinator verifies, informs and helps apply for dibao →
   the township reviews (审核; an amount above the household's gap refused) → the county confirms (确认,
   a different person) → the registry shows dibao; then, a complex case: referred to 医保局 and 教育局,
   each liaison answers → follow-up → closed;
3. H003: an emergency hotline call → temporary assistance paid first by the township → its paperwork
   confirmed by another clerk (not by the one who paid); then a large amount → waits for the county's
   case-by-case approval (一事一议) → approved.

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
    # H002's tekun ended last month, so her path is a new dibao (tekun and dibao are not paid together).
    from safetynet.registry.models import Assistance

    ended = testing.FROZEN_NOW.date() - dt.timedelta(days=30)
    Assistance.objects.filter(household_id="H002", program="tekun").update(status="ended", end_date=ended)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    screen_small_county(tmp_path)
    policies.seed_catalog("371522", by="test")
    create_user("town", PASSWORD, "township", "371522100000")  # 燕店镇: H001, H002
    create_user("xili", PASSWORD, "coordinator", "371522100202")  # 西李村: H002
    create_user("gc", PASSWORD, "township", "371522101000")  # 观城镇: H003
    create_user("gc2", PASSWORD, "township", "371522101000")  # a second clerk of 观城镇
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

    def __init__(self, browser, url: str, username: str, phone: bool = False):  # type: ignore[no-untyped-def]
        if phone:  # a coordinator in the field
            context = browser.new_context(
                locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True
            )
        else:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.url, self.page = url, context.new_page()
        self.page.goto(f"{url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit].primary")
        self.page.wait_for_selector("nav")

    def open(self, case_id: int) -> None:
        self.page.goto(f"{self.url}/cases/{case_id}/")

    def offered(self) -> set[str]:
        """The actions the case page offers this person, as forms."""
        found = self.page.eval_on_selector_all(
            "form[data-testid^=action-]", "fs => fs.map(f => f.dataset.testid)"
        )
        return {name.removeprefix("action-") for name in found}

    def submit(self, action: str, **fields: str | list[str]) -> int:
        """Fill the action's form as a person would (selects, checkboxes, text) and send it; the status."""
        form = f"[data-testid=action-{action}]"
        for name, value in fields.items():
            selector = f"{form} [name={name}]"
            if isinstance(value, list):
                for box in value:
                    self.page.check(f"{selector}[value={box}]")
            elif self.page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
                self.page.select_option(selector, value)
            else:
                self.page.fill(selector, value)
        with self.page.expect_navigation() as sent:
            self.page.click(f"{form} button[type=submit]")
        assert sent.value is not None
        if self.page.locator(f"{form} [data-testid=confirm]").count():
            # a step that closes the case is asked again, saying what will happen, with the input kept
            self.page.screenshot(path=testing.ARTIFACTS / f"confirm-{action}.png", full_page=True)
            with self.page.expect_navigation() as sent:
                self.page.click(f"{form} [data-testid=confirm-{action}]")
            assert sent.value is not None
        return sent.value.status

    def step(self, action: str, **fields: str | list[str]) -> None:
        status = self.submit(action, **fields)
        message = self.page.inner_text("[data-testid=message] >> nth=0")
        assert status == 200 and message.startswith("已记录"), (status, message)

    def refused(self, action: str, **fields: str | list[str]) -> str:
        """Send a form the server refuses: 422, the case unchanged, the form back with what was typed."""
        stage = self.stage()
        assert self.submit(action, **fields) == 422
        assert self.stage() == stage
        return self.page.inner_text("[data-testid=message] >> nth=0")

    def field_error(self, action: str, name: str) -> str:
        """The reason shown beside one field of a refused form."""
        label = self.page.locator(
            f"[data-testid=action-{action}] label.invalid", has=self.page.locator(f"[name={name}]")
        )
        return label.locator("span.error").inner_text()

    def stage(self) -> str:
        return self.page.inner_text("[data-testid=stage]")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=testing.ARTIFACTS / f"paths-{name}.png", full_page=True)


NEVER_IN_A_VILLAGE = {
    "review",
    "decide",
    "grant_first",
    "complete_paperwork",
    "approve_amount",
    "close",
    "refer",
}


def test_every_path_of_the_intake_workflow(live_server, cases, browser) -> None:  # type: ignore[no-untyped-def]
    town = Desk(browser, live_server.url, "town")
    town.page.goto(f"{live_server.url}/cases/inbox/")
    for household in ("H001", "H002"):
        assert household in town.page.inner_text("body")
    town.shot("township-inbox")

    # 1. A red warning, verified on site: hardship found, but the family declines and is followed up.
    town.open(cases["H001"])
    assert "数据比对预警" in town.page.inner_text("[data-testid=timeline]")
    visit = {"visited_on": TODAY, "hardship": "yes", "monthly_income": "800", "monthly_expense": "200"}
    town.step("verify", situation="孙女由邻居照看，祖父外出务工", wants_help="no", **visit)
    assert town.stage() == "已实地核实"
    town.step("decline", reason="祖父已返乡照顾，暂不申请", follow_up_on=LATER)
    assert town.stage() == "已结案" and LATER in town.page.inner_text("body")
    assert "本人自愿放弃" in town.page.inner_text("main")

    # 2. A red warning: the village coordinator visits, tells the policies and helps apply for dibao.
    village = Desk(browser, live_server.url, "xili", phone=True)
    village.open(cases["H002"])
    assert not village.offered() & NEVER_IN_A_VILLAGE
    village.step(
        "verify", situation="独居老人，房屋受灾", wants_help="yes", **{**visit, "monthly_income": "300"}
    )
    assert village.stage() == "已实地核实"
    village.shot("coordinator-verified-phone")
    assert "特困" in village.page.inner_text("[data-testid=assessment]")
    assert "300" in village.page.inner_text("[data-testid=facts-income]")  # the visit's income counts now
    assert "高龄津贴" in village.page.inner_text("[data-testid=policies]")
    # The notification letter: what the form's button would download, fetched with the coordinator's session.
    url = village.page.eval_on_selector(
        "[data-testid=policies] form", "f => f.action + '?' + new URLSearchParams(new FormData(f))"
    )
    assert f"/cases/{cases['H002']}/letter/?" in url and "policy=elderly_allowance" in url
    letter = village.page.context.request.get(url)
    assert letter.ok and letter.body().startswith(b"%PDF")
    village.step("inform", policy_codes=["elderly_allowance"], policies="村里的邻里互助")
    assert village.stage() == "已告知政策"
    timeline = village.page.inner_text("[data-testid=timeline]")
    assert "高龄津贴" in timeline and "村里的邻里互助" in timeline
    village.step("apply", program="dibao")
    assert village.stage() == "协助申请中"
    assert not village.offered() & NEVER_IN_A_VILLAGE  # the coordinator never reviews nor decides
    village.shot("coordinator-applied-phone")

    # ... the township reviews (审核): more than the household's gap is refused, beside the amount.
    town.open(cases["H002"])
    assert "decide" not in town.offered()  # this county has not delegated 确认 to townships
    message = town.refused("review", approved="yes", monthly_amount="780", reason="独居高龄，收入低于标准")
    reason = town.field_error("review", "monthly_amount")
    assert "（低保标准 780" in reason and "人均收入 300" in reason and "480" in reason, reason
    assert "480" in message
    assert town.page.input_value("[data-testid=action-review] [name=reason]") == "独居高龄，收入低于标准"
    town.shot("review-refused")
    town.step("review", monthly_amount="480")
    assert town.stage() == "已审核待确认"
    assert "decide" not in town.offered()

    # ... and the county confirms (确认), a different person from the one who reviewed.
    county = Desk(browser, live_server.url, "county")
    county.page.goto(f"{live_server.url}/cases/inbox/")
    county.page.click(f"[data-testid=section-confirm] [data-case='{cases['H002']}'] a")
    county.page.wait_for_selector("[data-testid=stage]")
    assert county.stage() == "已审核待确认"
    assert "decide" in county.offered()
    county.step("decide", approved="yes", monthly_amount="480", reason="同意审核意见")
    assert county.stage() == "帮扶中"
    timeline = county.page.inner_text("[data-testid=timeline]")
    assert "审核 → 已审核待确认\ttown" in timeline and "审批确认 → 帮扶中\tcounty" in timeline
    county.page.click("a.mono")  # the household's registry page
    county.page.wait_for_selector("h1")
    assert "480" in county.page.inner_text("body") and "低保" in county.page.inner_text("body")
    county.shot("registry-after-dibao")

    # ... then a complex case: the county refers it to two departments, each answers.
    county.open(cases["H002"])
    county.step("refer", department="medical_insurance", request="住院费用大病保险再报销")
    county.step("refer", department="education", request="孙子学费减免")
    county.shot("case-referred")
    for liaison, answer in (("yb", "已再报销 3,200 元\n大病保险二次报销已到账"), ("jy", "已减免学费并发放助学金")):
        desk = Desk(browser, live_server.url, liaison)
        desk.page.goto(f"{live_server.url}/cases/referrals/")
        desk.page.fill("textarea[name=answer]", answer)
        desk.shot(f"referral-{liaison}")
        desk.page.click("form.card button[type=submit]")
        assert "已答复" in desk.page.inner_text("[data-testid=message]")
        # the answer stays in the liaison's history, every line of it
        history = desk.page.inner_text("section.card[data-testid^=answered-]")
        assert all(line in history for line in answer.splitlines()), history
        assert desk.page.locator("nav .count").count() == 0  # nothing waits now: the menu says so at once
        desk.shot(f"referral-{liaison}-history")
        desk.page.close()
    town.open(cases["H002"])
    assert "已再报销" in town.page.inner_text("[data-testid=referrals]")
    town.step("follow_up", findings="医药费已报销，孙子正常上学", follow_up_on=LATER)
    town.step("close", reason="帮扶到位")
    assert town.stage() == "已结案"
    town.shot("case-closed-after-referrals")

    # 3. An emergency: the township pays first; another clerk, not the payer, confirms the paperwork.
    payer = Desk(browser, live_server.url, "gc")
    payer.open(cases["H003"])
    payer.step("grant_first", amount="2000", reason="火灾后无处居住，先行救助")
    assert payer.page.query_selector("[data-testid=paperwork]")
    assert "complete_paperwork" not in payer.offered()  # the payer never confirms their own payment
    assert payer.page.query_selector("[data-testid=paperwork]")
    payer.shot("paperwork-not-offered-to-payer")
    colleague = Desk(browser, live_server.url, "gc2")
    colleague.page.goto(f"{live_server.url}/cases/inbox/")
    colleague.page.click(f"[data-testid=section-paperwork] [data-case='{cases['H003']}'] a")
    colleague.page.wait_for_selector("[data-testid=paperwork]")
    colleague.step("complete_paperwork", reason="申请书与核查材料已补齐")
    assert colleague.page.query_selector("[data-testid=paperwork]") is None
    # ... then a large amount, above the township's cap: it waits for the county's 一事一议.
    payer.open(cases["H003"])
    payer.step("grant_first", amount="8000", reason="房屋重建需要大额临时救助")
    assert "8000" in payer.page.inner_text("[data-testid=pending]")
    assert "approve_amount" not in payer.offered()
    county.page.goto(f"{live_server.url}/cases/inbox/")
    assert f"#{cases['H003']}" in county.page.inner_text("[data-testid=section-approvals]")
    county.shot("county-inbox-approvals")
    county.open(cases["H003"])
    county.step("approve_amount", approved="yes", reason="经一事一议，同意救助 8000 元")
    assert county.page.query_selector("[data-testid=pending]") is None
    timeline = county.page.inner_text("[data-testid=timeline]")
    assert "先行救助" in timeline and "一事一议审批" in timeline and "确认先行救助手续" in timeline
    assert "重复救助提示" in timeline  # the second payment within the window is flagged for the record
    county.shot("case-grant-first-and-case-by-case")
