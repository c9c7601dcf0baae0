"""The intake workflow of the Ministry's notice as one object per action: who may take it (a capability of
`access.permissions`), from which stages, the form of what it records, its guard, and its effect.

new ─verify(hardship)─▶ verified ─inform─▶ informed ─apply─▶ applying ─review─▶ reviewed ─decide─▶ helping
  └verify(no hardship)─▶ closed      └──decline──┴─▶ closed (the person's choice, a follow-up date)
reviewed ─decide(rejected)─▶ closed; helping ─close─▶ closed; helping/closed ─follow_up─▶ same stage
verified/informed/applying/reviewed/helping ─refer─▶ (helping) — the county's coordination; every
department must answer before the case closes. grant_first, complete_paperwork and approve_amount run
beside the main line: temporary assistance paid first, its paperwork confirmed by someone else, a large
amount decided case by case by the county.

`workflow.act` takes an action in one transaction under the case's optimistic lock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any, ClassVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from safetynet.access.departments import Department
from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.cases import forms, workdays
from safetynet.cases.models import Case, CountySettings, DeadlinePolicy, Referral, Step
from safetynet.registry import services as registry

S = Case.Stage
OPEN_STAGES = (S.NEW, S.VERIFIED, S.INFORMED, S.APPLYING, S.REVIEWED, S.HELPING)
WORKING = (S.VERIFIED, S.INFORMED, S.APPLYING, S.REVIEWED, S.HELPING)

# Defaults of the notice; a county overrides any of them with a DeadlinePolicy row.
DEFAULT_DEADLINES = {
    "verify_urgent": 1,  # a red warning or an urgent report is verified within one working day
    "verify": 5,
    "inform_and_apply": 5,  # after a founded visit: tell the policies and help apply, so nobody waits unowned
    "dibao_decision": 30,
    "dibao_extension": 15,
    "grant_first_paperwork": 5,
    "referral_answer": 10,  # a department answers a referral of the coordination mechanism
    "escalate_to_county": 3,  # working days a step may stay overdue at township level before the county
}
DEFAULT_SETTINGS = CountySettings(
    temporary_cap=Decimal("3000"), amount_rounding=Decimal(1), repeat_window_days=90
)
OUTCOMES = {
    "helped": "已帮扶",
    "declined": "本人自愿放弃",
    "rejected": "审批未通过",
    "unfounded": "核实未发现困难",
}
# Decisions a second person must confirm (审核 by one, 确认 by another).
TWO_PERSON_PROGRAMS = ("dibao", "tekun")
PROGRAM_NAMES = {"dibao": "最低生活保障", "tekun": "特困供养"}


class Conflict(Exception):
    """Someone else moved the case first; nothing of this action was saved."""


class StepRejected(ValueError):
    """The action is not possible now, or its facts are malformed: the reason is for the person.

    `code` is stable for API clients; `fields` holds per-field reasons of a refused form."""

    def __init__(
        self, message: str, code: str = "not_allowed_now", fields: dict[str, list[str]] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.fields = fields or {}
        self.form: Any = None  # the refused form, bound to what was typed


def deadline_days(county_code: str, step: str) -> int:
    found = DeadlinePolicy.objects.filter(county_code=county_code, step=step).values_list(
        "working_days", flat=True
    )
    return found.first() or DEFAULT_DEADLINES[step]


def county_settings(county_code: str) -> CountySettings:
    return CountySettings.objects.filter(county_code=county_code).first() or DEFAULT_SETTINGS


def due(today: dt.date, county: str, step: str) -> tuple[dt.date, bool]:
    """The deadline `step` allows from today, and whether the holiday calendar only estimates it."""
    day, certain = workdays.add_working_days(today, deadline_days(county, step))
    return day, not certain


@dataclass
class StepContext:
    """The case an action is taken on, with what its checks need, read once."""

    actor: Actor
    case: Case
    today: dt.date

    @property
    def county(self) -> str:
        return self.case.region_code[:6]

    @cached_property
    def settings(self) -> CountySettings:
        return county_settings(self.county)

    @cached_property
    def steps(self) -> list[Step]:
        return list(Step.objects.filter(case=self.case).order_by("id"))

    def last(self, *actions: str) -> Step | None:
        return next((s for s in reversed(self.steps) if s.action in actions), None)

    def did_last(self, *actions: str) -> bool:
        """Whether the newest of these steps was the actor's own (the two-person rules)."""
        step = self.last(*actions)
        return step is not None and step.actor_id == self.actor.user.pk

    @cached_property
    def waiting_referrals(self) -> list[str]:
        """Departments that have not yet answered this case's referrals."""
        rows = Referral.objects.filter(case=self.case, answered_at__isnull=True)
        return list(rows.values_list("department", flat=True))

    def program(self) -> str:
        applied = self.last("apply")
        return str(applied.data.get("program", "")) if applied else ""

    def policy_titles(self) -> dict[str, str]:
        from safetynet.policies import services as policies

        return policies.catalog_titles(self.county)

    @cached_property
    def facts(self) -> registry.Facts | None:
        return registry.household_facts(self.case.household_id)

    def amount_problem(self, program: str, amount: Decimal) -> str | None:
        """Why a monthly amount is not allowed for `program`, or None. A dibao amount makes up the gap
        between the standard and per-capita income for every member (rounded up to the county's unit);
        tekun pays the county's tekun standard per person; temporary assistance stays within the cap."""
        facts = self.facts
        if program == "temporary":
            cap = self.settings.temporary_cap
            return f"超过本县临时救助审批权限 {cap} 元，请按一事一议报县级审批" if amount > cap else None
        if program not in TWO_PERSON_PROGRAMS:
            return None
        running = registry.running_programs(self.case.household_id, self.today) & set(TWO_PERSON_PROGRAMS)
        if running:
            # Dibao and tekun are not paid together, nor twice.
            names = "、".join(PROGRAM_NAMES[p] for p in sorted(running))
            return f"该户已享受{names}，不能再核定{PROGRAM_NAMES[program]}（如需调整，请先终止原待遇）"
        if facts is None or not facts.has_standard:
            return "该户尚无数据比对得出的家庭收入或当地标准，无法核定金额：请先运行数据比对"
        if program == "dibao":
            gap = (facts.dibao_line - facts.per_capita_income) * facts.members
            unit = self.settings.amount_rounding or Decimal("0.01")
            most = Decimal(math.ceil(gap / unit)) * unit if gap > 0 else Decimal(0)
            if most <= 0:
                return f"家庭人均月收入 {facts.per_capita_income} 元不低于低保标准 {facts.dibao_line} 元，不能核定低保金"
            if amount > most:
                return (
                    f"低保金最多为（低保标准 {facts.dibao_line} − 人均收入 {facts.per_capita_income}）× "
                    f"{facts.members} 人 = {most} 元"
                )
            return None
        most = (facts.tekun_line or Decimal(0)) * facts.members
        if amount > most:
            return f"特困供养金最多为特困供养标准 {facts.tekun_line} 元 × {facts.members} 人 = {most} 元"
        return None


