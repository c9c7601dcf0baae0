"""The intake workflow of the Ministry's notice, 二(四), as an explicit state machine.

new ─verify─▶ verified ─inform─▶ informed ─apply─▶ applying ─decide(approved)─▶ helping ─close─▶ closed
                 └──────decline──────┴──▶ closed (voluntary refusal, follow-up date)   └─decide(rejected)─▶ closed
applying ─extend─▶ applying (once, +15 working days); helping/closed ─follow_up─▶ same stage
verified/informed ─refer─▶ helping (a complex case: the county refers it to departments, each answers;
the case closes only when every department has answered)

Each action is one transaction: the case row is updated only if its version is still the one the user
saw (optimistic locking), so of two people acting at once exactly one wins and the other is told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from safetynet.access.departments import Department
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.cases import workdays
from safetynet.cases.models import Case, CountyLimit, DeadlinePolicy, Referral, Step

S = Case.Stage

# Defaults of the issue and the notice; a county overrides any of them with a DeadlinePolicy row.
DEFAULT_DEADLINES = {
    "verify_urgent": 1,  # a red warning or an urgent report is verified within one working day
    "verify": 5,
    "dibao_decision": 30,
    "dibao_extension": 15,
    "grant_first_paperwork": 5,
    "referral_answer": 10,  # a department answers a referral of the coordination mechanism
    "escalate_to_county": 3,  # working days a step may stay overdue at township level before the county
}
OUTCOMES = {"helped": "已帮扶", "declined": "本人自愿放弃", "rejected": "审批未通过"}
PROGRAMS = ("dibao", "tekun", "medical", "education", "housing", "employment", "temporary")


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str | None  # None: the stage does not change
    label: str


TRANSITIONS: dict[str, Transition] = {
    "verify": Transition((S.NEW,), S.VERIFIED, "实地查访核实"),
    "inform": Transition((S.VERIFIED,), S.INFORMED, "主动告知政策"),
    "decline": Transition((S.VERIFIED, S.INFORMED), S.CLOSED, "本人自愿放弃"),
    "apply": Transition((S.INFORMED,), S.APPLYING, "协助申请"),
    "extend": Transition((S.APPLYING,), None, "审批延期"),
    "decide": Transition((S.APPLYING,), None, "审批决定"),
    "follow_up": Transition((S.HELPING, S.CLOSED), None, "动态跟踪回访"),
    "close": Transition((S.HELPING,), S.CLOSED, "结案"),
    # Complex cases: anyone working the case may ask for the county's coordination; the county refers.
    "coordinate": Transition((S.VERIFIED, S.INFORMED, S.APPLYING, S.HELPING), None, "提请县级统筹"),
    "refer": Transition((S.VERIFIED, S.INFORMED, S.APPLYING, S.HELPING), None, "部门转介"),
    # Temporary assistance: an emergency is paid first and documented after; a large amount waits for
    # the county's case-by-case decision. Neither moves the case's main stage.
    "grant_first": Transition((S.NEW, S.VERIFIED, S.INFORMED, S.APPLYING, S.HELPING), None, "先行救助"),
    "complete_paperwork": Transition(
        (S.NEW, S.VERIFIED, S.INFORMED, S.APPLYING, S.HELPING, S.CLOSED), None, "补齐先行救助手续"
    ),
    "approve_amount": Transition(
        (S.NEW, S.VERIFIED, S.INFORMED, S.APPLYING, S.HELPING), None, "一事一议审批"
    ),
}
DEFAULT_TEMPORARY_CAP = Decimal("3000")  # yuan; a county sets its own with a CountyLimit row
COUNTY_APPROVERS = ("county", "county_admin")
COUNTY_ONLY = {"approve_amount": "一事一议审批", "refer": "部门转介"}


class Conflict(Exception):
    """Someone else moved the case first; nothing of this action was saved."""


class StepRejected(ValueError):
    """The action is not possible now, or its facts are malformed: the reason is for the person."""


def deadline_days(county_code: str, step: str) -> int:
    found = DeadlinePolicy.objects.filter(county_code=county_code, step=step).values_list(
        "working_days", flat=True
    )
    return found.first() or DEFAULT_DEADLINES[step]


def set_intake_deadline(case: Case, today: dt.date | None = None) -> None:
    """On a new case: verified within one working day when urgent, else five."""
    step = "verify_urgent" if case.urgent else "verify"
    case.due_on, estimated = workdays.add_working_days(
        today or timezone.localdate(), deadline_days(case.region_code[:6], step)
    )
    case.due_estimated = not estimated


# ---------------------------------------------------------------------------------------------
# Facts each action records, checked before anything is saved


def _text(data: dict[str, Any], key: str, limit: int, required: bool = True) -> str:
    value = "".join(ch for ch in str(data.get(key) or "") if ch.isprintable() or ch == "\n").strip()
    if required and not value:
        raise StepRejected(f"请填写{FIELD_NAMES.get(key, key)}")
    if len(value) > limit:
        raise StepRejected(f"{FIELD_NAMES.get(key, key)}请控制在 {limit} 字以内")
    return value


def _date(data: dict[str, Any], key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(data.get(key) or ""))
    except ValueError:
        raise StepRejected(f"{FIELD_NAMES.get(key, key)}应为 YYYY-MM-DD 格式的日期") from None


def _money(data: dict[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(data.get(key, "")).strip() or "x")
    except InvalidOperation:
        raise StepRejected(f"{FIELD_NAMES.get(key, key)}应为金额（元）") from None
    if not value.is_finite() or value < 0 or value > Decimal("10000000"):
        raise StepRejected(f"{FIELD_NAMES.get(key, key)}应为 0 到 1000 万之间的金额")
    return value.quantize(Decimal("0.01"))


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if value in (True, "true", "yes", "on", "1", 1):
        return True
    if value in (False, "false", "no", "off", "0", 0, None, ""):
        return False
    raise StepRejected(f"{FIELD_NAMES.get(key, key)}应为是或否")


FIELD_NAMES = {
    "visited_on": "查访日期",
    "situation": "家庭情况",
    "monthly_income": "家庭月收入",
    "monthly_expense": "家庭月刚性支出",
    "wants_help": "本人是否愿意申请",
    "can_apply": "本人能否自行申请",
    "policies": "告知的政策",
    "reason": "原因",
    "follow_up_on": "回访日期",
    "program": "申请项目",
    "approved": "审批结果",
    "monthly_amount": "月救助金额",
    "findings": "回访情况",
    "amount": "救助金额",
    "department": "转介部门",
    "request": "转介事项",
    "answer": "答复内容",
    "helped": "是否已帮扶",
    "to": "升级至",
    "due": "原期限",
    "assessment": "资格预评估",
    "due_on": "答复期限",
    "policy_codes": "告知的政策目录",
}
# Steps that are not transitions someone takes: a department's answer, the system's escalation.
STEP_LABELS = {"answer": "部门答复转介", "escalate": "逾期升级"}


def _told(data: dict[str, Any], county: str) -> dict[str, Any]:
    """What was told: policies of the county's catalog by code (their titles recorded with them, since a
    title may change later), and any other policy in words."""
    from safetynet.policies.services import policy_titles

    raw = data.get("policy_codes") or []
    codes = [str(c)[:40] for c in (raw if isinstance(raw, list) else [raw])][:30]
    titles = policy_titles(county, codes) if codes else {}
    unknown = [c for c in codes if c not in titles]
    if unknown:
        raise StepRejected(f"本县政策目录中没有编号为“{_text({'c': unknown[0]}, 'c', 40)}”的政策")
    other = _text(data, "policies", 1000, required=not codes)
    told = "、".join([titles[c] for c in codes] + ([other] if other else []))
    return {"policies": told, "policy_codes": codes} if codes else {"policies": told}


def _facts(action: str, data: dict[str, Any], today: dt.date, county: str = "") -> dict[str, Any]:
    if action == "verify":
        visited = _date(data, "visited_on")
        if visited > today:
            raise StepRejected("查访日期不能晚于今天")
        return {
            "visited_on": visited.isoformat(),
            "situation": _text(data, "situation", 2000),
            "monthly_income": str(_money(data, "monthly_income")),
            "monthly_expense": str(_money(data, "monthly_expense")),
            "wants_help": _bool(data, "wants_help"),
            "can_apply": _bool(data, "can_apply"),  # or needs the assisted application
        }
    if action == "inform":
        return _told(data, county)
    if action == "decline":
        follow = _date(data, "follow_up_on")
        if follow <= today:
            raise StepRejected("回访日期应晚于今天")
        return {"reason": _text(data, "reason", 500), "follow_up_on": follow.isoformat()}
    if action == "apply":
        program = str(data.get("program") or "")
        if program not in PROGRAMS:
            raise StepRejected("申请项目应为低保、特困供养或专项、临时救助之一")
        return {"program": program}
    if action == "decide":
        approved = _bool(data, "approved")
        facts: dict[str, Any] = {
            "approved": approved,
            "reason": _text(data, "reason", 500, required=not approved),
        }
        if approved:
            facts["monthly_amount"] = str(_money(data, "monthly_amount"))
        return facts
    if action == "grant_first":
        amount = _money(data, "amount")
        if amount <= 0:
            raise StepRejected("救助金额应大于 0")
        return {"amount": str(amount), "reason": _text(data, "reason", 500)}
    if action == "refer":
        department = str(data.get("department") or "")
        if department not in Department.values:
            raise StepRejected("请选择转介的部门")
        return {"department": department, "request": _text(data, "request", 1000)}
    if action == "approve_amount":
        approved = _bool(data, "approved")
        return {"approved": approved, "reason": _text(data, "reason", 500, required=not approved)}
    if action == "follow_up":
        follow = _date(data, "follow_up_on")
        if follow <= today:
            raise StepRejected("下次回访日期应晚于今天")
        return {"findings": _text(data, "findings", 2000), "follow_up_on": follow.isoformat()}
    return {"reason": _text(data, "reason", 500, required=False)}


# ---------------------------------------------------------------------------------------------
# Taking a step


def act(actor: Actor, case_id: int, version: int, action: str, data: dict[str, Any], note: str = "") -> Case:
    """Take `action` on a case the actor can see, as of the `version` they saw."""
    if not actor.user.caps.verifies_leads:
        raise PermissionDenied("this role may not work on cases")
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise StepRejected(f"未知的操作：{str(action)[:20]}")
    scope = PersonalDataScope(actor)
    today = timezone.localdate()
    with transaction.atomic():
        case = scope.restrict(Case.objects.select_for_update(), "region_code").filter(pk=case_id).first()
        if case is None:
            raise PermissionDenied("no such case in your region")
        if action in COUNTY_ONLY and actor.user.role not in COUNTY_APPROVERS:
            raise PermissionDenied(f"only the county may {action}")
        if case.version != version:
            raise Conflict("该个案已被他人更新，请刷新后查看最新情况再操作")
        if case.stage not in transition.sources:
            allowed = "、".join(Case.Stage(s).label for s in transition.sources)
            raise StepRejected(
                f"个案当前为“{case.get_stage_display()}”，不能{transition.label}（仅在{allowed}时可以）"
            )
        if action == "extend" and case.extended:
            raise StepRejected("审批期限只能延长一次")
        if action == "grant_first" and case.pending_amount is not None:
            raise StepRejected("已有一笔临时救助等待县级一事一议审批")
        if action == "complete_paperwork" and case.paperwork_due is None:
            raise StepRejected("没有待补齐手续的先行救助")
        if action == "approve_amount" and case.pending_amount is None:
            raise StepRejected("没有等待一事一议审批的救助金额")
        if action == "close":
            waiting = list(
                Referral.objects.filter(case=case, answered_at__isnull=True).values_list(
                    "department", flat=True
                )
            )
            if waiting:
                names = "、".join(Department(d).label for d in waiting)
                raise StepRejected(f"尚有部门未答复转介（{names}），答复后才能结案")
        facts = _facts(action, data, today, case.region_code[:6])
        before = case.stage
        _apply(case, action, facts, today)
        updated = Case.objects.filter(pk=case.pk, version=version).update(
            stage=case.stage,
            status=case.status,
            due_on=case.due_on,
            due_estimated=case.due_estimated,
            extended=case.extended,
            outcome=case.outcome,
            follow_up_on=case.follow_up_on,
            closed_at=case.closed_at,
            paperwork_due=case.paperwork_due,
            pending_amount=case.pending_amount,
            coordination=case.coordination,
            version=version + 1,
        )
        if updated != 1:  # a writer between our read and our update (databases without row locks)
            raise Conflict("该个案已被他人更新，请刷新后查看最新情况再操作")
        case.version = version + 1
        Step.objects.create(
            case=case,
            action=action,
            from_stage=before,
            to_stage=case.stage,
            data=facts,
            note=_text({"note": note}, "note", 500, required=False),
            actor=actor.user,
        )
        _after(actor, case, action, facts, today)
        record(actor, f"case_{action}", "case", str(case.pk), region_code=case.region_code, detail=case.stage)
    return case


def _apply(case: Case, action: str, facts: dict[str, Any], today: dt.date) -> None:
    county = case.region_code[:6]
    if action == "verify":
        case.stage, case.due_on, case.due_estimated = S.VERIFIED, None, False
    elif action == "inform":
        case.stage = S.INFORMED
    elif action == "decline":
        case.stage, case.status, case.outcome = S.CLOSED, Case.Status.CLOSED, "declined"
        case.follow_up_on = dt.date.fromisoformat(facts["follow_up_on"])
        case.closed_at, case.due_on = timezone.now(), None
    elif action == "apply":
        from safetynet.cases.assessment import pre_assess

        found = pre_assess(case, today)
        facts["assessment"] = found.text if found else "未能评估：缺少核实收入或县级标准"
        case.stage = S.APPLYING
        case.due_on, certain = workdays.add_working_days(today, deadline_days(county, "dibao_decision"))
        case.due_estimated = not certain
    elif action == "extend":
        base = case.due_on or today
        case.due_on, certain = workdays.add_working_days(base, deadline_days(county, "dibao_extension"))
        case.due_estimated, case.extended = case.due_estimated or not certain, True
    elif action == "decide":
        case.due_on, case.due_estimated = None, False
        if facts["approved"]:
            case.stage = S.HELPING
        else:
            case.stage, case.status, case.outcome, case.closed_at = (
                S.CLOSED,
                Case.Status.CLOSED,
                "rejected",
                timezone.now(),
            )
    elif action == "follow_up":
        case.follow_up_on = dt.date.fromisoformat(facts["follow_up_on"])
    elif action == "close":
        case.stage, case.status, case.outcome, case.closed_at = (
            S.CLOSED,
            Case.Status.CLOSED,
            "helped",
            timezone.now(),
        )
    elif action == "grant_first":
        amount = Decimal(facts["amount"])
        if amount > temporary_cap(county):
            case.pending_amount = amount
            facts["routed"] = "case_by_case"
        else:
            case.paperwork_due, certain = workdays.add_working_days(
                today, deadline_days(county, "grant_first_paperwork")
            )
            case.due_estimated = case.due_estimated or not certain
            facts["routed"] = "paid"
    elif action == "complete_paperwork":
        case.paperwork_due = None
    elif action == "approve_amount":
        facts["amount"] = str(case.pending_amount)
        case.pending_amount = None
    elif action == "coordinate":
        case.coordination = True
    elif action == "refer":
        case.coordination = True
        if case.stage in (S.VERIFIED, S.INFORMED):
            case.stage = S.HELPING
        due, certain = workdays.add_working_days(today, deadline_days(county, "referral_answer"))
        facts["due_on"], facts["due_estimated"] = due.isoformat(), not certain


def _after(actor: Actor, case: Case, action: str, facts: dict[str, Any], today: dt.date) -> None:
    """What a step changes outside the case: the registry on approval, the leads' visible status, the
    department's referral."""
    from safetynet.leads import services as leads
    from safetynet.registry import services as registry

    if action == "refer":
        try:
            with transaction.atomic():
                Referral.objects.create(
                    case=case,
                    department=facts["department"],
                    request=facts["request"],
                    due_on=dt.date.fromisoformat(facts["due_on"]),
                    due_estimated=facts["due_estimated"],
                    referred_by=actor.user,
                )
        except IntegrityError:
            raise StepRejected(
                f"已向{Department(facts['department']).label}转介且尚未答复，请勿重复转介"
            ) from None
    elif action == "verify":
        leads.set_status_for_case(case.pk, "verifying")
    elif action == "decide" and facts["approved"]:
        program = (
            Step.objects.filter(case=case, action="apply")
            .order_by("-id")
            .values_list("data", flat=True)
            .first()
        )
        registry.grant_assistance(
            case.household_id,
            (program or {}).get("program", "dibao"),
            today,
            Decimal(facts["monthly_amount"]),
        )
        leads.set_status_for_case(case.pk, "helped")
    elif (action == "grant_first" and facts["routed"] == "paid") or (
        action == "approve_amount" and facts["approved"]
    ):
        registry.grant_assistance(
            case.household_id, "temporary", today, Decimal(facts["amount"]), one_off=True
        )
    elif action == "decide" or action == "decline":
        leads.set_status_for_case(case.pk, "no_hardship" if action == "decide" else "verifying")


