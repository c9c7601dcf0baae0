"""The leads list: the true total, every lead reachable a page at a time, urgent first, filters kept
across pages, the household head by name, one audit entry per page read."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.leads.models import Lead


@pytest.mark.django_db
def test_the_lead_list_pages_through_every_lead_with_its_true_total(county, make_user) -> None:  # type: ignore[no-untyped-def]
    Lead.objects.bulk_create(
        [
            Lead(
                channel="hotline" if n % 3 else "visit", summary=f"线索 {n}", region_code="371522100201",
                urgent=n in (7, 77), household_id="H001" if n % 2 else "", match="matched" if n % 2 else "unidentified",
            )
            for n in range(123)
        ]
    )  # fmt: skip
    Lead.objects.create(channel="hotline", summary="别县的线索", region_code="371523100201")  # outside
    client = Client()
    client.force_login(make_user("town", "township", "371522100000"))
    first = client.get("/leads/").content.decode()
    assert "共 123 条" in first and "第 1 页，共 3 页" in first
    rows = re.findall(r'data-lead="(\d+)"', first)
    assert len(rows) == 50 and [Lead.objects.get(pk=r).urgent for r in rows[:2]] == [
        True,
        True,
    ]  # urgent first
    assert "王建国" in first  # the household head by name, not the household code
    seen = set()
    for number in (1, 2, 3):
        seen |= set(re.findall(r'data-lead="(\d+)"', client.get(f"/leads/?page={number}").content.decode()))
    assert len(seen) == 123  # every lead reachable, none twice
    hotline = client.get("/leads/?channel=hotline&page=2").content.decode()
    assert "共 82 条" in hotline and "channel=hotline&amp;page=1" in hotline  # the filter kept in the links
    assert 'data-channel="visit"' not in hotline
    unknown = client.get("/leads/?unidentified=1").content.decode()
    assert "共 62 条" in unknown
    assert client.get("/leads/?page=999").status_code == 200  # past the end: the last page
    assert AuditEntry.objects.filter(
        action="read", object_type="leads", detail__contains="共 123 条线索"
    ).exists()


@pytest.mark.django_db
def test_a_hotline_lead_for_the_household_the_operator_chose_with_the_call_on_record(
    county, make_user
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access.services import Actor
    from safetynet.leads import services
    from safetynet.leads.services import LeadInput, LeadRejected

    hotline = Actor(make_user("hl", "hotline", "371522000000"), "test")
    call = {"caller_name": "李强（儿子）", "caller_phone": "139 1234 0000", "ticket": "12345-0042" + "x" * 60}
    lead = services.report(
        hotline,
        LeadInput("hotline", "母亲独居无人照料", {"name": "张贵兰"}, caller=call, household_id="H002"),
    )
    assert lead.match == "matched" and lead.household_id == "H002" and lead.case_id is not None
    assert lead.details["caller_name"] == "李强（儿子）" and len(lead.details["ticket"]) == 40  # capped
    # a household outside the operator's region is refused, with nothing recorded
    town = Actor(make_user("tw", "township", "371522101000"), "test")  # 观城镇: H002 lives in 燕店镇
    before = Lead.objects.count()
    with pytest.raises(LeadRejected, match="不在您的辖区"):
        services.report(town, LeadInput("patrol", "走访发现", {"name": "张桂兰"}, household_id="H002"))
    assert Lead.objects.count() == before