class Action:
    """One action of the workflow. Subclasses set the class attributes and override the hooks."""

    name: ClassVar[str]
    label: ClassVar[str]
    cap: ClassVar[Cap]
    sources: ClassVar[tuple[str, ...]]
    form: ClassVar[type[forms.StepForm]] = forms.ReasonForm
    event: ClassVar[str]
    target: ClassVar[str | None] = None  # the stage it moves to (None: stays)

    def offered(self, ctx: StepContext) -> bool:
        """Whether the case's state (beyond its stage) lets this actor take the action: pages offer only
        these, so nobody is shown a form the server would refuse them."""
        return True

    def guard(self, ctx: StepContext) -> None:
        """Raise StepRejected when the action may not be taken on this case now."""

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        """Change the case (its row is saved by the workflow)."""
        if self.target is not None:
            ctx.case.stage = self.target

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        """Effects outside the case, in the same transaction (the registry, referrals)."""

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {}


def close(case: Case, outcome: str) -> None:
    case.stage, case.status, case.outcome = S.CLOSED, Case.Status.CLOSED, outcome
    case.closed_at, case.due_on, case.due_estimated = timezone.now(), None, False


class Verify(Action):
    name, label, cap, event = "verify", "实地查访核实", Cap.VERIFY, "verified"
    sources = (S.NEW,)
    form = forms.VerifyForm

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        if facts["hardship"]:
            # the next owner (inform, then help apply) has a deadline too: a hand-off never reads "期限 —"
            ctx.case.stage = S.VERIFIED
            ctx.case.due_on, ctx.case.due_estimated = due(ctx.today, ctx.county, "inform_and_apply")
        else:
            close(ctx.case, "unfounded")

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        registry.record_verified_income(
            ctx.case.household_id,
            dt.date.fromisoformat(facts["visited_on"]),
            Decimal(facts["monthly_income"]),
            Decimal(facts["monthly_expense"]),
            reference=f"case:{ctx.case.pk}:step:{step.pk}",
        )

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"founded": facts["hardship"], "situation": facts["situation"][:200]}


