"""In real headless Chromium: a township declares a campaign after a storm, its first try refused in Chinese;
the village coordinator records a hardship on a phone; the progress page shows it. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.registry import services as registry

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def prepared(transactional_db, county_dir: Path, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py). A campaign chooses its
    households from the household facts, which only a live screening run computes."""
    assert not registry.import_registry(county_dir).errors
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    testing.compute_facts()
    create_user("town", PASSWORD, "township", "371522100000")  # 燕店镇
    create_user("coord", PASSWORD, "coordinator", "371522100201")  # 东王村


@pytest.fixture
def desk(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    yield context.new_page()
    context.close()


def login(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_declare_visit_on_a_phone_and_see_progress(live_server, prepared, desk, phone) -> None:  # type: ignore[no-untyped-def]
    today = testing.FROZEN_NOW.date()
    login(desk, live_server.url, "town")
    desk.goto(f"{live_server.url}/campaigns/")
    desk.click("[data-testid=declare]")
    form = "[data-testid=declare-form]"
    desk.fill(f"{form} input[name=name]", "7·20 暴雨灾后集中排查")
    desk.select_option(f"{form} select[name=kind]", "disaster")
    desk.fill(f"{form} input[name=starts_on]", today.isoformat())
    desk.fill(f"{form} input[name=ends_on]", (today - dt.timedelta(days=3)).isoformat())
    desk.check(f"{form} input[value=low_income]")
    desk.check(f"{form} input[value=elderly_alone]")
    desk.select_option(f"{form} select[name=region_codes]", ["371522100201", "371522100202"])
    desk.click(f"{form} button[type=submit]")
    assert "结束日期不能早于开始日期" in desk.inner_text("[data-testid=error]")  # refused; the form kept
    assert desk.input_value(f"{form} input[name=name]") == "7·20 暴雨灾后集中排查"
    desk.fill(f"{form} input[name=ends_on]", (today + dt.timedelta(days=10)).isoformat())
    desk.screenshot(path=testing.ARTIFACTS / "campaigns-declare.png", full_page=True)
    desk.click(f"{form} button[type=submit]")
    desk.wait_for_selector("[data-testid=progress]")
    assert "共 2 户待走访" in desk.inner_text("[data-testid=message]")
    progress_url = desk.url

    page = phone
    login(page, live_server.url, "coord")
    page.goto(f"{live_server.url}/campaigns/")
    page.click("text=走访清单")
    visit = "[data-testid=visit-H001]"
    page.wait_for_selector(visit)
    cards = page.inner_text("main")
    assert "王建国" in cards and "138****5678" in cards and "张桂兰" not in cards  # own village only, masked
    page.click(f"{visit} button[type=submit]")  # no outcome chosen: the browser asks for one, nothing sent
    assert page.locator(visit).count() == 1
    page.check(f"{visit} input[value=hardship]")
    page.fill(f"{visit} textarea[name=findings]", "房屋进水，老两口口粮不足，孙女开学缺学费")
    page.check(f"{visit} input[name=urgent]")
    page.screenshot(path=testing.ARTIFACTS / "campaigns-visit-phone.png", full_page=True)
    page.click(f"{visit} button[type=submit]")
    page.wait_for_selector("[data-testid=done]")
    assert "已记录走访结果" in page.inner_text("[data-testid=message]")
    done = page.inner_text("[data-testid=done]")
    assert "发现困难" in done and "口粮不足" in done and "紧急" in done
    assert page.locator("[data-testid=none-pending]").count() == 1
    page.screenshot(path=testing.ARTIFACTS / "campaigns-visited-phone.png", full_page=True)

    desk.goto(progress_url)
    row = desk.inner_text("[data-village='371522100201']")
    assert "东王村" in row and "100.0%" in row
    assert "0.0%" in desk.inner_text("[data-village='371522100202']")
    assert "1 / 2（50.0%）" in desk.inner_text("[data-testid=total]")
    desk.screenshot(path=testing.ARTIFACTS / "campaigns-progress.png", full_page=True)
