"""Case pages: open cases by deadline, the role's inbox, one case with its timeline, sources and the steps
the user may take (thin: `workflow` decides, `permissions` says who)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from safetynet.access import encryption
from safetynet.access.departments import Department
from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.cases import coordination, photos, workflow
from safetynet.cases import inbox as inboxes
from safetynet.cases import settings as county_settings
from safetynet.cases.actions import ACTIONS, OUTCOMES, StepContext
from safetynet.cases.assessment import pre_assess
from safetynet.cases.models import Case
from safetynet.leads import services as leads
from safetynet.listing import ListQuery
from safetynet.regions import services as regions
from safetynet.registry import services as registry
from safetynet.registry.models import Program
from safetynet.xlsx import workbook_response


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Every open case of the region, a page at a time, with the true total; by stage, or overdue only."""
    stage = request.GET.get("stage", "")[:10]
    overdue = request.GET.get("overdue") == "1"
    page_number = request.GET.get("page", "")
    narrow = ListQuery.from_params(request.GET)
    try:
        page = workflow.case_page(
            Actor.from_request(request, "cases"),
            int(page_number) if page_number.isdigit() else 1,
            stage=stage,
            overdue=overdue,
            narrow=narrow,
        )
    except PermissionDenied:
        return _forbidden(request)
    today = timezone.localdate()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": [(c, bool(c.due_on and c.due_on < today)) for c in page.object_list],
        "stages": Case.Stage.choices,
        "stage": stage,
        "overdue": overdue,
        "narrow": narrow,
        "areas": regions.narrowing(request.user.region),  # type: ignore[union-attr]
        "sorts": workflow.CASE_SORTS,
        "total": page.paginator.count,
        "number": page.number,
        "pages": page.paginator.num_pages,
        "query": query.urlencode(),
    }
    return render(request, "cases/index.html", context)


@login_required
def export(request: HttpRequest) -> HttpResponseBase:
    """The open cases list, filtered as the page is, as an Excel workbook (people in words)."""
    stage = request.GET.get("stage", "")[:10]
    try:
        rows = workflow.case_sheet_rows(
            Actor.from_request(request, "cases export"),
            stage=stage,
            overdue=request.GET.get("overdue") == "1",
            narrow=ListQuery.from_params(request.GET),
        )
        return workbook_response("个案名单.xlsx", "个案", workflow.CASE_SHEET_HEADERS, rows)
    except PermissionDenied:
        return _forbidden(request)


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The role's inbox; township and county staff triage unidentified leads from here."""
    try:
        actor = Actor.from_request(request, "inbox")
        if request.method == "POST":
            _assign(request, actor)
            return redirect("cases:inbox")
        sections = inboxes.for_actor(actor)
    except PermissionDenied:
        return _forbidden(request)
    today = timezone.localdate()
    codes = {c.region_code for s in sections for c in s.cases} | {
        lead.region_code for s in sections for lead in s.leads
    }
    names = regions.names(sorted(codes))
    for item in [c for s in sections for c in s.cases] + [lead for s in sections for lead in s.leads]:
        item.place = names.get(item.region_code, item.region_code)  # type: ignore[union-attr]
    heads, _ = registry.names_of(c.household_id for s in sections for c in s.cases)
    for c in (c for s in sections for c in s.cases):
        c.head_name = heads.get(c.household_id, "")  # type: ignore[attr-defined]
    villages = []
    if Cap.ASSIGN_LEAD in actor.user.caps and actor.user.region is not None:
        villages = regions.villages_under(actor.user.region)
    return render(
        request,
        "cases/inbox.html",
        {
            "sections": sections,
            "late": {c.pk for s in sections for c in s.cases if inboxes.is_late(c, today)},
            "villages": villages,
            "today": today,
        },
    )


def _assign(request: HttpRequest, actor: Actor) -> None:
    lead_id = request.POST.get("lead", "")
    try:
        lead = leads.assign(
            actor,
            int(lead_id) if lead_id.isdigit() else -1,
            household_id=request.POST.get("household_id", "")[:32],
            region_code=request.POST.get("region_code", "")[:12],
        )
    except leads.LeadRejected as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"线索 #{lead.pk} 已分派")