class Inform(Action):
    name, label, cap, event, target = "inform", "主动告知政策", Cap.INFORM, "informed", S.INFORMED
    sources = (S.VERIFIED,)
    form = forms.InformForm


class Decline(Action):
    name, label, cap, event = "decline", "本人自愿放弃", Cap.DECLINE, "declined"
    sources = (S.VERIFIED, S.INFORMED)
    form = forms.DeclineForm

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        close(ctx.case, "declined")
        ctx.case.follow_up_on = dt.date.fromisoformat(facts["follow_up_on"])


class Apply(Action):
    name, label, cap, event, target = "apply", "协助申请", Cap.APPLY, "applied", S.APPLYING
    sources = (S.INFORMED,)
    form = forms.ApplyForm

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        from safetynet.cases.assessment import pre_assess

        super().apply(ctx, facts)
        found = pre_assess(ctx.facts, ctx.last("verify"))
        facts["assessment"] = found.text if found else "未能评估：缺少核实收入、数据比对结果或县级标准"
        ctx.case.due_on, ctx.case.due_estimated = due(ctx.today, ctx.county, "dibao_decision")

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        registry.record_application(ctx.case.household_id, facts["program"], ctx.today, application_id(step))

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"program": facts["program"]}


def application_id(apply_step: Step) -> str:
    """The registry's application filed by a case's apply step."""
    return f"C{apply_step.case_id}-S{apply_step.pk}"


class Extend(Action):
    name, label, cap, event = "extend", "审批延期", Cap.EXTEND, "extended"
    sources = (S.APPLYING, S.REVIEWED)
    form = forms.ExtendForm

    def offered(self, ctx: StepContext) -> bool:
        return not ctx.case.extended

    def guard(self, ctx: StepContext) -> None:
        if ctx.case.extended:
            raise StepRejected("审批期限只能延长一次")

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        days = deadline_days(ctx.county, "dibao_extension")
        ctx.case.due_on, certain = workdays.add_working_days(ctx.case.due_on or ctx.today, days)
        ctx.case.due_estimated = ctx.case.due_estimated or not certain
        ctx.case.extended = True


class Review(Action):
    """审核: the township (or the county) examines the application and proposes the decision."""

    name, label, cap, event, target = "review", "审核", Cap.REVIEW, "reviewed", S.REVIEWED
    sources = (S.APPLYING,)
    form = forms.DecisionForm

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"approved": facts["approved"]}


