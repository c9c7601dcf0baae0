"""Leads from every channel: matched, merged per household into one open case, assigned by region."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cases.models import Case
from safetynet.leads import services
from safetynet.leads.models import Channel, Lead
from safetynet.linkage.models import Review
from safetynet.screening import services as screening

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _actor(make_user, name: str, role: str, region: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user=make_user(name, role, region), purpose="test")


def test_leads_about_one_household_share_its_case_and_its_village(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    village = _actor(make_user, "coord", "coordinator", "371522101201")  # 南张村, 刘强's village
    call = services.report(
        hotline,
        services.LeadInput(
            Channel.HOTLINE, "妻子住院，家里没有收入", {"name": "柳强", "phone": "+86 150-5555-6666"}
        ),
    )
    assert call.match == Lead.Match.MATCHED and call.household_id == "H003"
    assert call.region_code == "371522101201" and call.case is not None
    visit = services.report(
        village,
        services.LeadInput(
            Channel.VISIT, "入户走访发现生活困难", {"name": "刘强", "age": "40", "address_text": "南张村"}
        ),
    )
    assert visit.household_id == "H003" and visit.case_id == call.case_id
    assert Case.objects.filter(household_id="H003", status="open").count() == 1
    assert [lead.pk for lead in services.case_leads(village, call.case_id)] == [call.pk, visit.pk]
    assert AuditEntry.objects.filter(action="report_lead").count() == 2


def test_unidentified_leads_wait_for_the_township_the_place_points_to(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    lead = services.report(
        hotline,
        services.LeadInput(
            Channel.HOTLINE, "独居老人无人照料", {"name": "陈某某", "address_text": "燕店镇"}, urgent=True
        ),
    )
    assert lead.match == Lead.Match.UNIDENTIFIED and lead.case is None
    assert lead.region_code == "371522100000"  # 燕店镇: the township triages it
    township = _actor(make_user, "town", "township", "371522100000")
    coordinator = _actor(make_user, "coord", "coordinator", "371522100201")
    assert [x.pk for x in services.inbox(township)] == [lead.pk]
    assert services.inbox(coordinator) == []
    nowhere = services.report(
        hotline, services.LeadInput(Channel.HOTLINE, "来电求助", {"name": "赵某", "phone": "13000000000"})
    )
    assert nowhere.region_code == "371522000000"  # nothing known of the place: the county keeps it


def test_each_role_reports_only_through_its_channels(county, make_user) -> None:  # type: ignore[no-untyped-def]
    ngo = _actor(make_user, "ngo", "social_org", "371522000000")
    coordinator = _actor(make_user, "coord", "coordinator", "371522100201")
    auditor = _actor(make_user, "audit", "auditor", "371522000000")
    details = {"name": "王建国"}
    for actor, channel in ((ngo, Channel.HOTLINE), (coordinator, Channel.WARNING), (auditor, Channel.VISIT)):
        with pytest.raises(PermissionDenied):
            services.report(actor, services.LeadInput(channel, "x", details))
    assert services.report(ngo, services.LeadInput(Channel.SOCIAL_ORG, "志愿者走访发现", details)).pk


def test_bad_and_hostile_input_is_refused_or_kept_as_text(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    with pytest.raises(services.LeadRejected, match="困难情况"):
        services.report(hotline, services.LeadInput(Channel.HOTLINE, "   ", {"name": "张三"}))
    with pytest.raises(services.LeadRejected, match="1000"):
        services.report(hotline, services.LeadInput(Channel.HOTLINE, "难" * 1001, {"name": "张三"}))
    with pytest.raises(services.LeadRejected, match="至少填写"):
        services.report(hotline, services.LeadInput(Channel.HOTLINE, "求助", {"gender": "男"}))
    with pytest.raises(services.LeadRejected, match="出生日期"):
        services.report(
            hotline, services.LeadInput(Channel.HOTLINE, "求助", {"name": "张三", "birth_date": "1990-02-30"})
        )
    hostile = services.report(
        hotline,
        services.LeadInput(
            Channel.HOTLINE,
            "<script>alert(1)</script>\x00'; DROP TABLE leads_lead; --",
            {"name": "=cmd|' /C calc'!A0", "address_text": "x" * 5000},
        ),
    )
    assert "\x00" not in hostile.summary and "<script>" in hostile.summary  # kept as text, escaped on output
    assert len(hostile.details["address_text"]) == 200
    assert Lead.objects.count() == 1


def test_new_warnings_become_leads_once_and_join_reported_ones(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    warned = Lead.objects.filter(channel=Channel.WARNING)
    households = set(warned.values_list("household_id", flat=True))
    assert {"H001", "H002"} <= households
    assert all(lead.case_id and lead.source_ref.startswith("warning:") for lead in warned)
    red = warned.filter(details__level="red").first()
    assert red is not None and red.urgent and red.case.urgent  # type: ignore[union-attr]
    count = warned.count()
    screening.screen()  # the same evidence again: suppressed, no new lead
    assert Lead.objects.filter(channel=Channel.WARNING).count() == count
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    call = services.report(
        hotline,
        services.LeadInput(Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"}),
    )
    assert call.case_id == warned.get(household_id="H001", details__rule_id="child_without_guardian").case_id


def test_api_report_inbox_and_what_a_social_organisation_sees(county, make_user) -> None:  # type: ignore[no-untyped-def]
    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))
    body = {
        "channel": "social_org",
        "summary": "社工走访：老人行动不便，无人照顾",
        "name": "张桂兰",
        "address_text": "燕店镇西李村",
        "age": "85",
        "reporter_name": "阳光社工站",
    }
    created = ngo.post("/api/leads", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "received" and data["status_label"] == "已受理"
    assert "household_id" not in data and "H002" not in created.content.decode()
    assert Lead.objects.get(pk=data["lead_id"]).household_id == "H002"  # matched, but not for the NGO's eyes
    mine = ngo.get("/api/leads/mine").json()
    assert [m["lead_id"] for m in mine] == [data["lead_id"]] and "H002" not in str(mine)
    assert ngo.get("/api/leads").status_code == 403
    assert ngo.get(f"/api/leads/{data['lead_id']}").status_code == 403
    assert (
        ngo.post("/api/leads", {**body, "channel": "hotline"}, content_type="application/json").status_code
        == 403
    )
    assert ngo.post("/api/leads", {**body, "summary": ""}, content_type="application/json").status_code == 422

    township = Client()
    township.force_login(make_user("town", "township", "371522100000"))
    inbox = township.get("/api/leads").json()
    assert [x["lead_id"] for x in inbox] == [data["lead_id"]] and inbox[0]["household_id"] == "H002"
    other = Client()
    other.force_login(make_user("guan", "township", "371522101000"))  # 观城镇: another township
    assert other.get("/api/leads").json() == []
    assert other.get(f"/api/leads/{data['lead_id']}").status_code == 404


def test_an_uncertain_match_waits_for_review(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.linkage.services import active_model

    model = active_model()
    model.match_threshold, model.review_threshold = 0.999999, 0.0001  # force the middle band
    model.save()
    hotline = _actor(make_user, "hotline", "hotline", "371522000000")
    lead = services.report(
        hotline, services.LeadInput(Channel.HOTLINE, "求助", {"name": "刘墙", "address_text": "观城"})
    )
    assert lead.match == Lead.Match.UNIDENTIFIED
    assert Review.objects.filter(source="lead", source_ref=f"lead:{lead.pk}").exists()


def test_a_lead_handed_to_a_village_leaves_the_townships_triage(county, make_user) -> None:  # type: ignore[no-untyped-def]
    """分派 moves the lead: the township's triage no longer lists it, the village's inbox does."""
    lead = Lead.objects.create(channel="hotline", summary="村里老人无人照顾", region_code="371522100000")
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    town.get("/cases/inbox/")
    answer = town.post("/cases/inbox/", {"lead": lead.pk, "region_code": "371522100201"}, follow=True)
    assert "已分派" in answer.content.decode()
    triage = answer.content.decode().split('data-testid="section-triage"')[1].split("</section>")[0]
    assert f'data-lead="{lead.pk}"' not in triage
    village = Client()
    village.force_login(make_user("coord", "coordinator", "371522100201"))
    mine = village.get("/cases/inbox/").content.decode().split('data-testid="section-triage"')[1]
    assert f'data-lead="{lead.pk}"' in mine.split("</section>")[0]


def test_a_warnings_lead_reads_in_words(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    """Its details name the rule by its title and the level by its colour, not `rule_id` and `red`."""
    import re

    lead = Lead.objects.filter(channel="warning").order_by("id").first()
    assert lead is not None
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    details = town.get(f"/leads/{lead.pk}/").content.decode().split('data-testid="lead"')[1].split("</dl>")[0]
    shown = re.sub(r"<[^>]+>", " ", details)
    assert "预警规则" in shown and "预警等级" in shown and "红色" in shown
    assert not re.findall(r"(?<![A-Za-z0-9/_.-])[a-z_]{4,}(?![A-Za-z0-9_])", shown), shown
