"""In real headless Chromium: a county administrator opens the policy catalog, adds a policy whose condition
is malformed (refused in Chinese, nothing saved), then a correct one. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.policies import services
from safetynet.registry import services as registry

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def seeded(transactional_db, county_dir: Path) -> int:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    assert not registry.import_registry(county_dir).errors
    create_user("admin", PASSWORD, "county_admin", "371522000000")
    return services.seed_catalog("371522")


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def test_county_admin_adds_a_policy_after_a_refused_condition(live_server, seeded, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/policies/")
    catalog = page.inner_text("[data-testid=policies]")
    assert "最低生活保障" in catalog and "重度残疾人护理补贴" in catalog and "残联" in catalog
    page.screenshot(path=testing.ARTIFACTS / "policies-catalog.png", full_page=True)

    page.click("[data-testid=new-policy]")
    form = "[data-testid=policy-form]"
    page.fill(f"{form} input[name=code]", "heating")
    page.fill(f"{form} input[name=title]", "冬季取暖补贴")
    page.select_option(f"{form} select[name=department]", "civil_affairs")
    page.fill(f"{form} textarea[name=summary]", "冬季对困难老人发放取暖补贴。")
    rows = page.locator(f"{form} [data-testid=conditions] tbody tr")
    rows.nth(0).locator("select[name=fact]").select_option("income_ratio")
    rows.nth(0).locator("select[name=op]").select_option("<=")
    rows.nth(0).locator("input[name=value]").fill("一倍半")  # not a number
    rows.nth(1).locator("select[name=fact]").select_option("has_elderly_60")
    rows.nth(1).locator("select[name=op]").select_option("==")
    rows.nth(1).locator("input[name=value]").fill("是")
    page.fill(f"{form} textarea[name=how_to_apply]", "向乡镇（街道）提出")
    page.fill(f"{form} input[name=contacts]", "县民政局社会救助股")
    page.click(f"{form} button[type=submit]")
    error = page.inner_text("[data-testid=errors]")
    assert "第 1 行条件" in error and "应为数字" in error and "一倍半" in error
    assert page.input_value(f"{form} input[name=title]") == "冬季取暖补贴"  # nothing typed is lost
    page.screenshot(path=testing.ARTIFACTS / "policies-refused.png", full_page=True)

    rows = page.locator(f"{form} [data-testid=conditions] tbody tr")
    rows.nth(0).locator("input[name=value]").fill("1.5")
    page.click(f"{form} button[type=submit]")
    assert "已保存" in page.inner_text("[data-testid=message]")
    row = page.inner_text("[data-policy=heating]")
    assert (
        "冬季取暖补贴" in row
        and "人均收入与低保标准之比 ≤ 1.5倍" in row
        and "有 60 周岁及以上老人：是" in row
    )
    page.screenshot(path=testing.ARTIFACTS / "policies-saved.png", full_page=True)