class Decide(Action):
    """确认: the county (or a township its county delegates to) decides, never the person who reviewed."""

    name, label, cap, event = "decide", "审批确认", Cap.DECIDE, "decided"
    sources = (S.REVIEWED,)
    form = forms.DecisionForm

    def offered(self, ctx: StepContext) -> bool:
        return not ctx.did_last("review")

    def guard(self, ctx: StepContext) -> None:
        if ctx.did_last("review"):
            raise StepRejected(
                "审核和确认须由两人分别进行：本案由您审核，请由其他人员确认", code="same_person"
            )

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        facts["program"] = ctx.program()
        ctx.case.due_on, ctx.case.due_estimated = None, False
        if facts["approved"]:
            ctx.case.stage = S.HELPING
        else:
            close(ctx.case, "rejected")

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        applied = ctx.last("apply")
        if applied is not None:
            registry.decide_application(application_id(applied), facts["approved"], ctx.today, facts.get("reason", ""))
        if facts["approved"]:
            registry.grant_assistance(
                ctx.case.household_id,
                facts["program"] or "dibao",
                ctx.today,
                Decimal(facts["monthly_amount"]),
                reference=f"case:{ctx.case.pk}:step:{step.pk}",
                one_off=facts["program"] == "temporary",
            )

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"approved": facts["approved"], "program": facts["program"]}


class FollowUp(Action):
    name, label, cap, event = "follow_up", "动态跟踪回访", Cap.FOLLOW_UP, "followed_up"
    sources = (S.HELPING, S.CLOSED)
    form = forms.FollowUpForm

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        ctx.case.follow_up_on = dt.date.fromisoformat(facts["follow_up_on"])


class Close(Action):
    name, label, cap, event = "close", "结案", Cap.CLOSE, "closed"
    sources = (S.HELPING,)

    def offered(self, ctx: StepContext) -> bool:
        return not ctx.waiting_referrals

    def guard(self, ctx: StepContext) -> None:
        waiting = ctx.waiting_referrals
        if waiting:
            names = "、".join(Department(d).label for d in waiting)
            raise StepRejected(f"尚有部门未答复转介（{names}），答复后才能结案", code="referrals_open")

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        close(ctx.case, "helped")


class Coordinate(Action):
    """Anyone working the case may ask for the county's coordination of a complex case."""

    name, label, cap, event = "coordinate", "提请县级统筹", Cap.COORDINATE, "coordination_requested"
    sources = WORKING

    def offered(self, ctx: StepContext) -> bool:
        return not ctx.case.coordination

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        ctx.case.coordination = True


class Refer(Action):
    name, label, cap, event = "refer", "部门转介", Cap.REFER, "referred"
    sources = WORKING
    form = forms.ReferForm

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        ctx.case.coordination = True
        if ctx.case.stage in (S.VERIFIED, S.INFORMED):
            ctx.case.stage = S.HELPING
        answer_by, estimated = due(ctx.today, ctx.county, "referral_answer")
        facts["due_on"], facts["due_estimated"] = answer_by.isoformat(), estimated

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        try:
            with transaction.atomic():
                Referral.objects.create(
                    case=ctx.case,
                    department=facts["department"],
                    request=facts["request"],
                    due_on=dt.date.fromisoformat(facts["due_on"]),
                    due_estimated=facts["due_estimated"],
                    referred_by=ctx.actor.user,
                )
        except IntegrityError:
            label = Department(facts["department"]).label
            raise StepRejected(f"已向{label}转介且尚未答复，请勿重复转介", code="duplicate") from None

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"department": facts["department"]}