def temporary_cap(county_code: str) -> Decimal:
    found = (
        CountyLimit.objects.filter(county_code=county_code).values_list("temporary_cap", flat=True).first()
    )
    return found if found is not None else DEFAULT_TEMPORARY_CAP


def overdue(actor: Actor, today: dt.date | None = None) -> list[Case]:
    """Cases in the actor's region past a deadline (the step's, or grant-first paperwork), oldest first."""
    day = today or timezone.localdate()
    scope = PersonalDataScope(actor)
    late = Q(status=Case.Status.OPEN, due_on__lt=day) | Q(paperwork_due__lt=day)
    return list(scope.restrict(Case.objects.filter(late), "region_code").order_by("due_on", "id"))


# The facts each action asks for, in form order (pages and the API document them from here).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "verify": ("visited_on", "situation", "monthly_income", "monthly_expense", "wants_help", "can_apply"),
    "inform": ("policy_codes", "policies"),
    "decline": ("reason", "follow_up_on"),
    "apply": ("program",),
    "extend": ("reason",),
    "decide": ("approved", "monthly_amount", "reason"),
    "follow_up": ("findings", "follow_up_on"),
    "close": ("reason",),
    "grant_first": ("amount", "reason"),
    "complete_paperwork": ("reason",),
    "approve_amount": ("approved", "reason"),
    "coordinate": ("reason",),
    "refer": ("department", "request"),
}


