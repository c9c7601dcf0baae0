"""In real headless Chromium: the village coordinator verifies a household on site from a phone (a first try
refused beside the fields), and the person declines help: the refusal is recorded with a follow-up date.
Then a county delegates confirmation (审核确认) to its townships: the clerk who reviewed an application
may not confirm it too, a colleague does. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from safetynet import testing
from safetynet.access.services import Actor, create_user
from safetynet.cases import workflow
from safetynet.cases.models import Case
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
    create_user("dongwang", PASSWORD, "coordinator", "371522100201")  # 东王村, where H001 lives
    lead = leads.report(
        Actor(user=hotline, purpose="test"),
        leads.LeadInput(
            Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"}, urgent=True
        ),
    )
    assert lead.case_id
    return lead.case_id


@pytest.fixture
def applied(transactional_db, county_dir: Path, settings, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    """H001 (王建国, three members) verified, informed and applying for dibao, with the household facts of
    a live run (the amount is checked against them). All ORM work before Playwright starts."""
    assert not registry.import_registry(county_dir).errors
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    testing.compute_facts()
    create_user("admin", PASSWORD, "county_admin", "371522000000")
    town = create_user("town", PASSWORD, "township", "371522100000")
    create_user("town2", PASSWORD, "township", "371522100000")  # a colleague at the same township
    hotline = create_user("hotline", PASSWORD, "hotline", "371522000000")
    lead = leads.report(
        Actor(user=hotline, purpose="test"),
        leads.LeadInput(
            Channel.HOTLINE, "老伴多病，孙女上学缺钱", {"name": "王建国", "phone": "13812345678"}
        ),
    )
    assert lead.case_id
    actor = Actor(user=town, purpose="test")
    visit = {
        "visited_on": testing.FROZEN_NOW.date().isoformat(),
        "hardship": "yes",
        "situation": "老两口务农，老伴常年吃药",
        "monthly_income": "900",
        "monthly_expense": "400",
        "wants_help": "yes",
    }
    for action, data in (
        ("verify", visit),
        ("inform", {"policies": "最低生活保障"}),
        ("apply", {"program": "dibao"}),
    ):
        version = Case.objects.get(pk=lead.case_id).version
        workflow.act(actor, lead.case_id, version, action, data)
    return lead.case_id


@pytest.fixture
def desk(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def sign_in(context, url: str, username: str):  # type: ignore[no-untyped-def]
    """A fresh page of `context` signed in as `username` (cookies cleared first)."""
    context.clear_cookies()
    page = context.new_page()
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("nav")
    return page


def send(page, action: str, **fields: str) -> int:  # type: ignore[no-untyped-def]
    """Fill a step's form on the case page and send it; the response status."""
    form = f"[data-testid=action-{action}]"
    for name, value in fields.items():
        if page.eval_on_selector(f"{form} [name={name}]", "e => e.tagName") == "SELECT":
            page.select_option(f"{form} [name={name}]", value)
        else:
            page.fill(f"{form} [name={name}]", value)
    with page.expect_navigation() as sent:
        page.click(f"{form} button[type=submit]")
    return sent.value.status  # type: ignore[no-any-return]


@pytest.fixture
def phone(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    yield context.new_page()
    context.close()


def test_verification_on_a_phone_then_a_respected_refusal(live_server, case_id, phone) -> None:  # type: ignore[no-untyped-def]
    page = phone
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "dongwang")  # the village's coordinator, on the visit
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/cases/")
    assert "紧急" in page.inner_text("[data-testid=cases]")
    # On a phone the list is cards: nothing runs off the screen, each value under its column's heading.
    assert_cards_fit(page, f"[data-case='{case_id}']")
    label = page.evaluate(
        "s => getComputedStyle(document.querySelector(s).children[4], '::before').content",
        f"[data-case='{case_id}']",
    )
    assert "办理期限" in label, label
    page.screenshot(path=testing.ARTIFACTS / "cases-list-phone.png", full_page=True)
    page.goto(f"{live_server.url}/cases/inbox/")
    assert_cards_fit(page, "table.cards tbody tr")
    page.screenshot(path=testing.ARTIFACTS / "cases-inbox-phone.png", full_page=True)
    page.goto(f"{live_server.url}/cases/")
    page.click(f"[data-case='{case_id}'] a")
    form = "[data-testid=action-verify]"
    page.wait_for_selector(form)
    today = testing.FROZEN_NOW.date()
    # A first try with the visit dated tomorrow and the expense left out: refused, nothing saved, the page
    # comes back (422) with everything typed and each reason beside its field.
    page.fill(f"{form} input[name=visited_on]", (today + dt.timedelta(days=1)).isoformat())
    page.select_option(f"{form} select[name=hardship]", "yes")
    page.fill(f"{form} textarea[name=situation]", "祖孙二人，老人务农，孙女上初中")
    page.fill(f"{form} input[name=monthly_income]", "600")
    page.select_option(f"{form} select[name=wants_help]", "no")
    with page.expect_navigation() as refused:
        page.click(f"{form} button[type=submit]")
    assert refused.value is not None and refused.value.status == 422
    message = page.inner_text("[data-testid=message]")
    assert "查访日期不能晚于今天" in message and "家庭月刚性支出" in message, message
    assert "待核实" in page.inner_text("[data-testid=stage]")
    date_label = page.locator(f"{form} label.invalid", has=page.locator("input[name=visited_on]"))
    assert "查访日期不能晚于今天" in date_label.locator("span.error").inner_text()
    expense_label = page.locator(f"{form} label.invalid", has=page.locator("input[name=monthly_expense]"))
    assert "必填" in expense_label.locator("span.error").inner_text()
    assert page.locator(f"{form} span.error").count() == 2  # only the two fields in question
    assert page.input_value(f"{form} textarea[name=situation]") == "祖孙二人，老人务农，孙女上初中"
    assert page.input_value(f"{form} input[name=monthly_income]") == "600"
    assert page.input_value(f"{form} select[name=hardship]") == "yes"
    assert page.input_value(f"{form} select[name=wants_help]") == "no"
    page.screenshot(path=testing.ARTIFACTS / "cases-verify-refused-phone.png", full_page=True)

    page.fill(f"{form} input[name=visited_on]", today.isoformat())
    page.fill(f"{form} input[name=monthly_expense]", "300")
    page.select_option(f"{form} select[name=wants_help]", "no")
    page.screenshot(path=testing.ARTIFACTS / "cases-verify-phone.png", full_page=True)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert "已记录" in page.inner_text("[data-testid=message]")
    assert "已实地核实" in page.inner_text("[data-testid=stage]")
    decline = "[data-testid=action-decline]"
    page.fill(f"{decline} input[name=reason]", "老人表示暂不需要，子女会接济")
    page.fill(f"{decline} input[name=follow_up_on]", (today + dt.timedelta(days=30)).isoformat())
    with page.expect_navigation():
        page.click(f"{decline} button[type=submit]")
    # closing the case is asked again, on the phone too, with what was typed kept
    assert "个案将结案" in page.inner_text(f"{decline} [data-testid=confirm]")
    assert page.input_value(f"{decline} input[name=reason]") == "老人表示暂不需要，子女会接济"
    page.screenshot(path=testing.ARTIFACTS / "cases-decline-confirm-phone.png", full_page=True)
    with page.expect_navigation():
        page.click(f"{decline} [data-testid=confirm-decline]")
    assert "已结案" in page.inner_text("[data-testid=stage]")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "子女会接济" in timeline and "热线来电" in timeline
    assert_cards_fit(page, "[data-testid=timeline] tbody tr")
    page.screenshot(path=testing.ARTIFACTS / "cases-declined-phone.png", full_page=True)


