"""Screening pages and API: who may see and do what, region scope, masking, CSRF, bad input."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.registry.models import Person
from safetynet.screening import services
from safetynet.screening.models import RiskWarning, RulePack, Run

pytestmark = pytest.mark.django_db


def login(make_user, role: str, region: str, name: str | None = None, csrf: bool = False) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name or role, role, region))
    return client


def warning_of(household: str) -> RiskWarning:
    return RiskWarning.objects.filter(household_id=household).order_by("id").first()  # type: ignore[return-value]


def test_county_staff_see_runs_warnings_and_verified_precision(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user, "county", "371522000000")
    run = screened_county
    assert f"#{run.pk}" in client.get("/screening/").content.decode()
    page = client.get(f"/screening/runs/{run.pk}/").content.decode()
    assert "child_without_guardian" in page and "燕店镇" in page
    listing = client.get("/screening/warnings/").content.decode()
    assert "H001" in listing and "H002" in listing and "燕店镇" in listing  # the township filter
    assert "H001" in client.get("/screening/warnings/?region=371522100").content.decode()
    assert "H001" not in client.get("/screening/warnings/?region=371522101").content.decode()
    hostile = client.get("/screening/warnings/?region=' OR 1=1 --&level=<script>&rule=x%00y")
    assert hostile.status_code == 200 and "<script>" not in hostile.content.decode()
    h001 = warning_of("H001")
    detail = client.get(f"/screening/warnings/{h001.pk}/").content.decode()
    assert h001.explanation in detail and "registry" in detail
    wang = Person.objects.get(name="王建国")
    assert wang.id_number not in detail or wang.id_number == h001.id_number  # county staff see full IDs
    # The verdict comes from the case's verification visit, and the rule's precision moves with it.
    admin = login(make_user, "county_admin", "371522000000", name="admin")
    assert "尚无核实" in admin.get("/screening/rules/").content.decode()
    assert h001.case_id is not None and f'href="/cases/{h001.case_id}/"' in detail
    verify_case(h001.case_id, make_user, hardship=True)
    h001.refresh_from_db()
    assert h001.status == "founded" and h001.outcome_at is not None and str(h001.case_id) in h001.outcome_note
    rules = admin.get("/screening/rules/").content.decode()
    assert "已核实 1 条，属实 1 条（精确率 100%）" in rules
    h002 = warning_of("H002")
    verify_case(h002.case_id, make_user, hardship=False)  # type: ignore[arg-type]
    h002.refresh_from_db()
    assert h002.status == "unfounded"
    verdicts = services.rule_precision()
    assert verdicts[h002.rule_id].unfounded == 1


def verify_case(case_id: int, make_user, hardship: bool) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access.services import Actor
    from safetynet.cases import workflow
    from safetynet.cases.models import Case

    case = Case.objects.get(pk=case_id)
    town = Actor(user=make_user(f"town{case_id}", "township", "371522100000"), purpose="test")
    visit = {
        "visited_on": case.opened_at.date().isoformat(),
        "hardship": hardship,
        "situation": "入户核实",
        "monthly_income": "500",
        "monthly_expense": "0",
        "wants_help": hardship,
    }
    workflow.act(town, case.pk, case.version, "verify", visit)


def test_a_village_coordinator_sees_only_their_village_masked(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user, "coordinator", "371522100201")  # 东王村: H001 only
    listing = client.get("/screening/warnings/").content.decode()
    assert "H001" in listing and "H002" not in listing
    h001, h002 = warning_of("H001"), warning_of("H002")
    assert client.get(f"/screening/warnings/{h002.pk}/").status_code == 404
    detail = client.get(f"/screening/warnings/{h001.pk}/").content.decode()
    assert h001.id_number not in detail and h001.id_number[:4] in detail  # masked
    assert AuditEntry.objects.filter(action="read", object_type="warning", object_id=str(h001.pk)).exists()
    assert client.post("/screening/start/").status_code == 403
    assert client.get("/screening/rules/").status_code == 403
    runs = client.get("/api/screening/warnings").json()
    assert {w["household_id"] for w in runs} == {"H001"}
    assert all("*" in w["id_number"] for w in runs)


def test_a_social_organisation_and_a_leader_reach_no_warning(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    h001 = warning_of("H001")
    for role in ("social_org", "leader", "liaison", "auditor"):
        client = login(make_user, role, "371522000000")
        for url in (
            "/screening/",
            "/screening/warnings/",
            f"/screening/warnings/{h001.pk}/",
            f"/screening/runs/{h001.run_id}/",
        ):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert h001.household_id not in response.content.decode()
        for url in ("/api/screening/warnings", f"/api/screening/warnings/{h001.pk}", "/api/screening/runs"):
            assert client.get(url).status_code == 403, (role, url)


def test_rule_editor_saves_versions_and_refuses_bad_rules(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = login(make_user, "county_admin", "371522000000")
    page = admin.get("/screening/rules/")
    assert page.status_code == 200 and "medical_burden" in page.content.decode()
    from safetynet.screening import services

    pack = services.load(services.active_pack())
    form = {"note": "关闭热线规则，提高医疗阈值"}
    for r in pack.rules:
        if r.id != "repeat_hotline":
            form[f"rule-{r.id}-enabled"] = "on"
        form[f"rule-{r.id}-level"] = r.level
        form[f"rule-{r.id}-condition"] = r.condition
        for name, value in r.params.items():
            form[f"rule-{r.id}-param-{name}"] = str(value)
    form["rule-medical_burden-param-min_out_of_pocket"] = "20000"
    response = admin.post("/screening/rules/", form)
    assert response.status_code == 302
    active = services.active_pack()
    assert active.version == 2 and "20000" in active.body
    edited = services.load(active)
    assert (
        not edited.rule("repeat_hotline").enabled
        and edited.rule("medical_burden").params["min_out_of_pocket"] == 20000
    )
    assert AuditEntry.objects.filter(action="change_rule_pack", object_id="2").exists()

    for field, value, reason in [
        ("rule-medical_burden-condition", "h.out_of_pocket > 1; DROP TABLE screening_run", "不允许的写法"),
        ("rule-medical_burden-condition", "h.wealth > 1", "未知的特征"),
        ("rule-medical_burden-param-min_out_of_pocket", "一万", "应为数字"),
        ("rule-medical_burden-level", "purple", "level 应为"),
        ("window-death_days", "-5", "windows.death_days"),
        ("rule-medical_burden-condition", "h.out_of_pocket > 1 and p.self_care = 'a\x00b'", "控制字符"),
    ]:
        response = admin.post("/screening/rules/", {**form, field: value})
        assert response.status_code == 400, field
        body = response.content.decode()
        assert reason in body, (field, reason)
        if "\x00" not in value and "level" not in field:
            assert value.replace(">", "&gt;").replace("'", "&#x27;") in body, "what was typed is shown back"
        assert services.active_pack().version == 2

    # CSRF: a forged form from another site changes nothing.
    forged = login(make_user, "county_admin", "371522000000", name="admin2", csrf=True)
    assert forged.post("/screening/rules/", form).status_code == 403
    assert RulePack.objects.count() == 2


def test_backtest_and_compare_pages(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = login(make_user, "county_admin", "371522000000")
    response = admin.post("/screening/rules/backtest/", {"version": "1", "base": str(screened_county.pk)})
    # the backtest is a job; its page goes on to the comparison once the job is done (here, inline: at once)
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    response = admin.get(response["Location"])
    assert response.status_code == 302 and "/screening/compare/" in response["Location"]
    dry = Run.objects.get(dry_run=True)
    page = admin.get(response["Location"]).content.decode()
    assert "child_without_guardian" in page and f"run {dry.pk}" in page.replace("运行 ", "run ")
    assert (
        admin.post("/screening/rules/backtest/", {"version": "99", "base": "x"}, follow=True).status_code
        == 200
    )
    assert admin.get("/screening/compare/?base=1&candidate=abc").status_code == 404
    county = login(make_user, "county", "371522000000")
    assert (
        county.post(
            "/screening/rules/backtest/", {"version": "1", "base": str(screened_county.pk)}
        ).status_code
        == 403
    )


def test_api_runs_and_warnings(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    county = login(make_user, "county", "371522000000")
    started = county.post("/api/screening/runs", json.dumps({}), content_type="application/json")
    assert started.status_code == 201, started.content  # the job ran inline here; on a worker: 202, below
    body = started.json()
    assert body["counts"]["child_without_guardian"] == {"hits": 1, "new": 0, "suppressed": 1}
    assert county.get(f"/api/screening/runs/{body['run_id']}").json()["run_id"] == body["run_id"]
    assert county.get("/api/screening/runs/999999").status_code == 404
    bad = county.post(
        "/api/screening/runs", json.dumps({"engine": "oracle"}), content_type="application/json"
    )
    assert bad.status_code == 422
    future = county.post(
        "/api/screening/runs", json.dumps({"as_of": "2999-01-01"}), content_type="application/json"
    )
    assert future.status_code == 409 and "晚于今天" in future.json()["detail"]
    assert county.get("/api/screening/warnings?level=purple").status_code == 422
    assert county.get("/api/screening/warnings?limit=100000").status_code == 200
    red = county.get("/api/screening/warnings?level=red").json()
    assert red and all(w["level"] == "red" for w in red)
    h002 = warning_of("H002")
    assert county.get(f"/api/screening/warnings/{h002.pk}").json()["case_id"] == h002.case_id
    # No route records a verdict by hand: it comes from the case's verification.
    assert county.post(f"/api/screening/warnings/{h002.pk}/outcome", "{}", content_type="application/json").status_code in (404, 405)
    coordinator = login(make_user, "coordinator", "371522100201")
    assert (
        coordinator.post("/api/screening/runs", json.dumps({}), content_type="application/json").status_code
        == 403
    )
    assert coordinator.get(f"/api/screening/warnings/{h002.pk}").status_code == 404


def test_the_list_shows_its_true_total_pages_through_all_of_it_red_first_with_names(  # type: ignore[no-untyped-def]
    screened_county, make_user, monkeypatch
) -> None:
    """Never silently cut: the total is the list's, every page is reachable, the most urgent come first,
    and a row names the person, the household head and the village, not codes."""
    from safetynet.access.masking import mask_id_number

    first = warning_of("H001")
    for level, score in (("yellow", "9.00"), ("orange", "1.00"), ("yellow", "0.50")):
        RiskWarning.objects.create(
            run=first.run, household_id="H001", region_code=first.region_code, id_number=first.id_number,
            rule_id="repeat_hotline", level=level, score=score, explanation="测试", fingerprint="x" * 64,
            status=RiskWarning.Status.OPEN,
        )  # fmt: skip
    open_warnings = RiskWarning.objects.filter(status=RiskWarning.Status.OPEN).count()
    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    client = login(make_user, "county", "371522000000")
    seen: list[str] = []
    page, number = client.get("/screening/warnings/").content.decode(), 1
    assert f"共 {open_warnings} 条" in page
    while True:
        seen += re.findall(r'<tr data-warning="\d+" data-rule="\w+" data-level="(\w+)"', page)
        if 'data-testid="next"' not in page:
            break
        number += 1
        assert f"第 {number - 1} 页" in page
        page = client.get("/screening/warnings/", {"page": number}).content.decode()
    assert number == -(-open_warnings // 2)  # every page reached
    rows = list(RiskWarning.objects.filter(status=RiskWarning.Status.OPEN).values_list("level", flat=True))
    assert seen == sorted(rows, key=["red", "orange", "yellow"].index)  # all of them, most urgent first

    head = Person.objects.get(name="王建国")
    coordinator = login(make_user, "coordinator", "371522100201", name="coord")
    listing = coordinator.get("/screening/warnings/").content.decode()
    assert "王建国" in listing and "东王村" in listing and head.id_number not in listing
    person = Person.objects.get(id_number=first.id_number)
    assert person.name in listing and mask_id_number(person.id_number) in listing


def test_a_warning_says_its_condition_and_sources_in_words(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    """`p.minor and h.able_adults = 0` reads as the features' Chinese labels; evidence names departments."""
    client = login(make_user, "county", "371522000000")
    page = client.get(f"/screening/warnings/{warning_of('H001').pk}/").content.decode()
    condition = re.sub(r"<[^>]+>", " ", page.split('data-testid="condition"')[1].split("</p>")[0])
    assert "「未成年」，且" in condition and "= 0" in condition
    assert not re.findall(r"[a-z_]{4,}", condition.split(">", 1)[1]), condition  # the code only on hover
    assert "低收入人口登记库" in page


def test_conditions_in_words_cover_the_whole_default_pack() -> None:
    from safetynet.screening.packs import default_pack, in_words

    for rule in default_pack().rules:
        shown = in_words(rule.condition, rule.params)
        assert not re.findall(r"(?<![A-Za-z])[a-z_]{3,}", shown), (rule.id, shown)
