"""A county's own working-day limits per step and its temporary-assistance cap, set by its administrator."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction

from safetynet.access.services import Actor, record
from safetynet.cases.models import CountyLimit, DeadlinePolicy
from safetynet.cases.workflow import DEFAULT_DEADLINES, DEFAULT_TEMPORARY_CAP, StepRejected, _money

STEP_LABELS = {
    "verify_urgent": "红色预警、紧急线索的实地核实",
    "verify": "其他线索的实地核实",
    "dibao_decision": "低保审批决定",
    "dibao_extension": "低保审批延期",
    "grant_first_paperwork": "先行救助补齐手续",
    "referral_answer": "部门答复转介",
    "escalate_to_county": "逾期多久升级至县级",
}
MAX_DAYS = 60


@dataclass(frozen=True)
class DeadlineSetting:
    step: str
    label: str
    working_days: int
    default: int


def _county(actor: Actor) -> str:
    user = actor.user
    if not user.caps.tunes_rules or user.region is None or user.region.level != "county":
        raise PermissionDenied("only a county administrator sets the county's deadlines")
    return user.region.code[:6]


def current(actor: Actor) -> tuple[list[DeadlineSetting], Decimal]:
    county = _county(actor)
    own = dict(DeadlinePolicy.objects.filter(county_code=county).values_list("step", "working_days"))
    cap = CountyLimit.objects.filter(county_code=county).values_list("temporary_cap", flat=True).first()
    rows = [DeadlineSetting(s, STEP_LABELS[s], own.get(s, d), d) for s, d in DEFAULT_DEADLINES.items()]
    return rows, cap if cap is not None else DEFAULT_TEMPORARY_CAP


def save(actor: Actor, days: dict[str, str], temporary_cap: str) -> None:
    """All or nothing: every value is checked before any is saved."""
    county = _county(actor)
    checked: dict[str, int] = {}
    for step, value in days.items():
        if step not in DEFAULT_DEADLINES:
            raise StepRejected(f"未知的环节：{str(step)[:20]}")
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
            raise StepRejected(f"“{STEP_LABELS[step]}”应为 1 到 {MAX_DAYS} 之间的工作日数")
        checked[step] = int(text)
    cap = _money({"amount": temporary_cap}, "amount")
    if cap <= 0:
        raise StepRejected("临时救助审批权限金额应大于 0")
    with transaction.atomic():
        for step, working_days in checked.items():
            DeadlinePolicy.objects.update_or_create(
                county_code=county, step=step, defaults={"working_days": working_days}
            )
        CountyLimit.objects.update_or_create(county_code=county, defaults={"temporary_cap": cap})
        detail = ", ".join(f"{s}={d}" for s, d in checked.items()) + f", cap={cap}"
        record(
            actor, "case_settings", "county", county, region_code=actor.user.region_id or "", detail=detail
        )
