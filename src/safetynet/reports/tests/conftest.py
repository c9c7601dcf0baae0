"""The county with known events the leaders' analysis is checked against (see test_measures.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache

from safetynet.access.services import Actor
from safetynet.cases import inbox, workflow
from safetynet.cases.models import Case
from safetynet.leads import services as leads
from safetynet.leads.models import Channel
from safetynet.registry.models import Assistance, Household
from safetynet.reports import tallies
from safetynet.screening import services as screening
from safetynet.screening.models import RiskWarning, Run

TZ = dt.timezone(dt.timedelta(hours=8))
VISIT = {"situation": "老人独居，患病", "monthly_income": "600", "monthly_expense": "400", "wants_help": True}


@contextmanager
def on(day: str) -> Iterator[None]:
    with time_machine.travel(dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=TZ), tick=False):
        yield


def _warning(household: str, rule: str, level: str) -> int:
    """A live run's warning for the household, turned into its lead as screening does."""
    h = Household.objects.get(pk=household)
    run = Run.objects.create(
        pack=screening.active_pack(), engine="duckdb", as_of=dt.date.today(), status="done"
    )
    RiskWarning.objects.create(
        run=run, household_id=h.pk, region_code=h.region_code, id_number=h.head_id_number, rule_id=rule,
        level=level, score=Decimal(1), explanation="测试预警", fingerprint=f"{household}{rule}{run.pk}", status="open",
    )  # fmt: skip
    assert leads.leads_from_warnings(run.pk) == 1
    return Case.objects.get(household_id=household, status="open").pk


def _act(actor: Actor, case_id: int, action: str, data: dict[str, object]) -> None:
    case = Case.objects.get(pk=case_id)
    workflow.act(actor, case_id, case.version, action, data)


@pytest.fixture
def history(household_facts, make_user):  # type: ignore[no-untyped-def]
    town = Actor(make_user("town", "township", "371522100000"), "test")
    town2 = Actor(make_user("town2", "township", "371522101000"), "test")
    county = Actor(make_user("county", "county", "371522000000"), "test")
    hotline = Actor(make_user("hotline", "hotline", "371522000000"), "test")
    with on("2026-03-02"):
        a = _warning("H001", "medical_burden", "red")
    with on("2026-03-03"):
        leads.report(
            hotline,
            leads.LeadInput(Channel.HOTLINE, "老人看病没钱", {"name": "王建国", "phone": "13812345678"}),
        )
    with on("2026-03-05"):
        _act(town, a, "verify", {**VISIT, "visited_on": "2026-03-05", "hardship": True})
    with on("2026-03-06"):
        _act(town, a, "inform", {"policies": "最低生活保障"})
    with on("2026-03-09"):
        _act(town, a, "apply", {"program": "dibao"})
    with on("2026-03-10"):
        _act(town, a, "review", {"approved": True, "monthly_amount": "780"})
        b = _warning("H002", "elderly_alone", "orange")
    with on("2026-03-12"):
        _act(town, b, "verify", {**VISIT, "visited_on": "2026-03-12", "hardship": False})
    with on("2026-03-16"):
        _act(county, a, "decide", {"approved": True, "monthly_amount": "780"})
    with on("2026-04-13"):
        c = _warning("H003", "medical_burden", "yellow")
    with on("2026-04-20"):
        _act(town2, c, "verify", {**VISIT, "visited_on": "2026-04-20", "hardship": True})
        _act(town2, c, "grant_first", {"amount": "1500", "reason": "住院急需用钱"})
    with on("2026-04-21"):
        _act(town2, c, "inform", {"policies": "临时救助、医疗救助"})
    with on("2026-04-22"):
        _act(county, c, "complete_paperwork", {"reason": "材料已补齐"})
        _act(town2, c, "decline", {"reason": "本人暂不申请低保", "follow_up_on": "2026-07-01"})
    head3 = Household.objects.get(pk="H003").head_id_number
    Assistance.objects.create(
        person_id=head3, household_id="H003", program="dibao", status="active", start_date=dt.date(2026, 5, 6)
    )
    tallies.recount_registry()  # as a registry import does
    with on("2026-05-11"):
        d = leads.report_for_household(town, "H002", "self_report", "家属来电求助").case_id
    with on("2026-05-25"):
        assert inbox.escalate()["county"] == 1
    cache.clear()
    return {"a": a, "b": b, "c": c, "d": d, "county": county, "town": town}
