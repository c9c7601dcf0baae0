"""Case pages: open cases by deadline, and one case with its timeline, sources and next step (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from safetynet.access.departments import Department
from safetynet.access.services import Actor
from safetynet.cases import coordination, photos, workflow
from safetynet.cases import inbox as inboxes
from safetynet.cases import settings as county_settings
from safetynet.cases.assessment import pre_assess
from safetynet.cases.models import Case
from safetynet.leads import services as leads
from safetynet.regions import services as regions
from safetynet.registry.models import Program


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        found = workflow.open_cases(Actor.from_request(request, "cases"))
    except PermissionDenied:
        return _forbidden(request)
    names = regions.names(sorted({c.region_code for c in found}))
    today = timezone.localdate()
    rows = [(c, names.get(c.region_code, c.region_code), bool(c.due_on and c.due_on < today)) for c in found]
    return render(request, "cases/index.html", {"rows": rows})


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
    villages = []
    if actor.user.role in ("township", *workflow.COUNTY_APPROVERS) and actor.user.region is not None:
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
            else:
                messages.success(request, "已答复转介")
            return redirect("cases:referrals")
        found = coordination.referrals(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "cases/referrals.html", {"referrals": found})


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The county administrator's working-day limits per step and temporary-assistance cap."""
    try:
        actor = Actor.from_request(request, "case settings")
        if request.method == "POST":
            try:
                county_settings.save(
                    actor,
                    {s: request.POST.get(s, "")[:10] for s in workflow.DEFAULT_DEADLINES},
                    request.POST.get("temporary_cap", "")[:20],
                )
            except workflow.StepRejected as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "已保存本县办理时限")
            return redirect("cases:settings")
        rows, cap = county_settings.current(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "cases/settings.html", {"rows": rows, "cap": cap})


@login_required
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "case")
        found = workflow.get_case(actor, case_id)
        if found is None:
            return render(request, "forbidden.html", status=404)
        sources = leads.case_leads(actor, found.pk)
    except PermissionDenied:
        return _forbidden(request)
    if request.method == "POST" and request.POST.get("action") == "photos":
        _attach_photos(request, actor, found.pk)
        return redirect("cases:case", case_id=found.pk)
    if request.method == "POST":
        action = request.POST.get("action", "")[:20]
        version = request.POST.get("version", "")
        data: dict[str, object] = {
            f: request.POST.get(f, "")[:2100] for f in workflow.ACTION_FIELDS.get(action, ())
        }
        if action == "inform":
            data["policy_codes"] = request.POST.getlist("policy_codes")[:30]
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
            messages.error(request, str(error))
        else:
            messages.success(request, f"已记录：{workflow.TRANSITIONS[action].label}")
            if action == "verify":
                _attach_photos(request, actor, found.pk)
        return redirect("cases:case", case_id=found.pk)
    actions = [
        (a, label, [(f, workflow.FIELD_NAMES[f]) for f in workflow.ACTION_FIELDS[a]])
        for a, label in workflow.next_actions(found, actor.user.role)
    ]
    place = regions.names([found.region_code]).get(found.region_code, found.region_code)
    return render(
        request,
        "cases/case.html",
        {
            "case": found,
            "place": place,
            "steps": [
                {
                    "at": step.at,
                    "label": workflow.TRANSITIONS[step.action].label
                    if step.action in workflow.TRANSITIONS
                    else workflow.STEP_LABELS.get(step.action, step.action),
                    "stage": Case.Stage(step.to_stage).label
                    if step.to_stage in Case.Stage.values
                    else step.to_stage,
                    "actor": step.actor.get_username() if step.actor else "系统",
                    "facts": "；".join(
                        f"{workflow.FIELD_NAMES.get(k, k)}：{_shown(k, v)}"
                        for k, v in step.data.items()
                        if k not in HIDDEN_FACTS and v not in ("", None)
                    ),
                }
                for step in found.steps.select_related("actor")
            ],
            "outcome": workflow.OUTCOMES.get(found.outcome, found.outcome),
            "sources": sources,
            "actions": actions,
            "overdue": bool(found.due_on and found.due_on < timezone.localdate()),
            "programs": [(p, Program(p).label) for p in workflow.PROGRAMS],
            "departments": Department.choices,
            "photos": found.photos.all(),
            "verified": found.steps.filter(action="verify").exists(),
            "referrals": found.referrals.order_by("id"),
            "late": inboxes.is_late(found, timezone.localdate()),
            "today": timezone.localdate(),
            "policies": _matching_policies(actor, found),
            "assessment": pre_assess(found, timezone.localdate())
            if found.stage in (Case.Stage.VERIFIED, Case.Stage.INFORMED)
            else None,
        },
    )


def _attach_photos(request: HttpRequest, actor: Actor, case_id: int) -> None:
    uploads = request.FILES.getlist("photos")[: photos.MAX_PER_CASE + 1]
    if not uploads:
        return
    try:
        saved = photos.attach(actor, case_id, [f.read(photos.MAX_BYTES + 1) for f in uploads])
    except workflow.StepRejected as error:
        messages.error(request, f"照片未保存：{error}")
    else:
        messages.success(request, f"已保存 {len(saved)} 张查访照片")


@login_required
def photo(request: HttpRequest, case_id: int, photo_id: int) -> HttpResponse:
    try:
        found = photos.read(Actor.from_request(request, "case photo"), case_id, photo_id)
    except PermissionDenied:
        return _forbidden(request)
    if found is None:
        return render(request, "forbidden.html", status=404)
    response = HttpResponse(found.content, content_type=found.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


HIDDEN_FACTS = {"due_estimated", "routed", "policy_codes"}


def _matching_policies(actor: Actor, case: Case) -> list[object]:
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
