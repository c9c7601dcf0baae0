"""Case pages: open cases by deadline, and one case with its timeline, sources and next step (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from safetynet.access.services import Actor
from safetynet.cases import workflow
from safetynet.cases.models import Case
from safetynet.leads import services as leads
from safetynet.regions import services as regions


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
def case(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "case")
        found = workflow.get_case(actor, case_id)
        if found is None:
            return render(request, "forbidden.html", status=404)
        sources = leads.case_leads(actor, found.pk)
    except PermissionDenied:
        return _forbidden(request)
    if request.method == "POST":
        action = request.POST.get("action", "")[:20]
        version = request.POST.get("version", "")
        data = {f: request.POST.get(f, "")[:2100] for f in workflow.ACTION_FIELDS.get(action, ())}
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
        return redirect("cases:case", case_id=found.pk)
    actions = [
        (a, label, [(f, workflow.FIELD_NAMES[f]) for f in workflow.ACTION_FIELDS[a]])
        for a, label in workflow.next_actions(found)
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
                    else step.action,
                    "stage": Case.Stage(step.to_stage).label
                    if step.to_stage in Case.Stage.values
                    else step.to_stage,
                    "actor": step.actor.get_username(),
                    "facts": "；".join(
                        f"{workflow.FIELD_NAMES.get(k, k)}：{_shown(v)}" for k, v in step.data.items()
                    ),
                }
                for step in found.steps.select_related("actor")
            ],
            "outcome": workflow.OUTCOMES.get(found.outcome, found.outcome),
            "sources": sources,
            "actions": actions,
            "overdue": bool(found.due_on and found.due_on < timezone.localdate()),
            "programs": workflow.PROGRAMS,
        },
    )


def _shown(value: object) -> str:
    return {True: "是", False: "否"}.get(value, str(value)) if isinstance(value, bool) else str(value)
