"""Complex cases through the county's coordination mechanism, escalation of overdue work, role inboxes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor, create_user
from safetynet.cases import coordination, inbox, workdays, workflow
from safetynet.cases.models import Case, Referral, Step
from safetynet.leads import services as leads
from safetynet.leads.models import Channel, Lead

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
TODAY = testing.FROZEN_NOW.date()
VISIT = {
    "visited_on": TODAY.isoformat(),
    "situation": "户主重病，孙女辍学，房屋漏雨",
    "monthly_income": "500",
    "monthly_expense": "1200",
    "hardship": True,
    "wants_help": True,
}


def _actor(make_user, name: str, role: str, region: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user=make_user(name, role, region), purpose="test")


def _liaison(name: str, department: str) -> Actor:
    user = create_user(name, "correct-horse-battery", "liaison", "371522000000", organisation=department)
    return Actor(user=user, purpose="test")


def _verified_case(make_user) -> tuple[Case, Actor, Actor]:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    lead = leads.report(
        hotline,
        leads.LeadInput(Channel.HOTLINE, "户主重病，孙女辍学", {"name": "王建国", "phone": "13812345678"}),
    )
    town = _actor(make_user, "town", "township", "371522100000")
    county = _actor(make_user, "county", "county", "371522000000")
    assert lead.case is not None
    case = workflow.act(town, lead.case.pk, lead.case.version, "verify", VISIT)
    return case, town, county


def test_a_complex_case_is_referred_answered_followed_up_and_closed(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town, county_staff = _verified_case(make_user)
    case = workflow.act(town, case.pk, case.version, "coordinate", {"reason": "医疗、教育、住房多方面困难"})
    assert case.coordination and "refer" not in dict(workflow.next_actions(case, town))
    with pytest.raises(PermissionDenied):
        workflow.act(town, case.pk, case.version, "refer", {"department": "education", "request": "x"})
    case = workflow.act(
        county_staff,
        case.pk,
        case.version,
        "refer",
        {"department": "medical_insurance", "request": "大病医疗再报销"},
    )
    assert case.stage == "helping"
    case = workflow.act(
        county_staff, case.pk, case.version, "refer", {"department": "education", "request": "孙女复学及资助"}
    )
    with pytest.raises(workflow.StepRejected, match="请勿重复转介"):
        workflow.act(
            county_staff, case.pk, case.version, "refer", {"department": "education", "request": "再次"}
        )
    case.refresh_from_db()
    due = workdays.add_working_days(TODAY, 10)[0]
    assert [(r.department, r.due_on) for r in case.referrals.order_by("id")] == [
        ("medical_insurance", due),
        ("education", due),
    ]
    with pytest.raises(workflow.StepRejected, match="医保局、教育局"):
        workflow.act(county_staff, case.pk, case.version, "close", {})

    medical, education = _liaison("yb", "医保局"), _liaison("jy", "education")
    assert [r.referral.department for r in coordination.referrals(medical)] == ["medical_insurance"]
    seen = coordination.referrals(education)[0]
    # the department must find the person in its own system: the whole ID of whom it was referred (audited)
    assert seen.head_name == "王建国" and "*" not in seen.head_id and len(seen.head_id) == 18
    first, second = (r.referral for r in (coordination.referrals(medical)[0], seen))
    with pytest.raises(PermissionDenied):  # one department cannot answer for another
        coordination.answer(medical, second.pk, "已办理", True)
    with pytest.raises(workflow.StepRejected, match="答复内容"):
        coordination.answer(medical, first.pk, "   ", True)
    coordination.answer(medical, first.pk, "已按大病保险再报销 3,200 元", True)
    with pytest.raises(workflow.StepRejected, match="不能重复答复"):
        coordination.answer(medical, first.pk, "再答一次", True)
    coordination.answer(education, second.pk, "已安排复学并发放助学金", "yes")
    case.refresh_from_db()
    later = (TODAY + dt.timedelta(days=30)).isoformat()
    case = workflow.act(
        town, case.pk, case.version, "follow_up", {"findings": "已复学，医药费已报销", "follow_up_on": later}
    )
    case = workflow.act(town, case.pk, case.version, "close", {})
    assert case.status == "closed" and case.outcome == "helped"
    actions = list(Step.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["verify", "coordinate", "refer", "refer", "answer", "answer", "follow_up", "close"]
    assert AuditEntry.objects.filter(action="referral_answer").count() == 2
    assert Referral.objects.get(pk=first.pk).answered_by == medical.user


def test_a_liaison_without_a_department_and_other_roles_see_no_referrals(county, make_user) -> None:  # type: ignore[no-untyped-def]
    _verified_case(make_user)
    for actor in (
        _liaison("nobody", ""),
        _liaison("fake", "<script>alert(1)</script>"),
        _actor(make_user, "ngo", "social_org", "371522000000"),
        _actor(make_user, "hot2", "hotline", "371522000000"),
    ):
        with pytest.raises(PermissionDenied):
            coordination.referrals(actor)


def test_overdue_work_escalates_to_the_township_then_the_county(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town, county_staff = _verified_case(make_user)
    coordinator = _actor(make_user, "village", "coordinator", "371522100201")
    fresh = Case.objects.create(household_id="H002", region_code="371522100202", due_on=TODAY)
    one_late = workdays.working_days_before(TODAY, 1)
    Case.objects.filter(pk=fresh.pk).update(due_on=one_late)
    assert inbox.escalate() == {"township": 1, "county": 0}
    assert inbox.escalate() == {"township": 0, "county": 0}  # once per level
    township_overdue = {s.key: s for s in inbox.for_actor(town)}["overdue"]
    assert [c.pk for c in township_overdue.cases] == [fresh.pk]  # 西李村 is in 燕店镇
    far = workdays.working_days_before(TODAY, 4)
    Case.objects.filter(pk=fresh.pk).update(due_on=far)
    assert inbox.escalate() == {"township": 0, "county": 1}
    fresh.refresh_from_db()
    assert fresh.escalated_to == "county"
    county_overdue = {s.key: s for s in inbox.for_actor(county_staff)}["overdue"]
    assert [c.pk for c in county_overdue.cases] == [fresh.pk]
    labels = list(Step.objects.filter(case=fresh).values_list("action", "actor", "data"))
    assert labels == [("escalate", None, {"to": "乡镇（街道）"}), ("escalate", None, {"to": "县级"})]
    assert AuditEntry.objects.filter(action="case_escalate", username="system").count() == 2
    # The coordinator of another village does not see it at all.
    assert all(fresh.pk not in [c.pk for c in s.cases] for s in inbox.for_actor(coordinator))


def test_role_inboxes_hold_what_each_role_must_do(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    known = leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "老人独居", {"name": "王建国", "phone": "13812345678"})
    )
    unknown = leads.report(
        hotline,
        leads.LeadInput(Channel.HOTLINE, "有位老人生病没人管", {"name": "赵无名", "address_text": "燕店镇"}),
    )
    assert unknown.match == Lead.Match.UNIDENTIFIED and unknown.region_code == "371522100000"
    coordinator = _actor(make_user, "village", "coordinator", "371522100201")
    town = _actor(make_user, "town", "township", "371522100000")
    county_staff = _actor(make_user, "county", "county", "371522000000")
    village_box = {s.key: s for s in inbox.for_actor(coordinator)}
    assert [c.pk for c in village_box["verify"].cases] == [known.case_id]
    town_box = {s.key: s for s in inbox.for_actor(town)}
    assert [lead.pk for lead in town_box["triage"].leads] == [unknown.pk]
    # Triage: hand it to a village, then the village ties it to a household.
    with pytest.raises(leads.LeadRejected, match="辖区内的村"):
        leads.assign(town, unknown.pk, region_code="371522101201")  # another township's village
    with pytest.raises(leads.LeadRejected, match="辖区内的村"):
        leads.assign(town, unknown.pk, region_code="'; DROP TABLE leads_lead; --")
    leads.assign(town, unknown.pk, region_code="371522100202")
    with pytest.raises(leads.LeadRejected, match="户编号"):
        leads.assign(town, unknown.pk, household_id="H003")  # outside the township
    moved = leads.assign(town, unknown.pk, household_id="H002")
    assert moved.case is not None and moved.case.household_id == "H002"
    with pytest.raises(leads.LeadRejected, match="已分派"):
        leads.assign(town, unknown.pk, household_id="H002")
    with pytest.raises(PermissionDenied):
        inbox.for_actor(_actor(make_user, "ngo", "social_org", "371522000000"))
    # The county's approvals: an amount above the cap waits there.
    case = Case.objects.get(pk=known.case_id)
    workflow.act(town, case.pk, case.version, "grant_first", {"amount": "8000", "reason": "火灾"})
    county_box = {s.key: s for s in inbox.for_actor(county_staff)}
    assert [c.pk for c in county_box["approvals"].cases] == [case.pk]


def test_inbox_and_referral_pages_and_api(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town, county_staff = _verified_case(make_user)
    workflow.act(
        county_staff, case.pk, case.version, "refer", {"department": "housing", "request": "危房改造"}
    )
    referral = Referral.objects.get(case=case)
    liaison = Client(enforce_csrf_checks=True)
    liaison.force_login(_liaison("zj", "housing").user)
    page = liaison.get("/cases/referrals/")
    assert page.status_code == 200 and "危房改造" in page.content.decode()
    assert (
        liaison.post("/cases/referrals/", {"referral": referral.pk, "answer": "x"}).status_code == 403
    )  # CSRF
    token = liaison.cookies["csrftoken"].value
    bad = liaison.post(
        f"/api/cases/referrals/{referral.pk}/answer",
        {"answer": "", "helped": True},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422 and "答复内容" in bad.json()["detail"]
    good = liaison.post(
        f"/api/cases/referrals/{referral.pk}/answer",
        {"answer": "已列入危房改造计划", "helped": True},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert good.status_code == 200 and good.json()["helped"] is True
    assert liaison.get("/api/cases/inbox").json()[0]["referrals"] == []
    assert liaison.get(f"/api/cases/{case.pk}").status_code == 403  # a department reads no case
    staff = Client()
    staff.force_login(county_staff.user)
    sections = {s["key"]: s for s in staff.get("/api/cases/inbox").json()}
    assert set(sections) == {"triage", "confirm", "approvals", "coordination", "overdue"}
    assert staff.get("/cases/inbox/").status_code == 200
    detail = staff.get(f"/api/cases/{case.pk}").json()
    assert detail["coordination"] and detail["referrals"][0]["answer"] == "已列入危房改造计划"
    assert "refer" in detail["next_actions"]
    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))
    for url in ("/cases/inbox/", "/cases/referrals/", "/api/cases/inbox", "/api/cases/referrals"):
        assert ngo.get(url).status_code == 403, url


def test_the_pre_assessment_reads_the_visit_against_the_county_standard(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from safetynet.cases.assessment import pre_assess
    from safetynet.registry import services as registry

    case, town, _ = _verified_case(make_user)
    # H001: three persons, verified income 500 → 166.67 per person, below the rural dibao of 780;
    # rigid expenses of 1,200 exceed half the income.
    visit = Step.objects.get(case=case, action="verify")
    found = pre_assess(registry.household_facts("H001"), visit)
    assert found is not None and found.suggested == ("dibao", "rigid_expense")
    assert "人均 166.67 元" in found.text and "低于低保标准 780" in found.text
    case = workflow.act(town, case.pk, case.version, "inform", {"policies": "低保"})
    case = workflow.act(town, case.pk, case.version, "apply", {"program": "dibao"})
    assert "低于低保标准" in Step.objects.get(case=case, action="apply").data["assessment"]
    # H002 already receives tekun: nothing more to assess; H003 earns 2500 alone: only temporary help.
    for household, income, expected in (("H002", "300", ()), ("H003", "2500", ())):
        other = Case.objects.create(household_id=household, region_code="371522100202")
        step = Step.objects.create(
            case=other,
            action="verify",
            from_stage="new",
            to_stage="verified",
            actor=town.user,
            data={**VISIT, "monthly_income": income, "monthly_expense": "0"},
        )
        registry.record_verified_income(household, TODAY, Decimal(income), Decimal(0), f"test:{step.pk}")
        result = pre_assess(registry.household_facts(household), step)
        assert result is not None and result.suggested == expected, result


def test_policies_told_are_recorded_from_the_catalog_by_code(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.policies import services as policies

    policies.seed_catalog("371522", by="test")
    case, town, _ = _verified_case(make_user)
    for codes, reason in (
        (["no-such-policy"], "有效的选项"),
        (["'; DROP TABLE policies_policy; --"], "有效的选项"),
    ):
        with pytest.raises(workflow.StepRejected, match=reason):
            workflow.act(town, case.pk, case.version, "inform", {"policy_codes": codes})
    with pytest.raises(workflow.StepRejected, match="告知的政策"):
        workflow.act(town, case.pk, case.version, "inform", {"policy_codes": [], "policies": " "})
    fits = [p.code for p in policies.matching(town, "H001")]
    assert "dibao" in fits, fits
    case = workflow.act(
        town, case.pk, case.version, "inform", {"policy_codes": ["dibao"], "policies": "邻里互助"}
    )
    told = Step.objects.get(case=case, action="inform").data
    assert (
        told["policy_codes"] == ["dibao"]
        and told["told"] == "最低生活保障"
        and told["policies"] == "邻里互助"
    )


def test_campaign_visits_show_in_the_village_and_township_inboxes(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.campaigns import services as campaigns

    town = _actor(make_user, "town", "township", "371522100000")
    campaigns.declare(
        town,
        name="暴雨后集中排查",
        kind="disaster",
        region_codes=["371522100000"],
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=7),
        target_groups=["all"],
    )
    coordinator = _actor(make_user, "village", "coordinator", "371522100201")
    mine = {s.key: s for s in inbox.for_actor(coordinator)}["campaigns"]
    assert mine.total == 1 and mine.campaigns[0].campaign.name == "暴雨后集中排查"  # H001 in 东王村
    assert {s.key: s for s in inbox.for_actor(town)}["campaigns"].total == 2  # H001 and H002


def test_a_large_backlog_is_listed_fifty_at_a_time_and_counted_to_a_cap(county, make_user) -> None:  # type: ignore[no-untyped-def]
    late = TODAY - dt.timedelta(days=30)
    Case.objects.bulk_create(
        [Case(household_id=f"X{n:05d}", region_code="371522100201", due_on=late) for n in range(1005)]
    )
    town = _actor(make_user, "town", "township", "371522100000")
    overdue = {s.key: s for s in inbox.for_actor(town)}["overdue"]
    assert len(overdue.cases) == inbox.SECTION_LIMIT and overdue.total_shown == "1000+"


def test_the_liaison_desk_whole_identity_multi_line_answer_and_history(county, make_user) -> None:  # type: ignore[no-untyped-def]
    """A department finds the referred person in its own system by the whole ID number (audited, and only
    for referrals to it); its answer keeps its lines, a refused one keeps what was typed; answered
    referrals stay readable as its history; its home page counts what waits."""
    from safetynet.access.models import AuditEntry
    from safetynet.registry.models import Household

    case, _town, county_staff = _verified_case(make_user)
    workflow.act(
        county_staff, case.pk, case.version, "refer", {"department": "housing", "request": "危房改造"}
    )
    referral = Referral.objects.get(case=case)
    whole = Household.objects.get(pk=case.household_id).head_id_number
    housing, medical = Client(), Client()
    housing.force_login(_liaison("zj2", "housing").user)
    medical.force_login(_liaison("yb2", "medical_insurance").user)
    home = housing.get("/").content.decode()
    assert "1 个转介等待本部门答复" in home
    page = housing.get("/cases/referrals/").content.decode()
    assert whole in page and "<textarea" in page
    entry = AuditEntry.objects.filter(action="read", object_type="referral", object_id=str(referral.pk)).get()
    assert entry.username == "zj2" and entry.subject and whole not in entry.subject  # kept as a keyed hash
    assert whole not in medical.get("/cases/referrals/").content.decode()  # not referred to 医保局
    typed = "已核实房屋为C级危房。\n已列入明年改造计划，\n先安排临时租房补贴。"
    refused = housing.post("/cases/referrals/", {"referral": referral.pk, "answer": typed, "helped": "maybe"})
    assert refused.status_code == 422 and typed in refused.content.decode()  # what was typed is kept
    done = housing.post("/cases/referrals/", {"referral": referral.pk, "answer": typed, "helped": "yes"})
    assert done.status_code == 302
    referral.refresh_from_db()
    assert referral.answer == typed  # the lines kept
    history = housing.get("/cases/referrals/").content.decode()
    assert f'data-testid="answered-{referral.pk}"' in history and "先安排临时租房补贴" in history
    assert "没有等待本部门答复的转介" in housing.get("/").content.decode()


def test_the_menu_counts_what_waits_for_each_role(county, make_user) -> None:  # type: ignore[no-untyped-def]
    """待办 counts the region's open cases overdue or due within days, 线索 the leads waiting for triage,
    转介 a department's waiting referrals; a role with nothing waiting shows no number; counts only."""
    import datetime as dt
    import re

    from django.core.cache import cache

    from safetynet.leads.models import Lead

    case, _town, county_staff = _verified_case(make_user)
    workflow.act(
        county_staff, case.pk, case.version, "refer", {"department": "housing", "request": "危房改造"}
    )
    Lead.objects.create(
        channel="hotline", summary="有人生病", details={"name": "赵无名"}, region_code="371522100000"
    )
    Case.objects.filter(pk=case.pk).update(due_on=dt.date.today() + dt.timedelta(days=1))  # due tomorrow
    cache.clear()

    def badges(user) -> list[str]:  # type: ignore[no-untyped-def]
        client = Client()
        client.force_login(user)
        return re.findall(r'data-testid="badge">([^<]+)<', client.get("/policies/").content.decode())

    assert badges(make_user("t2", "township", "371522100000")) == ["1", "1"]  # 线索 1 (triage), 待办 1
    assert badges(_liaison("zj3", "housing").user) == ["1"]
    assert badges(make_user("t3", "township", "371522101000")) == []  # the other township: nothing waits
