"""Months of casework for the demo county, so the leaders' analysis has a story to tell.

The demo's first screening run opens today's cases. Here a share of them, and leads from the other
channels (hotline, patrols, the families themselves), are taken through the real workflow (every step
checked as a person's would be), then dated back over the past months as if the work had happened then:
some townships work faster than others, some rules are more often right than others, the most recent
cases are still open and some of those are overdue. The tallies are then counted again from the steps.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from safetynet.access.models import User
from safetynet.access.services import Actor
from safetynet.cases import workdays, workflow
from safetynet.cases.models import Case, Step
from safetynet.leads import services as leads
from safetynet.leads.models import Lead
from safetynet.registry.models import Assistance, Household

# How often each rule's households are found in real hardship on the visit: the precision a county
# would learn to tune its pack by (the rest: the data said hardship, the visit found none).
RULE_PRECISION = {
    "medical_burden": 0.78, "serious_illness": 0.7, "breadwinner_death": 0.85, "severe_disability": 0.72,
    "elderly_alone": 0.45, "unemployment_dependents": 0.55, "disaster_loss": 0.8, "relapse_risk": 0.5,
    "child_without_guardian": 0.9, "tekun_candidate": 0.75,
}  # fmt: skip
CHANNEL_PRECISION = {"hotline": 0.7, "patrol": 0.6, "self_report": 0.8}
OTHER_CHANNELS = (("hotline", "来电反映家中老人患病无人照料"), ("patrol", "乡镇排查发现家庭生活困难"),
                  ("self_report", "家属到乡镇求助"))  # fmt: skip


@dataclass
class Plan:
    case_id: int
    opened: dt.date
    pace: float  # the township's pace: 1 is the notice's, 2 twice as slow
    steps: list[str] = field(default_factory=list)


def simulate(
    months: int = 18, cases: int = 600, seed: int = 20221021, today: dt.date | None = None
) -> dict[str, int]:
    """Take up to `cases` cases through the workflow and spread them over the last `months` months."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    county = _actor("county")
    admin = _actor("admin")
    if county is None or admin is None:
        return {"cases": 0}
    if Step.objects.exists():  # the history is made once; a second demo start keeps it
        return {"cases": 0}
    households = list(Household.objects.order_by("household_id").values_list("household_id", flat=True))
    busy = set(Case.objects.filter(status="open").values_list("household_id", flat=True))
    free = [h for h in households if h not in busy]
    rng.shuffle(free)
    for (channel, summary), household in zip(OTHER_CHANNELS * (cases // 6), free, strict=False):
        leads.report_for_household(county, household, channel, summary)
    open_cases = list(Case.objects.filter(status="open").order_by("id").values_list("id", flat=True))
    rng.shuffle(open_cases)
    chosen, waiting = sorted(open_cases[:cases]), open_cases[cases:]
    towns = sorted(
        {code[:9] for code in Case.objects.filter(pk__in=open_cases).values_list("region_code", flat=True)}
    )
    pace = {t: rng.choice((0.6, 0.8, 1.0, 1.0, 1.3, 1.8)) for t in towns}
    start = today - dt.timedelta(days=30 * months)
    plans = []
    for case_id in chosen:
        case = Case.objects.get(pk=case_id)
        # more cases lately: discovery grows as the mechanism beds in
        opened = start + dt.timedelta(days=int((today - start).days * rng.random() ** 0.7))
        plan = Plan(case_id, opened, pace[case.region_code[:9]])
        _work(plan, case, county, admin, rng, today)
        plans.append(plan)
    for case_id, region in Case.objects.filter(pk__in=waiting).values_list("id", "region_code"):
        # the rest of the latest run's cases: found in the last month, not visited yet, most of them in the
        # last few days (a county that keeps up, with a backlog of some 30 % past their deadline)
        plans.append(Plan(case_id, today - dt.timedelta(days=int(30 * rng.random() ** 4)), pace[region[:9]]))
    _date_back(plans, rng)
    from safetynet.cases import inbox
    from safetynet.reports import tallies

    inbox.escalate(today)
    tallies.rebuild()
    return {
        "cases": len(plans),
        "worked": len(chosen),
        "closed": Case.objects.filter(status="closed").count(),
    }


def _actor(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    return Actor(user, "示例县办理历史") if user else None


def _work(plan: Plan, case: Case, county: Actor, admin: Actor, rng: random.Random, today: dt.date) -> None:
    """As far as a case opened on `plan.opened` would have got by today."""
    age = workdays.working_days_between(plan.opened, today) / plan.pace
    first = Lead.objects.filter(case_id=case.pk).order_by("id").first()
    rule = (first.details or {}).get("rule_id", "") if first else ""
    precision = RULE_PRECISION.get(rule, CHANNEL_PRECISION.get(first.channel if first else "", 0.6))

    def act(actor: Actor, action: str, data: dict[str, object]) -> bool:
        current = Case.objects.get(pk=case.pk)
        try:
            workflow.act(actor, case.pk, current.version, action, data)
        except (workflow.StepRejected, workflow.Conflict):
            return False
        plan.steps.append(action)
        return True

    if age < rng.uniform(2, 9):  # still waiting for its visit; the oldest of these are overdue
        return
    founded = rng.random() < precision
    visit = {"visited_on": today.isoformat(), "situation": "入户核实家庭收入、支出和成员情况",
             "monthly_income": str(rng.randrange(200, 1500)), "monthly_expense": str(rng.randrange(100, 900)),
             "hardship": founded, "wants_help": True}  # fmt: skip
    if not act(county, "verify", visit) or not founded:
        return
    if rng.random() < 0.2:
        act(admin, "grant_first", {"amount": str(rng.randrange(5, 30) * 100), "reason": "急难情形，先行救助"})
        if rng.random() < 0.85:
            act(county, "complete_paperwork", {"reason": "手续已补齐"})
    if age < 12 or not act(county, "inform", {"policies": "最低生活保障、临时救助、医疗救助"}):
        return
    if rng.random() < 0.12:
        act(
            county,
            "decline",
            {"reason": "本人暂不申请", "follow_up_on": (today + dt.timedelta(days=90)).isoformat()},
        )
        return
    program = rng.choice(("dibao", "dibao", "dibao", "temporary", "medical"))
    if not act(county, "apply", {"program": program}) or age < 25:
        return
    approved = rng.random() < 0.82
    amount = {"monthly_amount": str(rng.randrange(300, 700))} if approved else {"reason": "收入超过标准"}
    if not act(admin, "review", {"approved": approved, **amount}) or age < 35:
        return
    if not act(county, "decide", {"approved": approved, **amount}) and approved:
        # the amount did not fit the county's rules: decided as not approved, as a county would
        act(county, "decide", {"approved": False, "reason": "核定金额不符合规定"})


def _date_back(plans: list[Plan], rng: random.Random) -> None:
    """Each step dated where it would have happened: working days after the one before, at the
    township's pace; leads and the case at the opening date; grants at their decision."""
    with transaction.atomic():
        for plan in plans:
            when = plan.opened
            moments: dict[int, dt.datetime] = {}
            for step in Step.objects.filter(case_id=plan.case_id).order_by("id"):
                gap = {"verify": rng.randint(1, 6), "inform": rng.randint(1, 4), "apply": rng.randint(1, 5),
                       "review": rng.randint(5, 15), "decide": rng.randint(3, 12), "grant_first": 0,
                       "complete_paperwork": rng.randint(2, 7)}.get(step.action, 1)  # fmt: skip
                when = workdays.add_working_days(when, max(0, round(gap * plan.pace)))[0]
                moments[step.pk] = _moment(when, rng)
                if "visited_on" in step.data:
                    Step.objects.filter(pk=step.pk).update(data={**step.data, "visited_on": when.isoformat()})
            opened_at = _moment(plan.opened, rng, hour=9)
            Case.objects.filter(pk=plan.case_id).update(opened_at=opened_at, **_deadline(plan, when))
            Lead.objects.filter(case_id=plan.case_id).update(created_at=opened_at)
            by_day: dict[dt.datetime, list[int]] = defaultdict(list)
            for pk, at in moments.items():
                by_day[at].append(pk)
            for at, pks in by_day.items():
                Step.objects.filter(pk__in=pks).update(at=at)
            for pk, at in moments.items():
                Assistance.objects.filter(reference=f"case:{plan.case_id}:step:{pk}").update(
                    start_date=timezone.localtime(at).date()
                )


def _deadline(plan: Plan, last: dt.date) -> dict[str, object]:
    """An open case's deadline counted from its last dated step, so the oldest waits are overdue."""
    case = Case.objects.get(pk=plan.case_id)
    if case.status != "open" or case.due_on is None:
        return {}
    limit = {"new": 1 if case.urgent else 5, "verified": 5, "informed": 5, "applying": 30, "reviewed": 30}
    return {"due_on": workdays.add_working_days(last, limit.get(case.stage, 5))[0]}


def _moment(day: dt.date, rng: random.Random, hour: int | None = None) -> dt.datetime:
    clock = dt.time(hour if hour is not None else rng.randint(9, 16), rng.randint(0, 59))
    return timezone.make_aware(dt.datetime.combine(day, clock))
