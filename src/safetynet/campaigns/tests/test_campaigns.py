"""Campaign services on the small county: who is chosen per group, scope, bad input, visits, leads, progress.

The county (safetynet.testing): H001 东王村 (王建国 68, 李秀英, 王小红: per-capita 366.67, low income, not
covered), H002 西李村 (张桂兰 85, alone, disability level 2, tekun), H003 南张村 (刘强 40, alone, 2500 a month).
The tests add H004 南张村 (one person earning 1000 a month: between dibao 780 and the low-income line 1170).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.campaigns import services
from safetynet.campaigns.models import Campaign, VisitTask
from safetynet.cases.models import Case
from safetynet.leads import services as leads
from safetynet.leads.models import Channel, Lead
from safetynet.registry.models import Household, Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

COUNTY, YANDIAN, GUANCHENG = "371522000000", "371522100000", "371522101000"
DONGWANG, XILI, NANZHANG = "371522100201", "371522100202", "371522101201"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _actor(make_user, name: str, role: str, region: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user=make_user(name, role, region), purpose="test")


def _declare(actor: Actor, **changes: object) -> Campaign:
    today = timezone.localdate()
    data: dict[str, object] = {
        "name": "7·20 暴雨灾后集中排查",
        "kind": "disaster",
        "region_codes": [COUNTY],
        "starts_on": today,
        "ends_on": today + dt.timedelta(days=14),
        "target_groups": ["all"],
    }
    data.update(changes)
    return services.declare(actor, **data)  # type: ignore[arg-type]


def _chosen(campaign: Campaign) -> dict[str, str]:
    return dict(campaign.tasks.values_list("household_id", "groups"))


@pytest.fixture(autouse=True)
def _county(household_facts):  # type: ignore[no-untyped-def]
    return household_facts


@pytest.fixture
def edge_household(county) -> str:  # type: ignore[no-untyped-def]
    """H004: one person in 南张村 earning 1000 a month: low income and dibao edge, not covered."""
    person_id = testing.make_id_number(dt.date(1980, 4, 1), 7, True)
    Household.objects.create(
        household_id="H004",
        region_code=NANZHANG,
        address="观城镇南张村 9 号",
        area_type="rural",
        head_id_number=person_id,
    )
    Person.objects.create(
        id_number=person_id,
        name="赵磊",
        gender="M",
        birth_date=dt.date(1980, 4, 1),
        household_id="H004",
        relation="head",
        employment="farmer",
        monthly_income=Decimal(1000),
    )
    testing.compute_facts()
    return "H004"


@pytest.fixture
def county_admin(make_user) -> Actor:  # type: ignore[no-untyped-def]
    return _actor(make_user, "county", "county_admin", COUNTY)


# -- who is chosen --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (["all"], {"H001", "H002", "H003", "H004"}),
        (["low_income"], {"H001", "H002", "H004"}),  # 366.67, 0 and 1000 < 1170; H003 2500 is not
        (["dibao_edge"], {"H004"}),  # H001 is below dibao itself; H002 is covered (tekun)
        (["elderly_alone"], {"H002"}),  # H003 lives alone but is 40
        (["disabled"], {"H002"}),
        (["serious_illness"], set()),
        (["covered"], {"H002"}),  # H001's temporary assistance ended in 2023 and is not dibao/tekun
        (["elderly_alone", "dibao_edge"], {"H002", "H004"}),
    ],
)
def test_households_chosen_per_group(county_admin, edge_household, groups, expected) -> None:  # type: ignore[no-untyped-def]
    if not expected:
        with pytest.raises(services.CampaignRejected, match="没有符合条件的户"):
            _declare(county_admin, target_groups=groups)
        assert not Campaign.objects.exists()
        return
    campaign = _declare(county_admin, target_groups=groups)
    assert set(_chosen(campaign)) == expected
    assert (
        campaign.tasks.get(household_id=sorted(expected)[0]).region_code
        == Household.objects.get(pk=sorted(expected)[0]).region_code
    )


def test_a_task_remembers_every_group_that_chose_it(county_admin, edge_household) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin, target_groups=list(Campaign.Group.values))
    assert _chosen(campaign) == {
        "H001": "low_income,all",
        "H002": "low_income,elderly_alone,disabled,covered,all",
        "H003": "all",
        "H004": "low_income,dibao_edge,all",
    }


def test_the_dead_count_for_nothing(county_admin) -> None:  # type: ignore[no-untyped-def]
    """With his wife and granddaughter dead, 王建国 (68) lives alone; 李秀英's illness no longer counts."""
    Person.objects.filter(name="李秀英").update(serious_illness=True)
    testing.compute_facts()
    assert set(_chosen(_declare(county_admin, target_groups=["serious_illness"]))) == {"H001"}
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Person.objects.filter(name__in=["李秀英", "王小红"]).update(death_date=yesterday)
    testing.compute_facts()
    with pytest.raises(services.CampaignRejected):
        _declare(county_admin, target_groups=["serious_illness"])
    assert set(_chosen(_declare(county_admin, target_groups=["elderly_alone"]))) == {"H001", "H002"}
    # 800 a month for one living member: no longer below dibao (780) but below the line (1170): dibao edge.
    assert set(_chosen(_declare(county_admin, target_groups=["dibao_edge"]))) == {"H001"}


