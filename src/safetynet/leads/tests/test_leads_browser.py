"""In real headless Chromium: a hotline operator records a call with live suggestions and lands on the
lead; a social organisation reports one and sees only its status; the township's inbox shows both, the
unidentified one included. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.registry import services as registry

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def prepared(transactional_db, county_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    assert not registry.import_registry(county_dir).errors
    create_user("hotline", PASSWORD, "hotline", "371522000000")
    create_user("ngo", PASSWORD, "social_org", "371522000000")
    create_user("town", PASSWORD, "township", "371522101000")  # 观城镇


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def login(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_hotline_ngo_and_township(live_server, prepared, page) -> None:  # type: ignore[no-untyped-def]
    login(page, live_server.url, "hotline")
    page.click("nav >> text=线索")
    page.click("text=报告线索")
    page.wait_for_selector("[data-testid=report]")
    page.fill("[data-testid=report] input[name=name]", "柳强")
    page.fill("[data-testid=report] input[name=phone]", "150-5555-6666")
    page.wait_for_selector("[data-testid=candidates] tbody tr")
    assert "刘强" in page.inner_text("[data-testid=candidates]")
    page.fill("[data-testid=report] textarea[name=summary]", "妻子住院，家里没有收入，孩子上学困难")
    page.check("[data-testid=report] input[name=urgent]")
    page.screenshot(path=testing.ARTIFACTS / "leads-report.png", full_page=True)
    page.click("[data-testid=report] button[type=submit]")
    page.wait_for_selector("[data-testid=lead]")
    assert "已受理" in page.inner_text("[data-testid=message]")
    assert "H003" in page.inner_text("[data-testid=lead]") and "南张村" in page.inner_text(
        "[data-testid=lead]"
    )

    # A son calls 12345 about his mother: her name misheard, his own phone: the operator picks her among
    # the candidates, and the lead carries the caller and the ticket.
    page.goto(f"{live_server.url}/leads/new/")
    page.fill("[data-testid=report] input[name=name]", "张贵兰")
    page.fill("[data-testid=report] input[name=address_text]", "燕店镇西李村")
    page.wait_for_selector("[data-testid=candidates] tbody tr")
    row = page.locator("[data-testid=candidates] tbody tr", has_text="张桂兰").first
    row.locator("[data-testid=choose]").click()
    assert "已选择：张桂兰" in page.inner_text("[data-testid=chosen]")
    page.fill("[data-testid=caller] input[name=caller_name]", "李强（儿子）")
    page.fill("[data-testid=caller] input[name=caller_phone]", "139 1234 0000")
    page.fill("[data-testid=caller] input[name=ticket]", "12345-20260615-0042")
    page.fill("[data-testid=report] textarea[name=summary]", "母亲独居，近来行动不便，无人照料")
    page.screenshot(path=testing.ARTIFACTS / "leads-hotline-chosen.png", full_page=True)
    page.click("[data-testid=report] button[type=submit]")
    page.wait_for_selector("[data-testid=lead]")
    lead = page.inner_text("[data-testid=lead]")
    assert "H002" in lead and "李强（儿子）" in lead and "12345-20260615-0042" in lead and "来电号码" in lead

    login(page, live_server.url, "ngo")
    page.click("nav >> text=报告线索")
    page.fill("[data-testid=report] input[name=reporter_name]", "阳光社工站")
    page.fill("[data-testid=report] input[name=name]", "无名老人")
    page.fill("[data-testid=report] input[name=address_text]", "观城镇")
    page.fill("[data-testid=report] textarea[name=summary]", "<b>独居老人</b>，腿脚不便")
    assert not page.is_visible("[data-testid=candidates]")
    page.click("[data-testid=report] button[type=submit]")
    page.wait_for_selector("[data-testid=mine]")
    mine = page.inner_text("[data-testid=mine]")
    assert "已受理" in mine and "<b>独居老人</b>" in mine  # shown as typed, not as markup
    assert "H00" not in page.content()
    page.screenshot(path=testing.ARTIFACTS / "leads-ngo.png", full_page=True)

    login(page, live_server.url, "town")
    page.goto(f"{live_server.url}/leads/")
    rows = page.inner_text("[data-testid=leads]")
    assert "热线来电" in rows and "社会组织报告" in rows and "身份未明" in rows and "紧急" in rows
    page.screenshot(path=testing.ARTIFACTS / "leads-inbox.png", full_page=True)

    # The township triages the organisation's lead (nobody knows who the old man is) to a village to check:
    # it leaves 待分派 at once, and the village it went to shows in the list.
    page.goto(f"{live_server.url}/cases/inbox/")
    triage = page.inner_text("[data-testid=section-triage]")
    assert "独居老人" in triage
    page.select_option("[data-testid=triage] select[name=region_code]", label="南张村")
    page.screenshot(path=testing.ARTIFACTS / "leads-triage.png", full_page=True)
    with page.expect_navigation():
        page.click("[data-testid=triage] button[type=submit]")
    assert "已分派" in page.inner_text("[data-testid=message]")
    assert "独居老人" not in page.inner_text("main")  # out of the triage section
    page.goto(f"{live_server.url}/leads/?q=&unidentified=1")
    assert "南张村" in page.inner_text("[data-testid=leads]")
