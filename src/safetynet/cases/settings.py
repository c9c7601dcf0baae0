"""A county's own rules, set by its administrator: working-day limits per step, the temporary-assistance
cap, how dibao amounts round, the window for flagging repeated grants, and whether townships confirm
decisions (审核确认 delegated, `access.Delegation`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.db import transaction

from safetynet.access import services as access
from safetynet.access.permissions import Cap, require
from safetynet.access.roles import Role
from safetynet.access.services import Actor, record
from safetynet.cases.actions import DEFAULT_DEADLINES, StepRejected, county_settings
from safetynet.cases.forms import YesNoField, money
from safetynet.cases.models import CountySettings, DeadlinePolicy

STEP_LABELS = {
    "verify_urgent": "红色预警、紧急线索的实地核实",
    "verify": "其他线索的实地核实",
    "inform_and_apply": "核实有困难后告知政策、协助申请",
    "dibao_decision": "低保审批决定",
    "dibao_extension": "低保审批延期",
    "grant_first_paperwork": "先行救助补齐手续",
    "referral_answer": "部门答复转介",
    "escalate_to_county": "逾期多久升级至县级",
}
MAX_DAYS = 60
ROUNDING = (("0.01", "不取整（精确到分）"), ("1", "向上取整到元"), ("10", "向上取整到十元"))


@dataclass(frozen=True)
class DeadlineSetting:
    step: str
    label: str
    working_days: int
    default: int


class SettingsForm(forms.Form):
    temporary_cap = money("乡镇可先行发放的临时救助上限（元），超过由县级一事一议")
    amount_rounding = forms.TypedChoiceField(label="低保金取整", choices=ROUNDING, coerce=Decimal)
    repeat_window_days = forms.IntegerField(label="多少天内重复临时救助需提示", min_value=1, max_value=3660)
    township_decides = YesNoField(label="乡镇（街道）可确认低保、特困审批（县级委托审核确认）")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for step, label in STEP_LABELS.items():
            self.fields[step] = forms.IntegerField(
                label=label,
                min_value=1,
                max_value=MAX_DAYS,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def clean_temporary_cap(self) -> Decimal:
        value: Decimal = self.cleaned_data["temporary_cap"]
        if value <= 0:
            raise forms.ValidationError("临时救助审批权限金额应大于 0")
        return value


def _county(actor: Actor) -> str:
    require(actor, Cap.CASE_SETTINGS)
    county = actor.user.county_code
    if not county or actor.user.region.level != "county":  # type: ignore[union-attr]
        raise StepRejected("只有县级管理员可以设置本县规则")
    return county


def current(actor: Actor) -> dict[str, Any]:
    """The county's settings as the form's initial values."""
    county = _county(actor)
    own = dict(DeadlinePolicy.objects.filter(county_code=county).values_list("step", "working_days"))
    found = county_settings(county)
    return {
        **{s: own.get(s, d) for s, d in DEFAULT_DEADLINES.items()},
        "temporary_cap": found.temporary_cap,
        "amount_rounding": str(found.amount_rounding.normalize()) if found.amount_rounding >= 1 else "0.01",
        "repeat_window_days": found.repeat_window_days,
        "township_decides": "yes" if access.delegated(county, Cap.DECIDE, Role.TOWNSHIP) else "no",
    }


def deadlines(actor: Actor) -> list[DeadlineSetting]:
    values = current(actor)
    return [DeadlineSetting(s, STEP_LABELS[s], values[s], d) for s, d in DEFAULT_DEADLINES.items()]


def save(actor: Actor, form: SettingsForm) -> None:
    """All or nothing: the form is checked whole before anything is saved."""
    county = _county(actor)
    if not form.is_valid():
        raise StepRejected("请检查填写的内容", code="invalid")
    data = form.cleaned_data
    with transaction.atomic():
        for step in DEFAULT_DEADLINES:
            DeadlinePolicy.objects.update_or_create(
                county_code=county, step=step, defaults={"working_days": data[step]}
            )
        CountySettings.objects.update_or_create(
            county_code=county,
            defaults={
                "temporary_cap": data["temporary_cap"],
                "amount_rounding": data["amount_rounding"],
                "repeat_window_days": data["repeat_window_days"],
            },
        )
        access.delegate(actor, county, Cap.DECIDE, Role.TOWNSHIP, bool(data["township_decides"]))
        detail = ", ".join(f"{k}={v}" for k, v in data.items())
        record(
            actor, "case_settings", "county", county, region_code=actor.user.region_id or "", detail=detail
        )
