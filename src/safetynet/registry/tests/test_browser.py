"""In real headless Chromium: a village coordinator logs in, finds a household in their village,
and cannot see one in another village. Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.registry import services
from safetynet.registry.models import Person

pytestmark = testing.browser_test


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


@pytest.fixture
def live_county(transactional_db, county_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """Loads the county and returns 王建国's ID number. All ORM work happens here, before Playwright
    starts: its greenlets would otherwise open a second connection the test database cannot drop."""
    assert not services.import_registry(county_dir).errors
    create_user("dongwang", "correct-horse-battery", "coordinator", "371522100201")
    return Person.objects.get(name="王建国").id_number


def test_coordinator_finds_own_village_household_but_not_another_village(
    live_server, live_county, page
) -> None:  # type: ignore[no-untyped-def]
    wang_id = live_county
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "dongwang")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit].primary")
    page.wait_for_selector("h1:has-text('您好，东王村')")
    page.screenshot(path=testing.ARTIFACTS / "home-coordinator.png", full_page=True)

    page.fill("input[name=q]", "王建国")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=result-count]")
    assert "辖区内找到 1 人" in page.inner_text("[data-testid=result-count]")
    page.click("text=王建国")
    page.wait_for_selector("[data-testid=members]")
    members = page.inner_text("[data-testid=members]")
    assert "王建国" in members and "李秀英" in members and "王小红" in members
    assert wang_id not in members and wang_id[:6] + "********" + wang_id[-4:] in members
    assert "138****5678" in members
    page.screenshot(path=testing.ARTIFACTS / "household-own-village.png", full_page=True)

    # Ringing before the visit: the dialer gets the whole number, the page never shows it.
    # The browser's own POST (its cookie and CSRF token) is sent on to the server as it is; what the server
    # answers is kept, and the page is left where it was (a headless browser has no dialer for tel:).
    answers = []

    def ring(route) -> None:  # type: ignore[no-untyped-def]
        answers.append(route.fetch(max_redirects=0))
        route.fulfill(status=204)

    page.route("**/call/", ring)
    page.click("[data-testid=call] button")
    for _ in range(100):  # up to 10 s for the route handler to have run
        if answers:
            break
        page.wait_for_timeout(100)
    assert len(answers) == 1 and answers[0].status == 302, answers
    assert answers[0].headers["location"] == "tel:13812345678"
    assert "13812345678" not in page.content()

    page.goto(f"{live_server.url}/registry/search/?q=张桂兰")
    assert "辖区内找到 0 人" in page.inner_text("[data-testid=result-count]")
    response = page.goto(f"{live_server.url}/registry/households/H002/")
    assert response is not None and response.status == 404
    assert "您的辖区内没有这一家庭" in page.inner_text("[data-testid=not-found]")
    assert "张桂兰" not in page.content()
    page.screenshot(path=testing.ARTIFACTS / "household-other-village.png", full_page=True)
