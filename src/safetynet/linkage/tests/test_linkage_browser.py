"""In real headless Chromium: the hotline finds a caller as they type, a township clerk settles an
uncertain match, an admin tunes the thresholds, and a social organisation learns only known / not known.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from safetynet import testing
from safetynet.access.masking import mask_id_number
from safetynet.access.services import create_user
from safetynet.linkage import services
from safetynet.linkage.models import Review
from safetynet.registry import services as registry
from safetynet.registry.models import Person

pytestmark = testing.browser_test
PASSWORD = "correct-horse-battery"


@pytest.fixture
def prepared(transactional_db, county_dir: Path) -> dict:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    assert not registry.import_registry(county_dir).errors
    create_user("hotline", PASSWORD, "hotline", "371522000000")
    create_user("town", PASSWORD, "township", "371522101000")  # 观城镇
    create_user("admin", PASSWORD, "county_admin", "371522000000")
    create_user("ngo", PASSWORD, "social_org", "371522000000")
    liu = Person.objects.get(name="刘强")
    raw = {"name": "刘墙", "address_text": "观城"}
    result = services.Linker().link({**raw, "phone": liu.phone})
    result.fingerprint = services.fingerprint(services.clean(raw))
    result.decision = "review"
    services.queue_reviews("hotline", [("hotline:1:RX9", raw, result)])
    return {"liu": liu.id_number, "review": Review.objects.get().pk}


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def login(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_hotline_finds_a_caller_as_they_type(live_server, prepared, page) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, live_server.url, "hotline")
    page.click("nav >> text=查找人员")
    page.wait_for_selector("[data-testid=lookup]")
    page.fill("input[name=name]", "柳强")  # a homophone of 刘强
    page.fill("input[name=address_text]", "观城镇南张")
    page.wait_for_selector("[data-testid=candidates] tbody tr")
    table = page.inner_text("[data-testid=candidates]")
    assert "刘强" in table and mask_id_number(prepared["liu"]) in table and prepared["liu"] not in table
    assert "同音" in table
    assert "住址" in page.inner_text("[data-testid=status]")
    page.screenshot(path=testing.ARTIFACTS / "linkage-lookup.png", full_page=True)

    # From the main search: a name read another way, then the lookup opened with it, asking at once.
    page.goto(f"{live_server.url}/registry/search/?q=柳墙")
    with page.expect_navigation():
        page.click("[data-testid=fuzzy] a")
    assert page.input_value("input[name=name]") == "柳墙"
    page.wait_for_selector("[data-testid=candidates] tbody tr")
    assert "刘强" in page.inner_text("[data-testid=candidates]")
    page.screenshot(path=testing.ARTIFACTS / "linkage-lookup-from-search.png", full_page=True)
    page.goto(f"{live_server.url}/linkage/")

    # Typed markup is shown as text, never run.
    page.fill("input[name=address_text]", "")
    page.fill("input[name=name]", "<img src=x onerror=alert(1)>")
    expect(page.locator("[data-testid=status]")).to_contain_text("没有")
    assert not dialogs
    page.fill("input[name=name]", "")
    expect(page.locator("[data-testid=status]")).to_contain_text("请输入")


def test_township_settles_a_review_and_admin_tunes_thresholds(live_server, prepared, page) -> None:  # type: ignore[no-untyped-def]
    login(page, live_server.url, "town")
    page.goto(f"{live_server.url}/linkage/reviews/")
    assert "刘墙" in page.inner_text("[data-testid=reviews]")
    page.click(f"[data-review='{prepared['review']}'] a")
    page.wait_for_selector("[data-testid=review-candidates]")
    assert "刘墙" in page.inner_text("[data-testid=record]")
    page.screenshot(path=testing.ARTIFACTS / "linkage-review.png", full_page=True)
    page.check("input[name=choice][value='0']")
    page.click("[data-testid=decide] button[type=submit]")
    page.wait_for_selector("[data-testid=message]")
    assert "已保存判断" in page.inner_text("[data-testid=message]")
    assert "没有待审核" in page.inner_text("[data-testid=reviews]")

    page.click("text=退出") if page.is_visible("text=退出") else page.goto(f"{live_server.url}/logout/")
    login(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/linkage/settings/")
    page.fill("[data-testid=thresholds] input[name=match]", "0.3")
    page.fill("[data-testid=thresholds] input[name=review]", "0.8")
    page.click("[data-testid=thresholds] button[type=submit]")
    assert "阈值须满足" in page.inner_text("[data-testid=message]")
    page.fill("[data-testid=thresholds] input[name=match]", "0.98")
    page.fill("[data-testid=thresholds] input[name=review]", "0.4")
    page.click("[data-testid=thresholds] button[type=submit]")
    assert "新的模型版本" in page.inner_text("[data-testid=message]")
    assert "0.98" in page.inner_text("[data-testid=versions]")
    # the county's own name for a village: kept here, read by every lookup from now on
    page.fill("[data-testid=alias-add] input[name=alias]", "王家湾")
    page.fill("[data-testid=alias-add] input[name=village]", "371522100201")
    page.click("[data-testid=alias-add] button[type=submit]")
    assert "已保存别称" in page.inner_text("[data-testid=message]")
    assert "东王村" in page.inner_text("[data-testid=aliases]")
    page.screenshot(path=testing.ARTIFACTS / "linkage-thresholds.png", full_page=True)


def test_a_social_organisation_learns_only_known_or_not(live_server, prepared, page) -> None:  # type: ignore[no-untyped-def]
    login(page, live_server.url, "ngo")
    page.goto(f"{live_server.url}/linkage/")
    page.fill("input[name=name]", "刘强")
    page.fill("input[name=phone]", "150-5555-6666")
    expect(page.locator("[data-testid=status]")).to_contain_text("登记库")
    assert "已知" in page.inner_text("[data-testid=status]")
    assert not page.is_visible("[data-testid=candidates]")
    assert "刘强" not in page.inner_text("main").replace(page.input_value("input[name=name]"), "")
    page.screenshot(path=testing.ARTIFACTS / "linkage-ngo.png", full_page=True)
    page.goto(f"{live_server.url}/linkage/reviews/")
    assert "刘墙" not in page.content()
