"""The facts each workflow step records: one Django form per action, used by the case page and the API.

A page re-renders a refused form with everything typed and the reason beside each field; the API returns
the same reasons with a stable code. Checks that need the case (amounts against the county's standard,
the county's catalog of policies) get it from the `StepContext` the workflow passes in.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms

from safetynet.access.departments import Department
from safetynet.registry.models import Program

if TYPE_CHECKING:
    from safetynet.cases.actions import StepContext

PROGRAMS = ("dibao", "tekun", "medical", "education", "housing", "employment", "temporary")
MAX_AMOUNT = Decimal("10000000")
YES_NO = (("yes", "是"), ("no", "否"))
TRUE_WORDS = {True, "1", "true", "True", "yes", "on", "是"}
FALSE_WORDS = {False, "0", "false", "False", "no", "off", "否"}


class YesNoField(forms.TypedChoiceField):
    """是 / 否 from a page's select, or true / false from JSON. The select starts on an empty choice, so
    nobody records hardship found, or an approval, by leaving a default untouched."""

    def __init__(self, *, blank: str = "请选择", **kwargs: Any):
        choices = (("", blank), *YES_NO)
        super().__init__(choices=choices, coerce=lambda v: v == "yes", empty_value=None, **kwargs)

    def to_python(self, value: Any) -> str:
        if value in TRUE_WORDS:
            return "yes"
        if value in FALSE_WORDS:
            return "no"
        return super().to_python(value)


class MoneyField(forms.DecimalField):
    """Yuan, kept to the fen: 8000 and 8000.00 are one amount."""

    def clean(self, value: Any) -> Decimal | None:
        found = super().clean(value)
        return found.quantize(Decimal("0.01")) if found is not None else None


def money(label: str, **kwargs: Any) -> forms.DecimalField:
    """A yuan amount; phones open the number pad."""
    return MoneyField(
        label=label,
        min_value=Decimal(0),
        max_value=MAX_AMOUNT,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": "0"}),
        **kwargs,
    )


def day(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


def text(label: str, limit: int, *, required: bool = True, area: bool = False) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3}) if area else forms.TextInput()
    return forms.CharField(label=label, max_length=limit, required=required, widget=widget)


class StepForm(forms.Form):
    """A step's form; `ctx` is the case being worked on (None when only rendering an empty form)."""

    def __init__(self, data: Any = None, *, ctx: StepContext | None = None, **kwargs: Any):
        super().__init__(data, **kwargs)
        self.ctx = ctx

    def facts(self) -> dict[str, Any]:
        """The cleaned values as JSON for the step's record."""
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            if value in ("", None, []) and not isinstance(value, bool):
                continue
            out[name] = value
        return out

    def require_when(self, condition: bool, field: str, message: str) -> None:
        if condition and not self.cleaned_data.get(field):
            self.add_error(field, message)


class VerifyForm(StepForm):
    visited_on = day("查访日期")
    hardship = YesNoField(label="是否存在困难")
    situation = text("家庭情况", 2000, area=True)
    monthly_income = money("家庭月收入（元）")
    monthly_expense = money("家庭月刚性支出（元）")
    wants_help = YesNoField(label="本人是否愿意申请")
    can_apply = YesNoField(label="本人能否自行申请", required=False, blank="不清楚")  # unknown: staff help

    def clean_visited_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["visited_on"]
        if self.ctx and value > self.ctx.today:
            raise forms.ValidationError("查访日期不能晚于今天")
        return value


class InformForm(StepForm):
    policy_codes = forms.MultipleChoiceField(
        label="告知的政策目录", required=False, widget=forms.CheckboxSelectMultiple
    )
    policies = text("其他告知的政策", 1000, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.ctx is not None:
            field = self.fields["policy_codes"]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = list(self.ctx.policy_titles().items())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("policy_codes") and not cleaned.get("policies") and not self.errors:
            self.add_error("policies", "请选择或填写告知的政策")
        return cleaned

    def facts(self) -> dict[str, Any]:
        facts = super().facts()
        titles = self.ctx.policy_titles() if self.ctx else {}
        if facts.get("policy_codes"):
            # The catalog's titles as they read today, kept with the step: a title may change later.
            facts["told"] = "、".join(titles.get(c, c) for c in facts["policy_codes"])
        return facts


class DeclineForm(StepForm):
    reason = text("原因", 500)
    follow_up_on = day("回访日期")

    def clean_follow_up_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["follow_up_on"]
        if self.ctx and value <= self.ctx.today:
            raise forms.ValidationError("回访日期应晚于今天")
        return value


class ApplyForm(StepForm):
    program = forms.ChoiceField(label="申请项目", choices=[(p, Program(p).label) for p in PROGRAMS])


class ReasonForm(StepForm):
    reason = text("说明", 500, required=False)


class ExtendForm(StepForm):
    reason = text("延期原因", 500)


class DecisionForm(StepForm):
    """审核 and 确认 both record a decision; the amount is checked against the county's rules."""

    approved = YesNoField(label="是否批准")
    monthly_amount = money("月救助金额（元）", required=False)
    reason = text("理由", 500, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        approved = cleaned.get("approved")
        self.require_when(approved is False, "reason", "不予批准时请填写理由")
        if approved:
            amount = cleaned.get("monthly_amount")
            if amount is None:
                self.add_error("monthly_amount", "批准时请填写月救助金额")
            elif self.ctx is not None:
                problem = self.ctx.amount_problem(self.ctx.program(), amount)
                if problem:
                    self.add_error("monthly_amount", problem)
        return cleaned


class FollowUpForm(StepForm):
    findings = text("回访情况", 2000, area=True)
    follow_up_on = day("下次回访日期")

    def clean_follow_up_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["follow_up_on"]
        if self.ctx and value <= self.ctx.today:
            raise forms.ValidationError("下次回访日期应晚于今天")
        return value


class GrantFirstForm(StepForm):
    amount = money("救助金额（元）")
    reason = text("急难情形", 500)

    def clean_amount(self) -> Decimal:
        value: Decimal = self.cleaned_data["amount"]
        if value <= 0:
            raise forms.ValidationError("救助金额应大于 0")
        return value


class ApproveAmountForm(StepForm):
    approved = YesNoField(label="一事一议结果（是为批准）")
    reason = text("理由", 500, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            self.require_when(cleaned.get("approved") is False, "reason", "不予批准时请填写理由")
        return cleaned


class ReferForm(StepForm):
    department = forms.ChoiceField(label="转介部门", choices=Department.choices)
    request = text("转介事项", 1000, area=True)


class AnswerForm(forms.Form):
    """A department's answer to a referral."""

    answer = text("答复内容", 2000, area=True)
    helped = YesNoField(label="是否已帮扶")
