"""In real headless Chromium: a county administrator reads a run, opens a red warning with its explanation
and evidence, follows it to its case and records the verification there (the warning is then founded);
a township clerk finds no hardship behind another warning (unfounded); the rule pack shows each rule's
verified precision and is tuned. A village coordinator on a phone sees only their village, masked.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.conftest import screen_small_county
from safetynet.registry import services as registry
from safetynet.screening.models import RiskWarning, RulePack

pytestmark = [*testing.browser_test, pytest.mark.usefixtures("clock")]
TODAY = testing.FROZEN_NOW.date().isoformat()
PASSWORD = "correct-horse-battery"


@pytest.fixture
def screened(transactional_db, county_dir: Path, tmp_path: Path, settings, monkeypatch) -> dict:  # type: ignore[no-untyped-def]
    """All ORM work before Playwright starts (see registry/tests/test_browser.py)."""
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    assert not registry.import_registry(county_dir).errors
    create_user("admin", PASSWORD, "county_admin", "371522000000")
    create_user("coord", PASSWORD, "coordinator", "371522100201")
    create_user("town", PASSWORD, "township", "371522100000")  # 燕店镇
    run = screen_small_county(tmp_path)
    assert RulePack.objects.count() == 1
    h001 = RiskWarning.objects.filter(household_id="H001").first()
    h002 = RiskWarning.objects.filter(household_id="H002").first()
    assert h001 and h002
    assert h001.case_id and h002.case_id  # each warning became a lead, and the lead a case
    return {
        "run": run.pk,
        "h001": h001.pk,
        "h001_id_number": h001.id_number,
        "h002": h002.pk,
        "h002_case": h002.case_id,
    }


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


def verify(page, hardship: str, situation: str) -> None:  # type: ignore[no-untyped-def]
    """Record the verification visit on the open case page."""
    form = "[data-testid=action-verify]"
    page.fill(f"{form} input[name=visited_on]", TODAY)
    page.select_option(f"{form} select[name=hardship]", hardship)
    page.fill(f"{form} textarea[name=situation]", situation)
    page.fill(f"{form} input[name=monthly_income]", "600")
    page.fill(f"{form} input[name=monthly_expense]", "300")
    page.select_option(f"{form} select[name=wants_help]", "yes" if hardship == "yes" else "no")
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    if hardship == "no":  # no hardship closes the case and silences the warning: asked again first
        assert "180 天内同样的情况不再预警" in page.inner_text(f"{form} [data-testid=confirm]")
        assert page.input_value(f"{form} textarea[name=situation]") == situation  # what was typed is kept
        with page.expect_navigation():
            page.click(f"{form} [data-testid=confirm-verify]")
    assert "已记录" in page.inner_text("[data-testid=message]")


def test_county_admin_reviews_a_warning_and_tunes_the_rules(live_server, screened, desktop, chromium) -> None:  # type: ignore[no-untyped-def]
    page = desktop
    login(page, live_server.url, "admin")
    page.click("nav >> text=预警")
    page.wait_for_selector("[data-testid=warnings]")
    listing = page.inner_text("[data-testid=warnings]")
    assert "王建国" in listing and "张桂兰" in listing and "红色" in listing  # heads, not codes
    page.screenshot(path=testing.ARTIFACTS / "screening-warnings.png", full_page=True)

    # Narrowed as county staff do: red only, then one person by name; the filters stay as chosen.
    page.select_option("[data-testid=filters] select[name=level]", "red")
    page.fill("[data-testid=filters] input[name=q]", "张桂")
    with page.expect_navigation():
        page.click("[data-testid=filters] button:not([formaction])")
    levels = page.eval_on_selector_all(
        "[data-testid=warnings] tbody tr[data-level]", "rs => rs.map(r => r.dataset.level)"
    )
    assert levels and set(levels) == {"red"}, levels
    assert "张桂兰" in page.inner_text("[data-testid=warnings]") and "王建国" not in page.inner_text(
        "[data-testid=warnings]"
    )
    assert page.input_value("[data-testid=filters] input[name=q]") == "张桂"
    page.screenshot(path=testing.ARTIFACTS / "screening-warnings-filtered.png", full_page=True)
    page.goto(f"{live_server.url}/screening/warnings/")

    page.click("[data-testid=warnings] tr[data-rule=child_without_guardian] a >> nth=0")
    page.wait_for_selector("[data-testid=explanation]")
    warning_url = page.url
    assert "未成年人" in page.inner_text("[data-testid=explanation]")
    assert "低收入人口登记库" in page.inner_text("[data-testid=evidence]")  # the source in words
    assert "待核实" in page.inner_text("[data-testid=status]")
    assert page.locator("[data-testid=outcome]").count() == 0  # no verdict by hand: the case's visit decides
    page.screenshot(path=testing.ARTIFACTS / "screening-warning.png", full_page=True)

    # The warning is verified on its case: founded.
    page.click("[data-testid=case-link] a")
    page.wait_for_selector("[data-testid=action-verify]")
    assert "数据比对预警" in page.inner_text("[data-testid=timeline]")
    verify(page, "yes", "已入户核实，祖孙二人生活困难")
    assert "已实地核实" in page.inner_text("[data-testid=stage]")
    page.goto(warning_url)
    status = page.inner_text("[data-testid=status]")
    assert "核实属实" in status and "存在困难" in status and "admin" in status
    assert page.locator("[data-testid=case-link]").count() == 1

    # A township clerk finds no hardship behind the disaster warning: the case closes, the warning is unfounded.
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    town = context.new_page()
    login(town, live_server.url, "town")
    town.goto(f"{live_server.url}/cases/{screened['h002_case']}/")
    verify(town, "no", "房屋仅轻微渗水，村里已修缮；老人享受特困供养，生活有保障")
    assert "已结案" in town.inner_text("[data-testid=stage]") and "核实未发现困难" in town.inner_text("main")
    context.close()
    page.goto(f"{live_server.url}/screening/warnings/{screened['h002']}/")
    assert "核实不属实" in page.inner_text("[data-testid=status]")
    page.screenshot(path=testing.ARTIFACTS / "screening-warning-unfounded.png", full_page=True)

    page.goto(f"{live_server.url}/screening/runs/{screened['run']}/")
    by_rule = page.inner_text("[data-testid=by-rule]")
    assert "未成年人无监护能力人" in by_rule and "近期受灾" in by_rule
    assert "燕店镇" in page.inner_text("[data-testid=by-township]")
    page.screenshot(path=testing.ARTIFACTS / "screening-run.png", full_page=True)

    page.click("text=规则包")
    page.wait_for_selector("[data-testid=pack-form]")
    # Each rule's precision, from the verification visits.
    assert "已核实 1 条，属实 1 条（精确率 100%）" in page.inner_text(
        "[data-testid=precision-child_without_guardian]"
    )
    assert "已核实 1 条，属实 0 条（精确率 0%）" in page.inner_text("[data-testid=precision-disaster_loss]")
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
    assert "王建国" in listing and "张桂兰" not in listing
    page.goto(f"{live_server.url}/screening/warnings/{screened['h001']}/")
    person = page.inner_text("[data-testid=person]")
    assert "*" in person and screened["h001_id_number"] not in page.content()
    # The coordinator sees where the visit is recorded: the warning's case.
    assert "本预警在个案中实地核实" in page.inner_text("[data-testid=case-link]")
    page.screenshot(path=testing.ARTIFACTS / "screening-warning-phone.png", full_page=True)
    response = page.goto(f"{live_server.url}/screening/warnings/{screened['h002']}/")
    assert response.status == 404
    context.close()
