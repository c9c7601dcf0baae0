"""Campaign pages: the list with progress, the declaration form, progress by village, a village's visit list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.campaigns import services
from safetynet.campaigns.models import Campaign, VisitTask


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "campaigns")
        found = services.campaigns(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(
        request,
        "campaigns/index.html",
        {
            "rows": found,
            "can_declare": Cap.DECLARE_CAMPAIGN in actor.user.caps,
            "works": Cap.VISIT in actor.user.caps,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "declare campaign")
    try:
        options = services.declarable_regions(actor)
    except PermissionDenied:
        return _forbidden(request)
    today = timezone.localdate()
    form: dict[str, object] = {
        "name": request.POST.get("name", "")[:200],
        "kind": request.POST.get("kind", "")[:20],
        "starts_on": request.POST.get("starts_on", today.isoformat())[:10],
        "ends_on": request.POST.get("ends_on", "")[:10],
        "region_codes": [c[:12] for c in request.POST.getlist("region_codes")[: services.MAX_REGIONS + 1]],
        "target_groups": [g[:30] for g in request.POST.getlist("target_groups")[:20]],
    }
    error = ""
    if request.method == "POST":
        try:
            campaign = services.declare(
                actor,
                name=str(form["name"]),
                kind=str(form["kind"]),
                region_codes=list(form["region_codes"]),  # type: ignore[call-overload]
                starts_on=str(form["starts_on"]),
                ends_on=str(form["ends_on"]),
                target_groups=list(form["target_groups"]),  # type: ignore[call-overload]
            )
        except PermissionDenied:
            return _forbidden(request)
        except services.CampaignRejected as rejected:
            error = str(rejected)
        else:
            messages.success(request, f"已发起排查，共 {campaign.tasks.count()} 户待走访")
            return redirect("campaigns:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "campaigns/new.html",
        {
            "form": form,
            "error": error,
            "options": options,
            "kinds": Campaign.Kind.choices,
            "groups": Campaign.Group.choices,
        },
        status=422 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "campaign progress")
        asking = request.method == "POST" and request.POST.get("action") == "close"
        if asking and request.POST.get("confirmed") != "1":
            asking = False  # asked first, on the page below: what closing does
            confirm_close = True
        else:
            confirm_close = False
        if asking:
            try:
                services.close(actor, campaign_id)
            except services.CampaignRejected as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "排查已结束")
            return redirect("campaigns:campaign", campaign_id=campaign_id)
        summary = services.progress(actor, campaign_id)
    except PermissionDenied:
        return _forbidden(request)
    if summary is None:
        return render(request, "not_found.html", status=404)
    user = actor.user
    return render(
        request,
        "campaigns/campaign.html",
        {
            "s": summary,
            "works": Cap.VISIT in user.caps,
            "can_close": Cap.DECLARE_CAMPAIGN in user.caps
            and summary.campaign.status == Campaign.Status.OPEN
            and all(services.in_scope(actor, c) for c in summary.campaign.region_codes),
            "confirm_close": confirm_close,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest, campaign_id: int) -> HttpResponse:
    village = request.GET.get("village", "")[:12]
    status = request.GET.get("status", "")[:12]
    typed: dict[str, object] = {}
    try:
        actor = Actor.from_request(request, "campaign visits")
        if request.method == "POST":
            task_id = request.POST.get("task_id", "")
            try:
                services.record_visit(
                    actor,
                    int(task_id) if task_id.isdigit() else -1,
                    request.POST.get("outcome", "")[:20],
                    request.POST.get("findings", "")[:2000],
                    urgent=request.POST.get("urgent") == "on",
                )
            except services.CampaignRejected as error:
                # The page again with what was typed, not a blank form.
                messages.error(request, str(error))
                typed = {
                    "task": int(task_id) if task_id.isdigit() else None,
                    "outcome": request.POST.get("outcome", "")[:20],
                    "findings": request.POST.get("findings", "")[:2000],
                    "urgent": request.POST.get("urgent") == "on",
                }
            else:
                messages.success(request, "已记录走访结果")
                query = request.GET.urlencode()
                return redirect(
                    request.path + (f"?{query}" if query else "") + (f"#t{task_id}" if task_id else "")
                )
        found = services.tasks(actor, campaign_id, village=village, status=status)
        summary = services.progress(actor, campaign_id)
    except PermissionDenied:
        return _forbidden(request)
    if found is None or summary is None:
        return render(request, "not_found.html", status=404)
    pending = [t for t in found if t.status == VisitTask.Status.PENDING]
    done = [t for t in found if t.status != VisitTask.Status.PENDING]
    return render(
        request,
        "campaigns/tasks.html",
        {
            "s": summary,
            "pending": pending,
            "done": done,
            "village": village,
            "status": status,
            "statuses": VisitTask.Status.choices,
            "outcomes": [
                (v, label) for v, label in VisitTask.Status.choices if v != VisitTask.Status.PENDING
            ],
            "open": summary.campaign.status == Campaign.Status.OPEN,
            "max_findings": services.MAX_FINDINGS,
            "typed": typed,
        },
        status=422 if typed else 200,
    )