def assert_cards_fit(page, row: str) -> None:  # type: ignore[no-untyped-def]
    """The page is no wider than the phone, and the row reads as a card (a block, not a table row)."""
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    assert page.evaluate("s => getComputedStyle(document.querySelector(s)).display", row) == "block"


def test_a_delegating_county_still_needs_two_people(live_server, applied, desk) -> None:  # type: ignore[no-untyped-def]
    case_url = f"{live_server.url}/cases/{applied}/"
    # Without delegation a township reviews (审核) but is not offered the confirmation (确认).
    page = sign_in(desk, live_server.url, "town")
    page.goto(case_url)
    assert "协助申请中" in page.inner_text("[data-testid=stage]")
    assert page.locator("[data-testid=action-review]").count() == 1
    assert page.locator("[data-testid=action-decide]").count() == 0
    page.close()

    # The county administrator delegates 审核确认 to townships on the county's settings page.
    page = sign_in(desk, live_server.url, "admin")
    page.goto(f"{live_server.url}/cases/inbox/")
    page.click("a[href='/cases/settings/']")
    form = "[data-testid=settings]"
    page.wait_for_selector(form)
    assert page.input_value(f"{form} select[name=township_decides]") == "no"
    page.select_option(f"{form} select[name=township_decides]", "yes")
    page.click(f"{form} button[type=submit]")
    assert "已保存" in page.inner_text("[data-testid=message]")
    assert page.input_value(f"{form} select[name=township_decides]") == "yes"
    page.screenshot(path=testing.ARTIFACTS / "cases-settings.png", full_page=True)
    page.close()

    # The clerk reviews; the county lets townships confirm, but not the person who reviewed: the page does
    # not offer it to them (the server refuses it too: test_permission_matrix).
    page = sign_in(desk, live_server.url, "town")
    page.goto(case_url)
    assert (
        send(page, "review", approved="yes", monthly_amount="1200", reason="老伴常年吃药，人均收入低于标准")
        == 200
    )
    assert "已审核待确认" in page.inner_text("[data-testid=stage]")
    assert page.query_selector("[data-testid=action-decide]") is None
    page.screenshot(path=testing.ARTIFACTS / "cases-decide-not-offered-to-reviewer.png", full_page=True)
    page.close()

    # A colleague of the same township confirms.
    page = sign_in(desk, live_server.url, "town2")
    page.goto(f"{live_server.url}/cases/inbox/")
    page.click(f"[data-testid=section-confirm] [data-case='{applied}'] a")
    assert send(page, "decide", approved="yes", monthly_amount="1200", reason="同意") == 200
    assert "帮扶中" in page.inner_text("[data-testid=stage]")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "审核 → 已审核待确认\ttown\t" in timeline and "审批确认 → 帮扶中\ttown2\t" in timeline

    # The county narrows its open cases to a township and a name, and takes that list to Excel.
    page = sign_in(desk, live_server.url, "admin")
    page.goto(f"{live_server.url}/cases/")
    page.select_option("select[name=region]", label="燕店镇")
    page.fill("input[name=q]", "王建")
    with page.expect_navigation():
        page.click("[data-testid=filters] button:not([formaction])")
    assert "共 1 条" in page.inner_text("[data-testid=total]") and "王建国" in page.inner_text(
        "[data-testid=cases]"
    )
    page.fill("input[name=q]", "刘")
    with page.expect_navigation():
        page.click("[data-testid=filters] button:not([formaction])")
    assert "共 0 条" in page.inner_text("[data-testid=total]")
    page.fill("input[name=q]", "138 1234 5678")  # the head's phone, as a caller says it
    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))["个案"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["王建国"]
    page.screenshot(path=testing.ARTIFACTS / "cases-list-filtered.png", full_page=True)
