"""Taking a step of the intake workflow (`actions`), and reading cases within the reader's region.

Each step is one transaction: the case row is updated only if its version is still the one the user saw
(optimistic locking), so of two people acting at once exactly one wins and the other is told. The step is
recorded as a `Step` row and published as a `CaseEvent` (safetynet.events): leads, warnings and
statistics react to it without the cases app calling them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django import forms as django_forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from safetynet import events
from safetynet.access import permissions
from safetynet.access.permissions import Cap
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.cases import forms
from safetynet.cases.actions import (
    ACTIONS,
    OTHER_STEPS,
    Conflict,
    StepContext,
    StepRejected,
    deadline_days,
    due,
)
from safetynet.cases.models import Case, Step
from safetynet.listing import EVERYTHING, ListQuery
from safetynet.xlsx import SHEET_CHUNK, sheet_in_chunks

__all__ = ["Conflict", "StepRejected", "act", "deadline_days"]

CONFLICT = "该个案已被他人更新，请刷新后查看最新情况再操作"


def set_intake_deadline(case: Case, today: dt.date | None = None) -> None:
    """On a new case: verified within one working day when urgent, else five."""
    step = "verify_urgent" if case.urgent else "verify"
    case.due_on, case.due_estimated = due(today or timezone.localdate(), case.region_code[:6], step)


def form_for(action: str, data: Any = None, ctx: StepContext | None = None) -> forms.StepForm:
    return ACTIONS[action].form(data, ctx=ctx)


def refused(form: django_forms.Form) -> StepRejected:
    """A refused form as one message (each field's label and reason) with the reasons per field; the
    bound form goes with it, so a page can show it again with everything typed."""
    fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
    parts = [
        f"{form.fields[name].label if name in form.fields else ''}：{'；'.join(reasons)}".lstrip("：")
        for name, reasons in fields.items()
    ]
    error = StepRejected("请检查填写的内容：" + "；".join(parts), code="invalid", fields=fields)
    error.form = form
    return error


def act(actor: Actor, case_id: int, version: int, action: str, data: Any, note: str = "") -> Case:
    """Take `action` on a case the actor can see, as of the `version` they saw.

    Raises NotPermitted (the role may not take it; audited), PermissionDenied (no such case in the
    actor's region), Conflict (someone acted first) or StepRejected (not now, or the form is refused)."""
    step_action = ACTIONS.get(action)
    if step_action is None:
        raise StepRejected(f"未知的操作：{str(action)[:20]}", code="unknown_action")
    permissions.require(actor, step_action.cap, target=f"case {case_id}")
    scope = PersonalDataScope(actor)
    today = timezone.localdate()
    note = str(note or "")[:500]
    with transaction.atomic():
        case = scope.restrict(Case.objects.select_for_update(), "region_code").filter(pk=case_id).first()
        if case is None:
            raise PermissionDenied("no such case in your region")
        if case.version != version:
            raise Conflict(CONFLICT)
        if case.stage not in step_action.sources:
            allowed = "、".join(Case.Stage(s).label for s in step_action.sources)
            raise StepRejected(
                f"个案当前为“{case.get_stage_display()}”，不能{step_action.label}（仅在{allowed}时可以）"
            )
        ctx = StepContext(actor, case, today)
        step_action.guard(ctx)
        form = step_action.form(data, ctx=ctx)
        if not form.is_valid():
            raise refused(form)
        facts = form.facts()
        before = case.stage
        step_action.apply(ctx, facts)
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
            raise Conflict(CONFLICT)
        case.version = version + 1
        step = Step.objects.create(
            case=case,
            action=action,
            from_stage=before,
            to_stage=case.stage,
            data=facts,
            note="".join(ch for ch in note if ch.isprintable() or ch == "\n").strip(),
            actor=actor.user,
        )
        step_action.after(ctx, facts, step)
        publish(case, step_action.event, step, step_action.event_data(facts))
        if case.stage == Case.Stage.CLOSED and before != Case.Stage.CLOSED and step_action.event != "closed":
            publish(case, "closed", step, {"outcome": case.outcome})
        record(actor, f"case_{action}", "case", str(case.pk), region_code=case.region_code, detail=case.stage)
    return case


def publish(case: Case, kind: str, step: Step | None, data: dict[str, Any], by: str = "") -> None:
    events.publish(
        events.CaseEvent(
            kind=kind,
            case_id=case.pk,
            household_id=case.household_id,
            region_code=case.region_code,
            at=step.at if step else timezone.now(),
            step_id=step.pk if step else None,
            by=by or (step.actor.get_username() if step and step.actor else "system"),
            data={"outcome": case.outcome, **data} if case.outcome else data,
        )
    )


def next_actions(case: Case, actor: Actor) -> list[tuple[str, str]]:
    """(action, label) the actor may take on the case now: its stage and state allow it and the actor's
    role holds the capability. Pages and the API offer exactly these."""
    caps = actor.user.caps
    ctx = StepContext(actor, case, timezone.localdate())
    return [
        (name, a.label)
        for name, a in ACTIONS.items()
        if case.stage in a.sources and a.cap.value in caps and a.offered(ctx)
    ]


def step_label(action: str) -> str:
    return ACTIONS[action].label if action in ACTIONS else OTHER_STEPS.get(action, action)


def overdue(actor: Actor, today: dt.date | None = None) -> list[Case]:
    """Cases in the actor's region past a deadline (the step's, or grant-first paperwork), oldest first."""
    day = today or timezone.localdate()
    scope = _reader(actor)
    late = Q(status=Case.Status.OPEN, due_on__lt=day) | Q(paperwork_due__lt=day)
    return list(scope.restrict(Case.objects.filter(late), "region_code").order_by("due_on", "id"))


def _reader(actor: Actor) -> PersonalDataScope:
    permissions.require(actor, Cap.READ_CASES)
    return PersonalDataScope(actor)


def open_cases(actor: Actor, limit: int = 200) -> list[Case]:
    """Open cases in the actor's region: overdue first, then by deadline, urgent before others."""
    scope = _reader(actor)
    rows = scope.restrict(Case.objects.filter(status=Case.Status.OPEN), "region_code")
    found = list(rows.order_by("due_on", "-urgent", "id")[: min(max(limit, 1), 1000)])
    if found:
        scope.audit_read("cases", "", scope.region_code, detail=f"{len(found)} 个个案")
    return found


CASE_PAGE = 50


# How the open cases list may be sorted: by deadline (overdue first, urgent before others), or by opening.
CASE_ORDERS: dict[str, tuple[Any, ...]] = {
    "": (F("due_on").asc(nulls_last=True), "-urgent", "id"),
    "newest": ("-opened_at", "-id"),
    "oldest": ("opened_at", "id"),
    "village": ("region_code", F("due_on").asc(nulls_last=True), "id"),
}
CASE_SORTS = [
    ("", "按办理期限"),
    ("newest", "最新立案在前"),
    ("oldest", "最早立案在前"),
    ("village", "按村（社区）"),
]


def case_page(
    actor: Actor, number: int = 1, *, stage: str = "", overdue: bool = False, narrow: ListQuery = EVERYTHING
) -> Page[Case]:
    """A page of the open cases in the actor's region (its paginator holds the true total): overdue first,
    then by deadline, urgent before others; `stage`, `overdue` and `narrow` (region, opening dates, a
    household or a name) filter. Each row carries the household head's name and the village's."""
    from safetynet.regions import services as regions
    from safetynet.registry import services as registry

    scope = _reader(actor)
    rows = _open_cases(scope, stage, overdue, narrow)
    page = Paginator(rows.order_by(*narrow.ordering(CASE_ORDERS)), CASE_PAGE).get_page(number)
    found = list(page.object_list)
    heads, _ = registry.names_of(c.household_id for c in found)
    places = regions.names(sorted({c.region_code for c in found}))
    for c in found:
        c.head_name = heads.get(c.household_id, "")  # type: ignore[attr-defined]
        c.place = places.get(c.region_code, c.region_code)  # type: ignore[attr-defined]
    page.object_list = found
    scope.audit_read(
        "cases",
        "",
        scope.region_code,
        detail=f"第 {page.number}/{page.paginator.num_pages} 页，共 {page.paginator.count} 个个案 {narrow.describe()}",
    )
    return page


def _open_cases(scope: PersonalDataScope, stage: str, overdue: bool, narrow: ListQuery) -> QuerySet[Case]:
    """The open cases of the reader's region as the list filters them (the page and its export alike)."""
    from safetynet.registry import services as registry

    rows = narrow.narrow(
        scope.restrict(Case.objects.filter(status=Case.Status.OPEN), "region_code"),
        "region_code",
        "opened_at",
    )
    if stage in Case.Stage.values:
        rows = rows.filter(stage=stage)
    if overdue:  # as the inbox counts it: a step, grant-first paperwork or a department's answer late
        from safetynet.cases.inbox import late

        rows = rows.filter(late(timezone.localdate()))
    if narrow.q:
        rows = rows.filter(registry.households_matching(scope, narrow.q))
    return rows


CASE_SHEET_HEADERS = [
    "个案编号",
    "户主",
    "家庭编号",
    "村（社区）",
    "办理阶段",
    "办理期限",
    "是否逾期",
    "是否紧急",
    "立案日期",
]
CASE_EXPORT_LIMIT = 100_000


def case_sheet_rows(
    actor: Actor, *, stage: str = "", overdue: bool = False, narrow: ListQuery = EVERYTHING
) -> Iterator[list[Any]]:
    """The open cases list as staff read it, for a workbook: the same filters and order as the page, the
    household head and village by name, a chunk at a time; the export audited with its count."""
    permissions.require(
        actor, Cap.EXPORT_CASES
    )  # here, not in the generator: refused before a byte is written
    rows = _open_cases(_reader(actor), stage, overdue, narrow)
    ordered = rows.order_by(*narrow.ordering(CASE_ORDERS))[:CASE_EXPORT_LIMIT]
    return _case_sheet(actor, ordered, f"stage={stage or 'all'} overdue={overdue} {narrow.describe()}")


def _case_sheet(actor: Actor, cases: Any, filters: str) -> Iterator[list[Any]]:
    from safetynet.regions import services as regions
    from safetynet.registry import services as registry

    today, stages = timezone.localdate(), dict(Case.Stage.choices)

    def sheet(found: list[Case]) -> Iterator[list[Any]]:
        heads, _ = registry.names_of(c.household_id for c in found)
        places = regions.names(sorted({c.region_code for c in found}))
        for c in found:
            yield [
                c.pk, heads.get(c.household_id, ""), c.household_id, places.get(c.region_code, c.region_code),
                str(stages.get(c.stage, c.stage)), c.due_on, "是" if c.due_on and c.due_on < today else "否",
                "是" if c.urgent else "否", timezone.localtime(c.opened_at).date() if c.opened_at else None,
            ]  # fmt: skip

    count = [0]
    yield from sheet_in_chunks(cases.iterator(chunk_size=SHEET_CHUNK), sheet, count)
    record(actor, "export", "case_list", "", actor.user.region_id or "", f"{count[0]} 个 xlsx {filters}")


def get_case(actor: Actor, case_id: int) -> Case | None:
    scope = _reader(actor)
    case = scope.restrict(Case.objects.all(), "region_code").filter(pk=case_id).first()
    if case is not None:
        scope.audit_read("case", str(case.pk), case.region_code)
    return case