def test_a_township_campaign_covers_its_villages_only(make_user) -> None:  # type: ignore[no-untyped-def]
    township = _actor(make_user, "yandian", "township", YANDIAN)
    campaign = _declare(township, region_codes=[YANDIAN, DONGWANG])  # the village is inside the township
    assert set(_chosen(campaign)) == {"H001", "H002"}
    assert campaign.region_codes == [YANDIAN] and campaign.county_code == "371522"
    entry = AuditEntry.objects.get(action="declare_campaign")
    assert entry.object_id == str(campaign.pk) and entry.username == "yandian" and "2 户" in entry.detail
    village_only = _declare(township, region_codes=[XILI], target_groups=["disabled"])
    assert set(_chosen(village_only)) == {"H002"}


# -- scope ----------------------------------------------------------------------------------------


def test_a_township_cannot_declare_for_another_township(make_user) -> None:  # type: ignore[no-untyped-def]
    township = _actor(make_user, "yandian", "township", YANDIAN)
    for codes in ([GUANCHENG], [NANZHANG], [YANDIAN, NANZHANG], [COUNTY]):
        with pytest.raises(services.CampaignRejected, match="不在您的辖区内"):
            _declare(township, region_codes=codes)
    assert not Campaign.objects.exists() and not VisitTask.objects.exists()


@pytest.mark.parametrize("role", ["coordinator", "hotline", "social_org", "liaison", "leader", "auditor"])
def test_only_townships_and_the_county_declare(make_user, role) -> None:  # type: ignore[no-untyped-def]
    region = DONGWANG if role == "coordinator" else COUNTY
    with pytest.raises(PermissionDenied):
        _declare(_actor(make_user, role, role, region), region_codes=[DONGWANG])
    assert not Campaign.objects.exists()


