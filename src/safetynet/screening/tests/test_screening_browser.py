"""In real headless Chromium: a county administrator reads a run, opens a red warning with its explanation
and evidence, records the verification, and tunes the rule pack; a village coordinator on a phone sees
only their village, masked. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.conftest import screen_small_county
from safetynet.registry import services as registry
from safetynet.screening.models import RiskWarning, RulePack

pytestmark = testing.browser_test
PASSWORD = "correct-horse-battery"


@pytest.fixture
def screened(transactional_db, county_dir: Path, tmp_path: Path, settings, monkeypatch) -> dict:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    assert not registry.import_registry(county_dir).errors
    create_user("admin", PASSWORD, "county_admin", "371522000000")
    create_user("coord", PASSWORD, "coordinator", "371522100201")
    run = screen_small_county(tmp_path)
    assert RulePack.objects.count() == 1
    h001 = RiskWarning.objects.filter(household_id="H001").first()
    h002 = RiskWarning.objects.filter(household_id="H002").first()
    assert h001 and h002
    return {"run": run.pk, "h001": h001.pk, "h001_id_number": h001.id_number, "h002": h002.pk}


@pytest.fixture
def desktop(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def login(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def test_county_admin_reviews_a_warning_and_tunes_the_rules(live_server, screened, desktop) -> None:  # type: ignore[no-untyped-def]
    page = desktop
    login(page, live_server.url, "admin")
    page.click("nav >> text=预警")
    page.wait_for_selector("[data-testid=warnings]")
    listing = page.inner_text("[data-testid=warnings]")
    assert "H001" in listing and "H002" in listing and "红色" in listing
    page.screenshot(path=testing.ARTIFACTS / "screening-warnings.png", full_page=True)

    page.click("[data-testid=warnings] tr[data-rule=child_without_guardian] a >> nth=0")
    page.wait_for_selector("[data-testid=explanation]")
    assert "未成年人" in page.inner_text("[data-testid=explanation]")
    assert "registry" in page.inner_text("[data-testid=evidence]")
    assert "待核实" in page.inner_text("[data-testid=status]")
    page.screenshot(path=testing.ARTIFACTS / "screening-warning.png", full_page=True)
    page.fill("[data-testid=outcome] input[name=note]", "已入户核实，祖孙二人生活困难")
    page.click("[data-testid=outcome] button[value=founded]")
    page.wait_for_selector("[data-testid=status]")
    assert "核实属实" in page.inner_text("[data-testid=status]")
    assert not page.is_visible("[data-testid=outcome]")

    page.goto(f"{live_server.url}/screening/runs/{screened['run']}/")
    by_rule = page.inner_text("[data-testid=by-rule]")
    assert "未成年人无监护能力人" in by_rule and "近期受灾" in by_rule
    assert "燕店镇" in page.inner_text("[data-testid=by-township]")
    page.screenshot(path=testing.ARTIFACTS / "screening-run.png", full_page=True)

    page.click("text=规则包")
    page.wait_for_selector("[data-testid=pack-form]")
    page.fill(
        "input[name=rule-medical_burden-condition]", "h.out_of_pocket >= min_out_of_pocket and h.wealth > 1"
    )
    page.fill("input[name=note]", "试验一个错误条件")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=problems]")
    assert "未知的特征 h.wealth" in page.inner_text("[data-testid=problems]")
    page.screenshot(path=testing.ARTIFACTS / "screening-rules-error.png", full_page=True)
    page.fill(
        "input[name=rule-medical_burden-condition]",
        "h.out_of_pocket >= min_out_of_pocket and h.out_of_pocket >= burden_share * h.annual_income and not h.covered",
    )
    page.fill("input[name=rule-medical_burden-param-min_out_of_pocket]", "15000")
    page.uncheck("input[name=rule-repeat_hotline-enabled]")
    page.fill("input[name=note]", "医疗阈值提高到 1.5 万元，暂停热线规则")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=message]")
    assert "第 2 版" in page.inner_text("[data-testid=message]")
    page.screenshot(path=testing.ARTIFACTS / "screening-rules.png", full_page=True)


def test_coordinator_on_a_phone_sees_only_their_village(live_server, screened, chromium) -> None:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    login(page, live_server.url, "coord")
    page.goto(f"{live_server.url}/screening/warnings/")
    listing = page.inner_text("[data-testid=warnings]")
    assert "H001" in listing and "H002" not in listing
    page.goto(f"{live_server.url}/screening/warnings/{screened['h001']}/")
    person = page.inner_text("[data-testid=person]")
    assert "*" in person and screened["h001_id_number"] not in page.content()
    page.screenshot(path=testing.ARTIFACTS / "screening-warning-phone.png", full_page=True)
    response = page.goto(f"{live_server.url}/screening/warnings/{screened['h002']}/")
    assert response.status == 404
    context.close()
