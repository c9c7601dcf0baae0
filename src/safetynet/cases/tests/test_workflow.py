"""The intake workflow as a state machine: every path, refusals with reasons, deadlines, conflicts."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.core.exceptions import PermissionDenied

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cases import workdays, workflow
from safetynet.cases.models import Case, Step
from safetynet.leads import services as leads
from safetynet.leads.models import Channel, Lead
from safetynet.registry.models import Assistance

pytestmark = pytest.mark.usefixtures("clock")

TODAY = testing.FROZEN_NOW.date()
VISIT = {
    "visited_on": TODAY.isoformat(),
    "situation": "祖孙二人，孙女上学，老人务农收入微薄",
    "monthly_income": "600",
    "monthly_expense": "400",
    "hardship": True,
    "wants_help": True,
}
LATER = (TODAY + dt.timedelta(days=30)).isoformat()


def _actor(make_user, name: str, role: str, region: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user=make_user(name, role, region), purpose="test")


def _case(make_user, urgent: bool = False) -> tuple[Case, Actor]:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    lead = leads.report(
        hotline,
        leads.LeadInput(
            Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"}, urgent=urgent
        ),
    )
    assert lead.case is not None
    return lead.case, _actor(make_user, "town", "township", "371522100000")


@pytest.mark.django_db
def test_assisted_dibao_application_approved_updates_the_registry(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town = _case(make_user)
    assert case.stage == "new" and case.due_on == workdays.add_working_days(TODAY, 5)[0]
    case = workflow.act(town, case.pk, case.version, "verify", VISIT)
    assert Lead.objects.get(case=case).status == "verifying"
    case = workflow.act(town, case.pk, case.version, "inform", {"policies": "低保、临时救助、教育救助"})
    case = workflow.act(town, case.pk, case.version, "apply", {"program": "dibao"})
    assert case.stage == "applying" and case.due_on == workdays.add_working_days(TODAY, 30)[0]
    case = workflow.act(town, case.pk, case.version, "extend", {"reason": "需补充收入证明"})
    assert case.due_on == workdays.add_working_days(workdays.add_working_days(TODAY, 30)[0], 15)[0]
    with pytest.raises(workflow.StepRejected, match="只能延长一次"):
        workflow.act(town, case.pk, case.version, "extend", {"reason": "再延"})
    # 审核 by the township, 确认 by the county: two people.
    case = workflow.act(town, case.pk, case.version, "review", {"approved": True, "monthly_amount": "780"})
    assert case.stage == "reviewed"
    county_staff = _actor(make_user, "county", "county", "371522000000")
    case = workflow.act(
        county_staff, case.pk, case.version, "decide", {"approved": True, "monthly_amount": "780"}
    )
    assert case.stage == "helping"
    granted = Assistance.objects.get(household_id="H001", program="dibao", start_date=TODAY)
    assert granted.status == "active" and str(granted.monthly_amount) == "780.00"
    assert Lead.objects.get(case=case).status == "helped"
    case = workflow.act(
        town, case.pk, case.version, "follow_up", {"findings": "生活已有保障", "follow_up_on": LATER}
    )
    case = workflow.act(town, case.pk, case.version, "close", {})
    assert case.status == "closed" and case.outcome == "helped"
    assert [s.action for s in Step.objects.filter(case=case)] == [
        "verify",
        "inform",
        "apply",
        "extend",
        "review",
        "decide",
        "follow_up",
        "close",
    ]
    assert AuditEntry.objects.filter(action__startswith="case_", object_id=str(case.pk)).count() == 8


@pytest.mark.django_db
def test_a_voluntary_refusal_is_respected_and_followed_up(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town = _case(make_user, urgent=True)
    assert case.due_on == workdays.add_working_days(TODAY, 1)[0]  # urgent: one working day
    case = workflow.act(town, case.pk, case.version, "verify", {**VISIT, "wants_help": False})
    with pytest.raises(workflow.StepRejected, match="回访日期应晚于今天"):
        workflow.act(
            town,
            case.pk,
            case.version,
            "decline",
            {"reason": "本人不愿申请", "follow_up_on": TODAY.isoformat()},
        )
    case = workflow.act(
        town, case.pk, case.version, "decline", {"reason": "本人不愿申请", "follow_up_on": LATER}
    )
    assert case.status == "closed" and case.outcome == "declined" and case.follow_up_on.isoformat() == LATER  # type: ignore[union-attr]
    case = workflow.act(
        town, case.pk, case.version, "follow_up", {"findings": "仍不愿申请，情况稳定", "follow_up_on": LATER}
    )
    assert case.stage == "closed"


@pytest.mark.django_db
def test_invalid_steps_and_bad_facts_are_refused_with_a_reason(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town = _case(make_user)
    with pytest.raises(workflow.StepRejected, match="当前为“待核实”，不能协助申请"):
        workflow.act(town, case.pk, case.version, "apply", {"program": "dibao"})
    with pytest.raises(workflow.StepRejected, match="未知的操作"):
        workflow.act(town, case.pk, case.version, "'; DROP TABLE cases_case; --", {})
    bad_visits = [
        ({**VISIT, "visited_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "visited_on", "不能晚于今天"),
        ({**VISIT, "visited_on": "2026-02-30"}, "visited_on", "有效的日期"),
        ({**VISIT, "monthly_income": "-1"}, "monthly_income", "大于或等于0"),
        ({**VISIT, "monthly_income": "NaN"}, "monthly_income", "数字"),
        ({**VISIT, "monthly_income": "99999999999"}, "monthly_income", "小于或等于"),
        ({**VISIT, "situation": ""}, "situation", "必填"),
        ({**VISIT, "situation": "x" * 2001}, "situation", "2000"),
        ({**VISIT, "wants_help": "maybe"}, "wants_help", "有效的选项"),
        ({k: v for k, v in VISIT.items() if k != "hardship"}, "hardship", "必填"),
    ]
    for facts, field, reason in bad_visits:
        with pytest.raises(workflow.StepRejected) as refused:
            workflow.act(town, case.pk, case.version, "verify", facts)
        assert refused.value.code == "invalid" and reason in " ".join(refused.value.fields[field]), (
            field,
            refused.value.fields,
        )
        assert reason in str(refused.value)
    assert Case.objects.get(pk=case.pk).stage == "new" and not Step.objects.exists()  # nothing half-saved
    with pytest.raises(workflow.Conflict):
        workflow.act(town, case.pk, case.version + 1, "verify", VISIT)
    outsider = _actor(make_user, "guan", "township", "371522101000")  # another township
    with pytest.raises(PermissionDenied):
        workflow.act(outsider, case.pk, case.version, "verify", VISIT)
    hotline = _actor(make_user, "hot2", "hotline", "371522000000")
    with pytest.raises(PermissionDenied):
        workflow.act(hotline, case.pk, case.version, "verify", VISIT)


@pytest.mark.django_db(transaction=True)
def test_two_people_acting_at_once_exactly_one_wins(county, make_user) -> None:  # type: ignore[no-untyped-def]
    # PostgreSQL locks the row; SQLite's writers take turns (IMMEDIATE transactions): one wins on both.
    case, town = _case(make_user)
    other = _actor(make_user, "town2", "township", "371522100000")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(actor: Actor, situation: str) -> None:
        from django.db import connections

        barrier.wait()
        try:
            workflow.act(actor, case.pk, case.version, "verify", {**VISIT, "situation": situation})
            outcomes.append("won")
        except workflow.Conflict as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(a, s)) for a, s in ((town, "甲记录"), (other, "乙记录"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and outcomes.count("won") == 1, outcomes
    assert "他人更新" in next(o for o in outcomes if o != "won")
    assert Step.objects.filter(case_id=case.pk).count() == 1
    assert Case.objects.get(pk=case.pk).version == case.version + 1


@pytest.mark.django_db
def test_overdue_cases_show_for_their_region(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town = _case(make_user, urgent=True)
    assert workflow.overdue(town) == []
    later = workdays.add_working_days(TODAY, 3)[0]
    assert [c.pk for c in workflow.overdue(town, today=later)] == [case.pk]
    coordinator = _actor(make_user, "coord", "coordinator", "371522100202")  # 西李村: not this village
    assert workflow.overdue(coordinator, today=later) == []


@pytest.mark.django_db
def test_an_emergency_is_paid_first_and_documented_within_five_working_days(county, make_user) -> None:  # type: ignore[no-untyped-def]
    case, town = _case(make_user, urgent=True)
    colleague = _actor(make_user, "town2", "township", "371522100000")
    with pytest.raises(workflow.StepRejected, match="没有待补齐手续"):
        workflow.act(town, case.pk, case.version, "complete_paperwork", {})
    case = workflow.act(
        town, case.pk, case.version, "grant_first", {"amount": "1500", "reason": "突发重病，无钱购药"}
    )
    assert case.stage == "new"  # the money comes before the verification visit
    assert case.paperwork_due == workdays.add_working_days(TODAY, 5)[0]
    paid = Assistance.objects.get(household_id="H001", program="temporary", start_date=TODAY)
    assert paid.status == "ended" and paid.end_date == TODAY and str(paid.monthly_amount) == "1500.00"
    late = workdays.add_working_days(TODAY, 6)[0]
    assert [c.pk for c in workflow.overdue(town, today=late)] == [case.pk]
    case = workflow.act(town, case.pk, case.version, "verify", VISIT)
    with pytest.raises(workflow.StepRejected, match="发放人以外"):  # the payer does not confirm their own
        workflow.act(town, case.pk, case.version, "complete_paperwork", {"reason": "自己确认"})
    case = workflow.act(
        colleague, case.pk, case.version, "complete_paperwork", {"reason": "申请书、收入证明已补齐"}
    )
    assert case.paperwork_due is None and workflow.overdue(town, today=TODAY) == []
    # the paperwork is done; what is due now is informing and helping to apply, 5 working days on
    assert case.due_on == workdays.add_working_days(TODAY, 5)[0]


@pytest.mark.django_db
def test_a_large_amount_waits_for_the_countys_case_by_case_decision(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.cases.models import CountySettings

    CountySettings.objects.create(county_code="371522", temporary_cap="2000")
    case, town = _case(make_user)
    case = workflow.act(
        town, case.pk, case.version, "grant_first", {"amount": "8000", "reason": "房屋倒塌，急需安置"}
    )
    assert str(case.pending_amount) == "8000.00" and case.paperwork_due is None
    assert not Assistance.objects.filter(household_id="H001", program="temporary", start_date=TODAY).exists()
    county_staff = _actor(make_user, "county", "county", "371522000000")
    assert [a for a, _ in workflow.next_actions(case, town)] == ["verify"]
    assert [a for a, _ in workflow.next_actions(case, county_staff)] == ["verify", "approve_amount"]
    with pytest.raises(workflow.StepRejected, match="等待县级"):
        workflow.act(town, case.pk, case.version, "grant_first", {"amount": "100", "reason": "再申请"})
    with pytest.raises(PermissionDenied):
        workflow.act(town, case.pk, case.version, "approve_amount", {"approved": True})
    case = workflow.act(
        county_staff, case.pk, case.version, "approve_amount", {"approved": True, "reason": "经集体研究同意"}
    )
    assert case.pending_amount is None
    paid = Assistance.objects.get(household_id="H001", program="temporary", start_date=TODAY)
    assert str(paid.monthly_amount) == "8000.00"
    step = Step.objects.filter(case=case, action="approve_amount").get()
    assert step.data["amount"] == "8000.00" and step.actor.username == "county"


def test_the_cases_list_shows_its_true_total_and_pages_through_it(county, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Never silently cut: 7 open cases at 3 a page are 3 pages, each row names the household head and the
    village, overdue first; a stage filter narrows the total."""
    import datetime as dt

    from django.test import Client

    from safetynet.cases import workflow as flow
    from safetynet.cases.models import Case

    monkeypatch.setattr(flow, "CASE_PAGE", 3)
    today = dt.date.today()
    for i, household in enumerate(_village_households(7)):
        Case.objects.create(
            household_id=household.pk, region_code=household.region_code,
            stage=Case.Stage.NEW if i < 5 else Case.Stage.VERIFIED, due_on=today + dt.timedelta(days=i - 2),
        )  # fmt: skip
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    seen: list[str] = []
    for number in (1, 2, 3):
        page = town.get("/cases/", {"page": number}).content.decode()
        assert "共 7 条" in page and f"第 {number} 页，共 3 页" in page
        seen += [c for c in page.split('data-case="')[1:]]
    assert len(seen) == 7 and all("王建国" in row and "东王村" in row for row in seen)  # people, not codes
    dues = [re.search(r"\d{4}-\d{2}-\d{2}", row).group() for row in seen]  # type: ignore[union-attr]
    assert dues == sorted(dues) and len(set(dues)) == 7  # every case once, the most overdue first
    assert 'class="late"' in town.get("/cases/").content.decode()
    verified = town.get("/cases/", {"stage": "verified"}).content.decode()
    assert "共 2 条" in verified


