"""What one case counts for in the leaders' figures, derived from its steps and leads alone.

A case is a household episode: it counts once in the discovery funnel of the month it was opened, under
the channel of its first lead (数据比对预警, 走访, 热线 …), at each stage it has reached so far; and once in
the month each thing happened for the activity figures (leads received, verifications per rule, working
days to verification, escalations …). The function is pure: the same case always gives the same counts,
which is what lets `tallies` apply only the difference when an event arrives, and rebuild from scratch
with the very same result.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from safetynet.cases import workdays

# Measures (the `measure` column of a tally) and what their keys are.
FUNNEL = "funnel"  # key "<channel>|<stage>", in the month the case was opened
STAGE = "stage"  # key "<stage>": the funnel of every channel together (what comparisons and trends read)
LEADS = "leads"  # key channel, month the lead arrived
WARNINGS = "warnings"  # key "<rule>|<level>", month the warning's lead arrived
RULE_VERIFIED, RULE_FOUNDED = "rule_verified", "rule_founded"  # key rule, month of the verification
CHANNEL_VERIFIED, CHANNEL_FOUNDED = "channel_verified", "channel_founded"  # key channel, same month
DAYS_VERIFY, DAYS_DECIDE, DAYS_HELP = "days_verify", "days_decide", "days_help"  # key working days
# Per channel, in the month of the first help: cases helped, and their working days to help added up (for
# the mean: a histogram per channel would multiply the rows a page reads by the channels).
CHANNEL_HELPED, CHANNEL_HELP_DAYS = "channel_helped", "channel_help_days"  # key channel
COVERED = "covered"  # key proactive | own: newly covered by dibao or tekun through a case
ESCALATED = "escalated"  # key township | county, month of the escalation
PAPERWORK = "paperwork"  # key due | on_time | late: grant-first paperwork, month paid / completed
OPEN_NOW = "open_now"  # key: the open case's earliest deadline (YYYY-MM-DD, or "" for none), month NOW
REGISTRY_COVERED = (
    "registry_covered"  # dibao or tekun the registry's own records started (tallies.recount_registry)
)
# The month of what is true now rather than in a month (open cases): before any month a period can hold.
NOW = "1900-01-01"

# Funnel stages in their order, each with the stage its conversion is counted from: "helped" (a decision
# approved, temporary assistance paid first, or a department's help) of those found in hardship.
STAGES = {"opened": "", "verified": "opened", "founded": "verified", "informed": "founded",
          "applied": "informed", "approved": "applied", "helped": "founded"}  # fmt: skip
# Beside the funnel: "approved:<program>" refines "approved"; these count from the stage given.
SIDE_STAGES = {"unfounded": "verified", "declined": "founded", "rejected": "applied", "paid_first": "founded"}
MAX_DAYS = 60  # a longer wait counts as 60 working days (three months): the tail shows, histograms stay small
PROACTIVE_EXEMPT = "self_report"  # the person or family asked: not proactive discovery
COVERING = ("dibao", "tekun")
UNKNOWN_CHANNEL = "other"

Contribution = tuple[str, str, str, str]  # village, month (YYYY-MM-01), measure, key


class CaseRow(NamedTuple):
    case_id: int
    region_code: str
    opened_on: dt.date
    open: bool = False
    # every deadline the open case waits on: its step's, grant-first paperwork's, departments' answers'
    deadlines: tuple[dt.date, ...] = ()


class StepRow(NamedTuple):
    action: str
    on: dt.date
    data: dict[str, Any]


class LeadRow(NamedTuple):
    channel: str
    on: dt.date
    rule_id: str  # a warning's rule, else ""
    level: str


# The working-day limit for grant-first paperwork in a county (cases.actions.deadline_days).
PaperworkDays = Callable[[str], int]


def month(day: dt.date) -> str:
    return day.replace(day=1).isoformat()


def days_between(start: dt.date, end: dt.date) -> int:
    return max(0, min(MAX_DAYS, workdays.working_days_between(start, end)))


def contributions(
    case: CaseRow, steps: list[StepRow], leads: list[LeadRow], paperwork_days: PaperworkDays
) -> Counter[Contribution]:
    """Every count the case contributes now. Steps and leads in the order they happened."""
    village, opened = case.region_code, case.opened_on
    out: Counter[Contribution] = Counter()

    def add(day: dt.date, measure: str, key: str) -> None:
        out[(village, month(day), measure, key)] += 1

    channel = leads[0].channel if leads else UNKNOWN_CHANNEL
    channels = sorted({lead.channel for lead in leads}) or [UNKNOWN_CHANNEL]
    rules = sorted({lead.rule_id for lead in leads if lead.rule_id})

    reached: set[str] = set()  # funnel stages: a case counts once at each, however it got there
    stage = reached.add

    stage("opened")
    for lead in leads:
        add(lead.on, LEADS, lead.channel)
        if lead.rule_id:
            add(lead.on, WARNINGS, f"{lead.rule_id}|{lead.level}")

    verified = first(steps, "verify")
    if verified is not None:
        founded = bool(verified.data.get("hardship"))
        stage("verified")
        stage("founded" if founded else "unfounded")
        add(verified.on, DAYS_VERIFY, str(days_between(opened, verified.on)))
        for rule in rules:
            add(verified.on, RULE_VERIFIED, rule)
            if founded:
                add(verified.on, RULE_FOUNDED, rule)
        for each in channels:
            add(verified.on, CHANNEL_VERIFIED, each)
            if founded:
                add(verified.on, CHANNEL_FOUNDED, each)
    if first(steps, "inform") is not None:
        stage("informed")
    if first(steps, "decline") is not None:
        stage("declined")
    if first(steps, "apply") is not None:
        stage("applied")

    decided = first(steps, "decide")
    helped_on: dt.date | None = None
    if decided is not None:
        add(decided.on, DAYS_DECIDE, str(days_between(opened, decided.on)))
        if decided.data.get("approved"):
            program = str(decided.data.get("program") or "dibao")
            stage("approved")
            stage(f"approved:{program}")
            helped_on = decided.on
            if program in COVERING:
                add(decided.on, COVERED, "own" if channel == PROACTIVE_EXEMPT else "proactive")
        else:
            stage("rejected")
    paid = [s for s in steps if paid_first(s)]
    if paid:
        stage("paid_first")
        helped_on = min(helped_on or paid[0].on, paid[0].on)
    answered = [s for s in steps if s.action == "answer" and s.data.get("helped")]
    if answered:
        helped_on = min(helped_on or answered[0].on, answered[0].on)
    if helped_on is not None:
        stage("helped")
        days = days_between(opened, helped_on)
        add(helped_on, DAYS_HELP, str(days))
        add(helped_on, CHANNEL_HELPED, channel)
        out[(village, month(helped_on), CHANNEL_HELP_DAYS, channel)] += days

    for step in steps:
        if step.action == "escalate":
            level = "county" if "县" in str(step.data.get("to", "")) else "township"
            add(step.on, ESCALATED, level)
    _paperwork(steps, add, paperwork_days(village[:6]))
    if case.open:  # overdue is read against the day of reading: what is kept is the earliest deadline
        out[(village, NOW, OPEN_NOW, min(case.deadlines).isoformat() if case.deadlines else "")] += 1
    for name in reached:
        add(opened, FUNNEL, f"{channel}|{name}")
        add(opened, STAGE, name)
    return out


def _paperwork(steps: list[StepRow], add: Callable[[dt.date, str, str], None], limit: int) -> None:
    """Each grant-first payment's paperwork: due (month paid), then on time or late (month completed)
    against the deadline the payment set (or, for a step recorded before it was kept, the county's)."""
    due_on: dt.date | None = None
    for step in steps:
        if step.action == "grant_first" and paid_first(step):
            add(step.on, PAPERWORK, "due")
            kept = step.data.get("paperwork_due")
            due_on = dt.date.fromisoformat(kept) if kept else workdays.add_working_days(step.on, limit)[0]
        elif step.action == "complete_paperwork" and due_on is not None:
            add(step.on, PAPERWORK, "on_time" if step.on <= due_on else "late")
            due_on = None


def paid_first(step: StepRow) -> bool:
    return (step.action == "grant_first" and step.data.get("routed") == "paid") or (
        step.action == "approve_amount" and bool(step.data.get("approved"))
    )


def first(steps: list[StepRow], action: str) -> StepRow | None:
    return next((s for s in steps if s.action == action), None)