def test_a_coordinator_sees_and_records_only_their_village(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    mine = services.tasks(coordinator, campaign.pk)
    assert mine is not None and [t.household_id for t in mine] == ["H001"]
    assert [t.household_id for t in services.my_tasks(coordinator)] == ["H001"]
    other = campaign.tasks.get(household_id="H002")  # 西李村
    with pytest.raises(PermissionDenied):
        services.record_visit(coordinator, other.pk, "hardship", "独居老人房屋漏雨")
    other.refresh_from_db()
    assert other.status == VisitTask.Status.PENDING and not Lead.objects.exists()
    assert services.get_task(coordinator, other.pk) is None
    progress = services.progress(coordinator, campaign.pk)
    assert progress is not None and [v.region_code for v in progress.villages] == [DONGWANG]


def test_a_coordinator_elsewhere_does_not_see_the_campaign(make_user) -> None:  # type: ignore[no-untyped-def]
    township = _actor(make_user, "yandian", "township", YANDIAN)
    campaign = _declare(township, region_codes=[DONGWANG])
    nanzhang = _actor(make_user, "nanzhang", "coordinator", NANZHANG)
    assert services.campaigns(nanzhang) == []
    assert services.progress(nanzhang, campaign.pk) is None
    assert services.tasks(nanzhang, campaign.pk) is None
    guancheng = _actor(make_user, "guancheng", "township", GUANCHENG)
    assert services.campaigns(guancheng) == []


def test_task_identifiers_are_masked_for_a_coordinator_not_for_a_township(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    wang = Person.objects.get(name="王建国")
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    before = AuditEntry.objects.filter(action="read").count()
    (task,) = services.tasks(coordinator, campaign.pk) or []
    assert task.head_name == "王建国" and task.address == "燕店镇东王村 12 号"
    assert task.head_id_number != wang.id_number and task.head_id_number.endswith(wang.id_number[-4:])
    assert task.phone == "138****5678"
    assert AuditEntry.objects.filter(action="read", object_type="campaign_tasks").count() == before + 1
    township = _actor(make_user, "yandian", "township", YANDIAN)
    whole = {t.household_id: t for t in services.tasks(township, campaign.pk) or []}
    assert set(whole) == {"H001", "H002"} and whole["H001"].head_id_number == wang.id_number


@pytest.mark.parametrize("role", ["hotline", "social_org", "liaison", "auditor"])
def test_no_access_for_other_roles(county_admin, make_user, role) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    task = campaign.tasks.get(household_id="H001")
    actor = _actor(make_user, role, role, COUNTY)
    for call in (
        lambda: services.campaigns(actor),
        lambda: services.progress(actor, campaign.pk),
        lambda: services.tasks(actor, campaign.pk),
        lambda: services.my_tasks(actor),
        lambda: services.record_visit(actor, task.pk, "no_hardship"),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_a_leader_sees_aggregate_progress_only(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    leader = _actor(make_user, "leader", "leader", "371500000000")  # 聊城市
    (summary,) = services.campaigns(leader)
    assert summary.counts.total == 3
    progress = services.progress(leader, campaign.pk)
    assert progress is not None and len(progress.villages) == 3
    with pytest.raises(PermissionDenied):
        services.tasks(leader, campaign.pk)
    with pytest.raises(PermissionDenied):
        services.record_visit(leader, campaign.tasks.first().pk, "no_hardship")  # type: ignore[union-attr]


# -- bad input ------------------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


BAD = [
    ({"ends_on": testing.FROZEN_NOW.date() - dt.timedelta(days=1)}, "结束日期不能早于开始日期"),
    (
        {
            "starts_on": testing.FROZEN_NOW.date() - dt.timedelta(days=30),
            "ends_on": testing.FROZEN_NOW.date() - dt.timedelta(days=2),
        },
        "结束日期已过",
    ),
    ({"ends_on": testing.FROZEN_NOW.date() + dt.timedelta(days=400)}, "不能超过一年"),
    ({"starts_on": "2025-13-40"}, "开始日期"),
    ({"ends_on": ""}, "结束日期"),
    ({"target_groups": []}, "至少选择一类"),
    ({"target_groups": ["rich"]}, "未知的排查对象类别"),
    ({"target_groups": ["all", "'; DROP TABLE campaigns_campaign; --"]}, "未知的排查对象类别"),
    ({"region_codes": []}, "请选择排查"),
    ({"region_codes": ["371522199999"]}, "未知的行政区划"),
    ({"region_codes": ["3715221002O1"]}, "12 位数字"),
    ({"region_codes": ["' OR 1=1 --"]}, "12 位数字"),
    ({"region_codes": ["110105000000"]}, "未知的行政区划"),
    ({"region_codes": ["371500000000"]}, "只能按县、乡镇"),
    ({"name": ""}, "请填写排查名称"),
    ({"name": "   \x00\x07  "}, "请填写排查名称"),
    ({"name": "<script>alert(1)</script>"}, "不能包含"),
    ({"name": "排" * 101}, "100 字以内"),
    ({"kind": "war"}, "请选择排查类型"),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(county_admin, changes, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.CampaignRejected) as error:
        _declare(county_admin, **changes)
    assert message in str(error.value) and CJK.search(str(error.value))
    assert not Campaign.objects.exists() and not VisitTask.objects.exists()
    assert not AuditEntry.objects.filter(action="declare_campaign").exists()


def test_sql_looking_text_is_only_text(county_admin) -> None:  # type: ignore[no-untyped-def]
    name = "'; DROP TABLE campaigns_campaign; --"
    campaign = _declare(county_admin, name=name)
    assert Campaign.objects.get(pk=campaign.pk).name == name
    assert "campaigns_campaign" in connection.introspection.table_names()


def test_low_income_needs_the_county_standard(county_admin) -> None:  # type: ignore[no-untyped-def]
    from safetynet.registry.models import Standard

    Standard.objects.filter(year=_today().year).delete()
    testing.compute_facts()
    with pytest.raises(services.CampaignRejected, match="低保标准尚未录入"):
        _declare(county_admin, target_groups=["low_income"])
    assert set(_chosen(_declare(county_admin, target_groups=["covered"]))) == {"H002"}


# -- visits ---------------------------------------------------------------------------------------


def test_a_hardship_found_becomes_one_lead_and_opens_the_case(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    task = campaign.tasks.get(household_id="H001")
    done = services.record_visit(coordinator, task.pk, "hardship", "房屋被淹，口粮不足", urgent=True)
    assert done.status == VisitTask.Status.HARDSHIP and done.urgent and done.visited_by == coordinator.user
    (lead,) = Lead.objects.all()
    assert done.lead_id == lead.pk
    assert lead.channel == Channel.VISIT and lead.household_id == "H001" and lead.urgent
    assert lead.source_ref == f"campaign:{campaign.pk}:H001"
    assert "房屋被淹" in lead.summary and campaign.name in lead.summary
    case = Case.objects.get(household_id="H001", status="open")
    assert lead.case_id == case.pk and case.urgent
    assert AuditEntry.objects.filter(action="record_visit", object_id=str(task.pk)).count() == 1
    assert AuditEntry.objects.filter(action="report_lead", object_id=str(lead.pk)).count() == 1
    view = services.get_task(coordinator, task.pk)
    assert view is not None and view.case_id == case.pk


def test_a_township_hardship_joins_the_open_case_through_patrol(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", COUNTY)
    call = leads.report(
        hotline,
        leads.LeadInput(Channel.HOTLINE, "老人摔倒无人照料", {"name": "张桂兰", "phone": "13900001111"}),
    )
    assert call.case_id
    campaign = _declare(county_admin)
    township = _actor(make_user, "yandian", "township", YANDIAN)
    task = campaign.tasks.get(household_id="H002")
    done = services.record_visit(township, task.pk, "hardship", "灾后房屋漏雨，需要临时救助")
    assert done.lead is not None and done.lead.channel == Channel.PATROL
    assert done.lead.case_id == call.case_id
    assert Case.objects.filter(household_id="H002").count() == 1
    assert Lead.objects.filter(source_ref=f"campaign:{campaign.pk}:H002").count() == 1


def test_recording_twice_is_refused_and_the_first_record_stays(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    township = _actor(make_user, "yandian", "township", YANDIAN)
    task = campaign.tasks.get(household_id="H001")
    services.record_visit(coordinator, task.pk, "hardship", "口粮不足")
    for actor, outcome in (
        (coordinator, "hardship"),
        (township, "no_hardship"),
        (coordinator, "unreachable"),
    ):
        with pytest.raises(services.AlreadyRecorded, match="不能重复记录"):
            services.record_visit(actor, task.pk, outcome, "再次走访")
    task.refresh_from_db()
    assert task.status == "hardship" and task.findings == "口粮不足" and task.visited_by == coordinator.user
    assert Lead.objects.count() == 1
    assert AuditEntry.objects.filter(action="record_visit").count() == 1


@pytest.mark.parametrize(
    ("outcome", "findings", "message"),
    [
        ("hardship", "", "请填写困难情况"),
        ("hardship", "  \x00 ", "请填写困难情况"),
        ("fine", "一切正常", "请选择走访结果"),
        ("pending", "", "请选择走访结果"),
        ("hardship", "困" * 801, "800 字以内"),
        ("no_hardship", "x" * 5000, "800 字以内"),
    ],
)
def test_bad_visits_are_refused_and_nothing_is_saved(
    county_admin, make_user, outcome, findings, message
) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    task = campaign.tasks.get(household_id="H001")
    with pytest.raises(services.CampaignRejected, match=message):
        services.record_visit(coordinator, task.pk, outcome, findings)
    task.refresh_from_db()
    assert task.status == "pending" and task.visited_by is None and task.findings == ""
    assert not Lead.objects.exists() and not Case.objects.exists()
    assert not AuditEntry.objects.filter(action="record_visit").exists()


def test_hostile_findings_are_kept_as_text(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    task = campaign.tasks.get(household_id="H001")
    hostile = "<script>alert(1)</script>'; DROP TABLE leads_lead; --"
    done = services.record_visit(coordinator, task.pk, "hardship", hostile)
    assert done.findings == hostile and done.lead is not None and hostile in done.lead.summary
    assert "leads_lead" in connection.introspection.table_names()


def test_a_closed_campaign_takes_no_more_visits(make_user) -> None:  # type: ignore[no-untyped-def]
    township = _actor(make_user, "yandian", "township", YANDIAN)
    campaign = _declare(township, region_codes=[YANDIAN])
    guancheng = _actor(make_user, "guancheng", "township", GUANCHENG)
    with pytest.raises(PermissionDenied):
        services.close(guancheng, campaign.pk)
    services.close(township, campaign.pk)
    with pytest.raises(services.CampaignRejected, match="已结束"):
        services.close(township, campaign.pk)
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    task = campaign.tasks.get(household_id="H001")
    with pytest.raises(services.CampaignRejected, match="排查已结束"):
        services.record_visit(coordinator, task.pk, "no_hardship")
    assert services.my_tasks(coordinator) == []


# -- progress -------------------------------------------------------------------------------------


def test_progress_by_village(county_admin, make_user) -> None:  # type: ignore[no-untyped-def]
    campaign = _declare(county_admin)
    services.record_visit(
        _actor(make_user, "dongwang", "coordinator", DONGWANG),
        campaign.tasks.get(household_id="H001").pk,
        "hardship",
        "口粮不足",
    )
    services.record_visit(
        _actor(make_user, "yandian", "township", YANDIAN),
        campaign.tasks.get(household_id="H002").pk,
        "unreachable",
        "外出就医，电话未接",
    )
    summary = services.progress(county_admin, campaign.pk)
    assert summary is not None
    rows = {
        v.region_code: (v.region_name, v.total, v.visited, v.hardship, v.unreachable, v.pending, v.percent)
        for v in summary.villages
    }
    assert rows == {
        DONGWANG: ("燕店镇 东王村", 1, 1, 1, 0, 0, 100),
        XILI: ("燕店镇 西李村", 1, 1, 0, 1, 0, 100),
        NANZHANG: ("观城镇 南张村", 1, 0, 0, 0, 1, 0),
    }
    assert (summary.counts.total, summary.counts.visited, summary.counts.percent) == (
        3,
        2,
        66.6,
    )  # one decimal, down
    assert not summary.overdue and not any(v.late for v in summary.villages)
    township = services.progress(_actor(make_user, "guancheng", "township", GUANCHENG), campaign.pk)
    assert township is not None and [v.region_code for v in township.villages] == [NANZHANG]
    (listed,) = services.campaigns(county_admin)
    assert (listed.counts.total, listed.counts.pending, listed.counts.hardship) == (3, 1, 1)

    Campaign.objects.filter(pk=campaign.pk).update(
        starts_on=_today() - dt.timedelta(days=20), ends_on=_today() - dt.timedelta(days=1)
    )
    late = services.progress(county_admin, campaign.pk)
    assert late is not None and late.overdue
    assert [v.region_code for v in late.villages if v.late] == [NANZHANG]  # the villages done are not late


@pytest.mark.django_db(transaction=True)
def test_two_people_recording_at_once_exactly_one_wins(county, make_user) -> None:  # type: ignore[no-untyped-def]
    import threading

    # PostgreSQL locks the row; SQLite's writers take turns (IMMEDIATE transactions): one wins on both.
    campaign = _declare(_actor(make_user, "county", "county", COUNTY))
    task = campaign.tasks.get(household_id="H001")
    coordinator = _actor(make_user, "dongwang", "coordinator", DONGWANG)
    township = _actor(make_user, "yandian", "township", YANDIAN)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(actor: Actor, findings: str) -> None:
        from django.db import connections

        barrier.wait()
        try:
            services.record_visit(actor, task.pk, "hardship", findings)
            outcomes.append("won")
        except services.AlreadyRecorded as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=a) for a in ((coordinator, "甲记录"), (township, "乙记录"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and outcomes.count("won") == 1, outcomes
    assert "不能重复记录" in next(o for o in outcomes if o != "won")
    assert Lead.objects.filter(household_id="H001").count() == 1
    assert AuditEntry.objects.filter(action="record_visit").count() == 1


def test_closing_a_campaign_is_asked_again_first(county_admin) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    campaign = _declare(county_admin)
    admin = Client()
    admin.force_login(county_admin.user)
    asked = admin.post(f"/campaigns/{campaign.pk}/", {"action": "close"})
    assert asked.status_code == 200 and "结束后不能重新打开" in asked.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN
    assert admin.post(f"/campaigns/{campaign.pk}/", {"action": "close", "confirmed": "1"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED


def test_progress_is_shown_to_one_decimal_rounded_down() -> None:
    assert services.Counts(total=257, pending=255).percent == 0.7  # 2 of 257: not "0 %"
    assert services.Counts(total=3, pending=1).percent == 66.6
    assert services.Counts(total=1000, pending=1).percent == 99.9  # never 100 % while one is left
    assert services.Counts(total=0, pending=0).percent == 0.0