class GrantFirst(Action):
    """先行救助: paid at once within the county's cap; above it, the amount waits for 一事一议."""

    name, label, cap, event = "grant_first", "先行救助", Cap.GRANT_FIRST, "paid"
    sources = OPEN_STAGES
    form = forms.GrantFirstForm

    def offered(self, ctx: StepContext) -> bool:
        return ctx.case.pending_amount is None

    def guard(self, ctx: StepContext) -> None:
        if ctx.case.pending_amount is not None:
            raise StepRejected("已有一笔临时救助等待县级一事一议审批")

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        amount = Decimal(facts["amount"])
        window = ctx.settings.repeat_window_days
        earlier = registry.temporary_grants(ctx.case.household_id, ctx.today - dt.timedelta(days=window))
        if earlier:
            # Not refused (a second emergency is real), but on record for whoever confirms the paperwork.
            facts["repeat"] = (
                f"该户 {window} 天内已获临时救助 {len(earlier)} 次（最近 {earlier[0].start_date}）"
            )
        if amount > ctx.settings.temporary_cap:
            ctx.case.pending_amount = amount
            facts["routed"] = "case_by_case"
        else:
            ctx.case.paperwork_due, estimated = due(ctx.today, ctx.county, "grant_first_paperwork")
            ctx.case.due_estimated = ctx.case.due_estimated or estimated
            facts["paperwork_due"] = ctx.case.paperwork_due.isoformat()  # on record: on time or late
            facts["routed"] = "paid"

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        if facts["routed"] == "paid":
            pay_temporary(ctx, Decimal(facts["amount"]), step)

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"amount": facts["amount"], "routed": facts["routed"], "repeat": bool(facts.get("repeat"))}


def pay_temporary(ctx: StepContext, amount: Decimal, step: Step) -> None:
    registry.grant_assistance(
        ctx.case.household_id,
        "temporary",
        ctx.today,
        amount,
        reference=f"case:{ctx.case.pk}:step:{step.pk}",
        one_off=True,
    )


class CompletePaperwork(Action):
    """The paperwork of a payment made first, confirmed by someone other than the one who paid it."""

    name, label, cap, event = (
        "complete_paperwork",
        "确认先行救助手续",
        Cap.COMPLETE_PAPERWORK,
        "paperwork_completed",
    )
    sources = (*OPEN_STAGES, S.CLOSED)

    def offered(self, ctx: StepContext) -> bool:
        return ctx.case.paperwork_due is not None and not ctx.did_last("grant_first", "approve_amount")

    def guard(self, ctx: StepContext) -> None:
        if ctx.case.paperwork_due is None:
            raise StepRejected("没有待补齐手续的先行救助")
        if ctx.did_last("grant_first", "approve_amount"):
            raise StepRejected("先行救助的手续须由发放人以外的人员确认", code="same_person")

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        ctx.case.paperwork_due = None


class ApproveAmount(Action):
    name, label, cap, event = "approve_amount", "一事一议审批", Cap.APPROVE_AMOUNT, "amount_decided"
    sources = OPEN_STAGES
    form = forms.ApproveAmountForm

    def offered(self, ctx: StepContext) -> bool:
        return ctx.case.pending_amount is not None and not ctx.did_last("grant_first")

    def guard(self, ctx: StepContext) -> None:
        if ctx.case.pending_amount is None:
            raise StepRejected("没有等待一事一议审批的救助金额")
        if ctx.did_last("grant_first"):
            raise StepRejected("一事一议须由提出救助以外的人员审批", code="same_person")

    def apply(self, ctx: StepContext, facts: dict[str, Any]) -> None:
        facts["amount"] = str(ctx.case.pending_amount)
        ctx.case.pending_amount = None

    def after(self, ctx: StepContext, facts: dict[str, Any], step: Step) -> None:
        if facts["approved"]:
            pay_temporary(ctx, Decimal(facts["amount"]), step)

    def event_data(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {"approved": facts["approved"], "amount": facts["amount"]}


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Verify(),
        Inform(),
        Decline(),
        Apply(),
        Extend(),
        Review(),
        Decide(),
        FollowUp(),
        Close(),
        Coordinate(),
        Refer(),
        GrantFirst(),
        CompletePaperwork(),
        ApproveAmount(),
    )
}
# Steps that are not actions someone takes: a department's answer, the system's escalation.
OTHER_STEPS = {"answer": "部门答复转介", "escalate": "逾期升级"}
