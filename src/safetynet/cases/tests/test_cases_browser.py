"""In real headless Chromium: a township clerk verifies a household on site from a phone, and the person
declines help: the refusal is recorded with a follow-up date. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import Actor, create_user
from safetynet.leads import services as leads
from safetynet.leads.models import Channel
from safetynet.registry import services as registry

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def case_id(transactional_db, county_dir: Path) -> int:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    assert not registry.import_registry(county_dir).errors
    hotline = create_user("hotline", PASSWORD, "hotline", "371522000000")
    create_user("town", PASSWORD, "township", "371522100000")
    lead = leads.report(
        Actor(user=hotline, purpose="test"),
        leads.LeadInput(
            Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"}, urgent=True
        ),
    )
    assert lead.case_id
    return lead.case_id


@pytest.fixture
def phone(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    yield context.new_page()
    context.close()


def test_verification_on_a_phone_then_a_respected_refusal(live_server, case_id, phone) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "town")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/cases/")
    assert "紧急" in page.inner_text("[data-testid=cases]")
    page.click(f"[data-case='{case_id}'] a")
    form = "[data-testid=action-verify]"
    page.wait_for_selector(form)
    page.fill(f"{form} input[name=visited_on]", testing.FROZEN_NOW.date().isoformat())
    page.fill(f"{form} input[name=situation]", "祖孙二人，老人务农，孙女上初中")
    page.fill(f"{form} input[name=monthly_income]", "600")
    page.fill(f"{form} input[name=monthly_expense]", "abc")
    page.click(f"{form} button")
    assert "金额" in page.inner_text("[data-testid=message]")  # refused, with the reason; nothing saved
    page.fill(f"{form} input[name=visited_on]", testing.FROZEN_NOW.date().isoformat())
    page.fill(f"{form} input[name=situation]", "祖孙二人，老人务农，孙女上初中")
    page.fill(f"{form} input[name=monthly_income]", "600")
    page.fill(f"{form} input[name=monthly_expense]", "300")
    page.select_option(f"{form} select[name=wants_help]", "no")
    page.screenshot(path=testing.ARTIFACTS / "cases-verify-phone.png", full_page=True)
    page.click(f"{form} button")
    assert "已实地核实" in page.inner_text("[data-testid=stage]")
    decline = "[data-testid=action-decline]"
    page.fill(f"{decline} input[name=reason]", "老人表示暂不需要，子女会接济")
    page.fill(
        f"{decline} input[name=follow_up_on]", (testing.FROZEN_NOW.date() + dt.timedelta(days=30)).isoformat()
    )
    page.click(f"{decline} button")
    assert "已结案" in page.inner_text("[data-testid=stage]")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "子女会接济" in timeline and "热线来电" in timeline
    page.screenshot(path=testing.ARTIFACTS / "cases-declined-phone.png", full_page=True)