def test_an_inbox_section_cut_short_says_so_and_links_to_the_whole_list(
    county, make_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from safetynet.cases import inbox
    from safetynet.cases.models import Case
    from safetynet.leads.models import Channel, Lead

    monkeypatch.setattr(inbox, "SECTION_LIMIT", 2)
    for household in _village_households(3):
        Case.objects.create(household_id=household.pk, region_code=household.region_code)
    for i in range(3):  # three leads nobody could place yet, in the township
        Lead.objects.create(channel=Channel.HOTLINE, summary=f"求助{i}", region_code="371522100000")
    village = Client()
    village.force_login(make_user("coord", "coordinator", "371522100201"))
    page = village.get("/cases/inbox/").content.decode()
    section = page.split('data-testid="section-verify"')[1].split("</section>")[0]
    assert section.count("data-case=") == 2 and "此处只列出前 2 条，共 3 条" in section
    assert 'href="/cases/?stage=new"' in section
    assert "共 3 条" in village.get("/cases/", {"stage": "new"}).content.decode()
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    triage = (
        town.get("/cases/inbox/")
        .content.decode()
        .split('data-testid="section-triage"')[1]
        .split("</section>")[0]
    )
    assert "（3）" in triage and "此处只列出前 2 条，共 3 条" in triage  # the true number waiting


def test_the_case_history_is_in_time_order_and_links_its_warning(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from safetynet.leads.models import Lead

    lead = Lead.objects.filter(source_ref__startswith="warning:", case__isnull=False).order_by("id").first()
    assert lead is not None, "the screened county's warnings open cases"
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    from safetynet.access.models import User

    User.objects.filter(username="town").update(first_name="李建华")
    case = lead.case
    visit = {"visited_on": TODAY.isoformat(), "hardship": True, "situation": "核实属实", "monthly_income": "300",
             "monthly_expense": "0", "wants_help": True}  # fmt: skip
    workflow.act(Actor(User.objects.get(username="town"), "test"), case.pk, case.version, "verify", visit)
    Lead.objects.create(channel="hotline", summary="邻居又来电", region_code=case.region_code, case=case)
    page = town.get(f"/cases/{case.pk}/").content.decode()
    warning_id = lead.source_ref.removeprefix("warning:")
    assert f'href="/screening/warnings/{warning_id}/"' in page  # the case links its warning
    timeline = page.split('data-testid="timeline"')[1].split("</table>")[0]
    times = re.findall(r"<td>(\d{4}-\d{2}-\d{2} \d{2}:\d{2})</td>", timeline)
    assert len(times) >= 3 and times == sorted(times)  # the later call after the visit, not before it
    assert timeline.index("核实属实") < timeline.index("邻居又来电") and "李建华" in timeline


@pytest.mark.parametrize(
    ("action", "fields", "says"),
    [
        ("decline", {"reason": "本人不愿申请，儿子每月寄钱", "follow_up_on": LATER}, "个案将结案"),
        (
            "verify",
            {"visited_on": TODAY.isoformat(), "hardship": "no", "situation": "家中有稳定收入，子女赡养良好",
             "monthly_income": "3000", "monthly_expense": "500", "wants_help": "no"},  # fmt: skip
            "180 天内同样的情况不再预警",
        ),
    ],
)
def test_a_step_that_closes_the_case_is_asked_again_first(county, make_user, action, fields, says) -> None:  # type: ignore[no-untyped-def]
    """本人自愿放弃 and 未发现困难 close the case (and silence its warning): the first submit only says so,
    keeping what was typed; the confirmed one records it."""
    from django.test import Client

    from safetynet.cases.services import open_case_for

    case, _ = open_case_for("H001", "371522100201")
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    if action == "decline":  # declining comes after a founded visit
        visit = {"visited_on": TODAY.isoformat(), "hardship": True, "situation": "核实", "monthly_income": "600",
                 "monthly_expense": "0", "wants_help": False}  # fmt: skip
        workflow.act(Actor(case_user(town), "test"), case.pk, case.version, "verify", visit)
        case.refresh_from_db()
    sent = {"action": action, "version": case.version, **fields}
    asked = town.post(f"/cases/{case.pk}/", sent)
    body = asked.content.decode()
    assert asked.status_code == 200 and says in body and 'name="confirmed" value="1"' in body
    assert next(iter(fields.values())) in body  # the input is kept for the confirming submit
    case.refresh_from_db()
    assert case.status == "open" and not case.steps.filter(action=action).exists()
    done = town.post(f"/cases/{case.pk}/", {**sent, "confirmed": "1"})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.steps.filter(action=action).exists() and case.status == "closed"


def case_user(client):  # type: ignore[no-untyped-def]
    from safetynet.access.models import User

    return User.objects.get(pk=client.session["_auth_user_id"])


def _village_households(n: int) -> list:  # type: ignore[type-arg]
    """n more households of 东王村, each headed (here) by 王建国: one open case per household is allowed."""
    from safetynet.registry.models import Household

    head = Household.objects.get(pk="H001").head_id_number
    return [
        Household.objects.create(
            household_id=f"HX{i:02d}", region_code="371522100201", address="", area_type="rural", head_id_number=head
        )
        for i in range(n)
    ]


def test_a_mistyped_case_number_is_not_found_not_forbidden(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    missing = town.get("/cases/999999/")
    body = missing.content.decode()
    assert missing.status_code == 404 and "您的辖区内没有这条记录" in body and "无权" not in body
