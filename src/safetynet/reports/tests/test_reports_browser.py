"""In real headless Chromium: the city's leader lands on the analysis, drills from the city to a village,
narrows the period, downloads the workbook and the brief; county staff see the same page with every
count. Screenshots go to test-artifacts/ (charts drawn, Chinese labels)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from safetynet import testing
from safetynet.access.services import create_user

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def prepared(transactional_db, history) -> None:  # type: ignore[no-untyped-def]
    """The county with known events (conftest), and a leader for its city: ORM work before Playwright."""
    create_user("leader", PASSWORD, "leader", "371500000000")  # 聊城市
    create_user("countyboss", PASSWORD, "county", "371522000000")


@pytest.fixture
def desk(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    yield context.new_page()
    context.close()


def login(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_a_leader_drills_down_filters_and_downloads(live_server, prepared, desk) -> None:  # type: ignore[no-untyped-def]
    page = desk
    login(page, live_server.url, "leader")
    page.wait_for_selector("[data-testid=report-title]")
    assert "聊城市主动发现分析研判" in page.inner_text("[data-testid=report-title]")  # the leader's home page
    page.wait_for_selector("#chart-funnel[data-drawn='1'] canvas")
    page.screenshot(path=testing.ARTIFACTS / "reports-leader-city.png", full_page=True)
    for place in ("莘县", "燕店镇", "西李村"):  # city → county → township → village
        page.click(f"[data-testid=ranking] a:text-is('{place}')")
        page.wait_for_selector(f"[data-testid=report-title]:has-text('{place}')")
    assert "<5" in page.inner_text("[data-testid=kpis]")  # a few households: suppressed for a leader
    assert "聊城市 › 莘县 › 燕店镇 › 西李村" in page.inner_text("nav.trail")
    page.fill("input[name=start]", "2026-04")
    page.fill("input[name=end]", "2026-05")
    page.click("[data-testid=period-form] button[type=submit]")
    page.wait_for_selector("[data-testid=period]:has-text('2026年4月至2026年5月')")
    with page.expect_download() as workbook:
        page.click("[data-testid=workbook]")
    assert workbook.value.suggested_filename == "statistics-371522100202-202604-202605.xlsx"
    with page.expect_download() as brief:
        page.click("[data-testid=brief]")
    assert brief.value.suggested_filename.endswith(".pdf")
    for forbidden in ("/cases/", "/leads/", "/registry/search/?q=H002"):
        assert page.goto(f"{live_server.url}{forbidden}").status == 403
    page.context.clear_cookies()
    county_staff_see_every_count_with_charts(live_server, page)  # the same county, one browser start


def county_staff_see_every_count_with_charts(live_server, page) -> None:  # type: ignore[no-untyped-def]
    login(page, live_server.url, "countyboss")
    page.goto(f"{live_server.url}/reports/?start=2026-03&end=2026-05")
    page.wait_for_selector("#chart-trend[data-drawn='1'] canvas")
    page.wait_for_selector("#chart-rules[data-drawn='1'] canvas")
    assert page.inner_text("[data-testid=funnel] tbody tr:first-child td:nth-child(2)") == "4"
    assert "核实准确率 66.6%" in page.inner_text("[data-testid=commentary]")
    page.screenshot(path=testing.ARTIFACTS / "reports-county.png", full_page=True)
