"""In real headless Chromium: a village coordinator finds 王𠮷 by typing 王吉 (𠮷 cannot be typed on most
input methods) and sees the household's rare names and address as they are. Screenshot for a person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.registry import services

pytestmark = testing.browser_test


@pytest.fixture
def live_county(transactional_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """ORM work before Playwright starts (its greenlets would open a second connection)."""
    assert not services.import_registry(testing.write_rare_county(tmp_path / "county")).errors
    create_user("dongwang", "correct-horse-battery", "coordinator", "371522100201")


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def test_a_rare_name_is_found_by_its_reading_and_shown_as_it_is(live_server, live_county, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "dongwang")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit].primary")
    page.wait_for_selector("h1:has-text('您好，东王村')")
    page.fill("input[name=q]", "王吉")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=result-count]")
    assert "辖区内找到 1 人" in page.inner_text("[data-testid=result-count]")
    page.screenshot(path=testing.ARTIFACTS / "rare-name-search.png", full_page=True)
    page.click("text=王𠮷")
    page.wait_for_selector("[data-testid=members]")
    members = page.inner_text("[data-testid=members]")
    assert "王𠮷" in members and "李㐂䲜" in members and "王𡈼堃" in members
    assert testing.RARE_ADDRESS.split()[0] in page.inner_text("body")
    page.screenshot(path=testing.ARTIFACTS / "rare-name-household.png", full_page=True)