def next_actions(case: Case, role: str = "") -> list[tuple[str, str]]:
    """(action, label) the case's stage allows now (to this role, when given)."""
    county = not role or role in COUNTY_APPROVERS
    hidden = {
        "refer": not county,
        "coordinate": case.coordination,
        "extend": case.extended,
        "grant_first": case.pending_amount is not None,
        "complete_paperwork": case.paperwork_due is None,
        "approve_amount": case.pending_amount is None,
    }
    return [
        (name, t.label)
        for name, t in TRANSITIONS.items()
        if case.stage in t.sources and not hidden.get(name, False)
    ]


def open_cases(actor: Actor, limit: int = 200) -> list[Case]:
    """Open cases in the actor's region: overdue first, then by deadline, urgent before others."""
    scope = PersonalDataScope(actor)
    rows = scope.restrict(Case.objects.filter(status=Case.Status.OPEN), "region_code")
    found = list(rows.order_by("due_on", "-urgent", "id")[: min(max(limit, 1), 1000)])
    if found:
        scope.audit_read("cases", "", scope.region_code, detail=f"{len(found)} 个个案")
    return found


def get_case(actor: Actor, case_id: int) -> Case | None:
    scope = PersonalDataScope(actor)
    case = scope.restrict(Case.objects.all(), "region_code").filter(pk=case_id).first()
    if case is not None:
        scope.audit_read("case", str(case.pk), case.region_code)
    return case
