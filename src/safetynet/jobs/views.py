"""Job pages (thin): one job's progress, the administrators' list of jobs, and the county's schedules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safetynet.access.services import Actor
from safetynet.jobs import services
from safetynet.jobs.models import Job


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


def _result_url(job: Job) -> str:
    """Only a path of this site: a job's result is ours, but a page must never redirect elsewhere."""
    url = str(job.result.get("url", "")) if isinstance(job.result, dict) else ""
    return url if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None) else ""


def _state(job: Job) -> dict[str, object]:
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "percent": job.percent,
        "note": job.progress_note,
        "attempts": job.attempts,
        "attempts_text": f"{job.attempts} / {job.max_attempts}",
        "started": timezone.localtime(job.started_at).strftime("%Y-%m-%d %H:%M:%S") if job.started_at else "—",
        "summary": job.result.get("summary", "") if isinstance(job.result, dict) else "",
        "url": _result_url(job),
        "finished": job.finished,
    }


@login_required
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    found = services.get(Actor.from_request(request, "job"), job_id)
    if found is None:
        return render(request, "not_found.html", {"what": _("job")}, status=404)
    state = _state(found)
    # Started from a button: go straight to what it made once it is done (at once when it ran inline).
    if request.GET.get("then") == "result" and found.status == Job.Status.DONE and state["url"]:
        return redirect(str(state["url"]))
    return render(
        request,
        "jobs/job.html",
        {"job": found, "state": state, "title": services.title(found), "follow": request.GET.get("then") == "result"},
    )


@login_required
def status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job page polls this for its progress bar."""
    found = services.get(Actor.from_request(request, "job"), job_id)
    if found is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse(_state(found))


@login_required
def index(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "jobs")
    try:
        recent = services.recent(actor)
    except PermissionDenied:
        return _forbidden(request)
    rows = [(j, services.title(j)) for j in recent]
    return render(request, "jobs/index.html", {"rows": rows})


@login_required
def schedules(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "job schedules")
    try:
        current = services.schedules(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "jobs/schedules.html", {"schedules": current})


def _clock(text: str) -> tuple[int, int]:
    """"HH:MM" as a browser's time field sends it; anything else is (-1, -1), which the service refuses."""
    hour, _, minute = text.partition(":")
    if not (hour.isascii() and hour.isdigit() and minute.isascii() and minute.isdigit()):
        return -1, -1
    if len(hour) > 2 or len(minute) != 2:
        return -1, -1
    return int(hour), int(minute)


@login_required
@require_POST
def schedule_save(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "job schedules")
    hour, minute = _clock(request.POST.get("time", ""))
    try:
        services.set_schedule(
            actor, request.POST.get("kind", ""), request.POST.get("enabled") == "on", hour, minute
        )
    except PermissionDenied:
        return _forbidden(request)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("jobs:schedules")
    messages.success(request, _("Schedule saved."))
    return redirect("jobs:schedules")