@login_required
@require_http_methods(["GET", "POST"])
def referrals(request: HttpRequest) -> HttpResponse:
    """A department's referrals, answered here; county staff may record an answer given on paper."""
    typed: dict[str, object] = {}
    try:
        actor = Actor.from_request(request, "referrals")
        if request.method == "POST":
            referral_id = request.POST.get("referral", "")
            try:
                coordination.answer(
                    actor,
                    int(referral_id) if referral_id.isdigit() else -1,
                    request.POST.get("answer", "")[:2100],
                    request.POST.get("helped", ""),
                )
            except workflow.StepRejected as error:
                messages.error(request, str(error))
                typed = {
                    "referral": int(referral_id) if referral_id.isdigit() else None,
                    "answer": request.POST.get("answer", "")[:2100],
                    "helped": request.POST.get("helped", ""),
                }
            else:
                messages.success(request, "已答复转介")
                return redirect("cases:referrals")
        found = coordination.referrals(actor)
        history = coordination.referrals(actor, answered=True, limit=50)
    except PermissionDenied:
        return _forbidden(request)
    can_answer = Cap.ANSWER_REFERRAL in actor.user.caps
    context = {"referrals": found, "history": history, "can_answer": can_answer, "typed": typed}
    return render(request, "cases/referrals.html", context, status=422 if typed else 200)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The county administrator's rules: deadlines, the temporary cap, rounding, delegation."""
    try:
        actor = Actor.from_request(request, "case settings")
        form = county_settings.SettingsForm(initial=county_settings.current(actor))
        if request.method == "POST":
            form = county_settings.SettingsForm(request.POST)
            try:
                county_settings.save(actor, form)
            except workflow.StepRejected as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "已保存本县规则")
                return redirect("cases:settings")
    except PermissionDenied:
        return _forbidden(request)
    except workflow.StepRejected:
        return _forbidden(request)
    steps = [form[s] for s in county_settings.STEP_LABELS]
    rules = [form[f] for f in form.fields if f not in county_settings.STEP_LABELS]
    return render(request, "cases/settings.html", {"form": form, "steps": steps, "rules": rules})


@login_required
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "case")
        found = workflow.get_case(actor, case_id)
        if found is None:
            return render(request, "not_found.html", status=404)
        sources = leads.case_leads(actor, found.pk)
    except PermissionDenied:
        return _forbidden(request)
    if request.method == "POST" and request.POST.get("action") == "photos":
        _attach_photos(request, actor, found.pk)
        return redirect("cases:case", case_id=found.pk)
    refused: dict[str, Any] = {}
    status = 200
    confirm: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")[:20]
        version = request.POST.get("version", "")
        data = request.POST.copy()
        consequence = _consequence(action, data)
        if consequence and data.get("confirmed") != "1":
            # An act that closes the case or silences a warning is asked again, saying what will happen,
            # with everything typed kept; only the second, confirmed submit records it.
            refused[action] = ACTIONS[action].form(data, ctx=StepContext(actor, found, _today()))
            confirm = {"action": action, "message": consequence}
            context = _case_context(actor, found, sources, refused)
            return render(request, "cases/case.html", {**context, "confirm": confirm})
        try:
            workflow.act(
                actor,
                found.pk,
                int(version) if version.isdigit() else -1,
                action,
                data,
                request.POST.get("note", ""),
            )
        except PermissionDenied:
            return _forbidden(request)
        except (workflow.Conflict, workflow.StepRejected) as error:
            # Shown again with everything typed, the reasons beside the fields.
            messages.error(request, str(error))
            found.refresh_from_db()
            if action in ACTIONS:
                form = getattr(error, "form", None)
                refused[action] = form or ACTIONS[action].form(data, ctx=StepContext(actor, found, _today()))
            status = 409 if isinstance(error, workflow.Conflict) else 422
        else:
            messages.success(request, f"已记录：{ACTIONS[action].label}")
            if action == "verify":
                _attach_photos(request, actor, found.pk)
            return redirect("cases:case", case_id=found.pk)
    return render(request, "cases/case.html", _case_context(actor, found, sources, refused), status=status)


def _consequence(action: str, data: Any) -> str:
    """What an irreversible or silencing step will do, said before it is recorded; "" for other steps."""
    if action == "decline":
        return "本人自愿放弃：个案将结案，到回访日期再上门回访；本人情况变化时可随时再申请。确认记录吗？"
    if action == "verify" and str(data.get("hardship", "")).lower() in ("no", "否", "false", "0"):
        return "未发现困难：个案将结案，引发本个案的预警记为不属实，180 天内同样的情况不再预警。确认记录吗？"
    return ""


def _today() -> Any:
    return timezone.localdate()


def _case_context(actor: Actor, found: Case, sources: list[Any], refused: dict[str, Any]) -> dict[str, Any]:
    ctx = StepContext(actor, found, _today())
    policies = _matching_policies(actor, found)
    # The policies that fit the household start ticked in the inform step: what staff usually tell.
    initial = {"inform": {"policy_codes": [p.code for p in policies]}}
    actions = [
        (name, label, refused.get(name) or ACTIONS[name].form(ctx=ctx, initial=initial.get(name)))
        for name, label in workflow.next_actions(found, actor)
    ]
    steps = [
        {
            "at": step.at,
            "label": workflow.step_label(step.action)
            + " → "
            + (Case.Stage(step.to_stage).label if step.to_stage in Case.Stage.values else step.to_stage),
            "actor": (step.actor.get_full_name() or step.actor.get_username()) if step.actor else "系统",
            "facts": "；".join(
                f"{_fact_label(step.action, k)}：{_shown(k, v)}"
                for k, v in step.data.items()
                if k not in HIDDEN_FACTS and v not in ("", None)
            ),
        }
        for step in found.steps.select_related("actor")
    ]
    reports = [
        {
            "at": s.created_at,
            "label": s.get_channel_display(),
            "actor": s.reporter_name,
            "facts": s.summary,
            # a warning's lead links to the warning, which links back here: one story, both ways
            "warning": s.source_ref.removeprefix("warning:") if s.source_ref.startswith("warning:") else "",
        }
        for s in sources
    ]
    return {
        "case": found,
        "place": regions.names([found.region_code]).get(found.region_code, found.region_code),
        # reports and steps as one history, in the order they happened
        "timeline": sorted(reports + steps, key=lambda e: e["at"]),
        "outcome": OUTCOMES.get(found.outcome, found.outcome),
        "sources": sources,
        "actions": actions,
        "overdue": bool(found.due_on and found.due_on < ctx.today),
        "photos": found.photos.all(),
        "can_add_photos": Cap.ADD_PHOTOS in actor.user.caps,
        "can_print_letter": Cap.PRINT_LETTER in actor.user.caps,
        "verified": found.steps.filter(action="verify").exists(),
        "referrals": found.referrals.order_by("id"),
        "late": inboxes.is_late(found, ctx.today),
        "today": ctx.today,
        "facts": ctx.facts,
        "policies": policies,
        "assessment": pre_assess(ctx.facts, ctx.last("verify"))
        if found.stage in (Case.Stage.VERIFIED, Case.Stage.INFORMED)
        else None,
    }


def _attach_photos(request: HttpRequest, actor: Actor, case_id: int) -> None:
    uploads = request.FILES.getlist("photos")[: photos.MAX_PER_CASE + 1]
    if not uploads:
        return
    try:
        saved = photos.attach(actor, case_id, [f.read(photos.MAX_BYTES + 1) for f in uploads])
    except workflow.StepRejected as error:
        messages.error(request, f"照片未保存：{error}")
    except PermissionDenied:
        messages.error(request, "照片未保存：您的角色无权上传查访照片")
    else:
        messages.success(request, f"已保存 {len(saved)} 张查访照片")


@login_required
def photo(request: HttpRequest, case_id: int, photo_id: int) -> HttpResponse:
    try:
        found = photos.read(Actor.from_request(request, "case photo"), case_id, photo_id)
    except PermissionDenied:
        return _forbidden(request)
    except encryption.CannotOpen as error:  # changed or moved on disk: said, never shown as another's
        return render(request, "policies/problem.html", {"message": f"照片无法打开：{error}"}, status=409)
    if found is None:
        return render(request, "not_found.html", status=404)
    response = HttpResponse(found.content, content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@login_required
def letter(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's notification letter (告知书) as PDF: ?policy=code&policy=code, or every fitting policy."""
    from safetynet.policies import services as policies

    codes = [c[:40] for c in request.GET.getlist("policy")[: policies.MAX_LETTER_POLICIES + 1]]
    try:
        actor = Actor.from_request(request, "notification letter")
        found = workflow.get_case(actor, case_id)
        if found is None:
            return render(request, "not_found.html", status=404)
        pdf = policies.letter_pdf(actor, found.household_id, found.pk, codes)
    except PermissionDenied:
        return _forbidden(request)
    except policies.NotFound:
        return render(request, "not_found.html", status=404)
    except policies.PolicyRejected as error:
        return render(request, "policies/problem.html", {"message": str(error)}, status=422)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"notification-case-{case_id}-{timezone.localdate():%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data: not kept by shared browsers or proxies
    return response


HIDDEN_FACTS = {"due_estimated", "routed", "policy_codes"}
EXTRA_LABELS = {
    "told": "告知的政策目录",
    "assessment": "资格预评估",
    "due_on": "答复期限",
    "to": "升级至",
    "repeat": "重复救助提示",
    "program": "申请项目",
    "department": "转介部门",
    "answer": "答复内容",
    "helped": "是否已帮扶",
}


def _fact_label(action: str, key: str) -> str:
    if action in ACTIONS and key in ACTIONS[action].form.base_fields:
        return str(ACTIONS[action].form.base_fields[key].label)
    return EXTRA_LABELS.get(key, key)


def _matching_policies(actor: Actor, case: Case) -> list[Any]:
    """The county's policies that fit the household, with why: told at the visit, listed in the letter."""
    from safetynet.policies import services as policies

    if case.status != Case.Status.OPEN:
        return []
    try:
        return list(policies.matching(actor, case.household_id))
    except (policies.NotFound, PermissionDenied):
        return []


def _shown(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "department" and value in Department.values:
        return Department(str(value)).label
    if key == "program" and value in Program.values:
        return str(Program(str(value)).label)
    return str(value)
