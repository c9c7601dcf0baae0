"""Leaders' analysis pages: the dashboard with drill-down, the workbook and the brief on demand, the
monthly reports produced before."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from safetynet.access.services import Actor
from safetynet.reports import brief as briefs
from safetynet.reports import monthly as monthly_reports
from safetynet.reports import services
from safetynet.reports import workbook as workbooks
from safetynet.reports.measures import CHANNEL_LABELS, RANKINGS, Period
from safetynet.reports.services import Dashboard


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


def _period(request: HttpRequest) -> Period:
    return Period.parse(request.GET.get("start", ""), request.GET.get("end", ""))


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "leaders' analysis")
        board = services.dashboard(
            actor,
            request.GET.get("region", ""),
            _period(request),
            rank_by=request.GET.get("rank", ""),
            channel=request.GET.get("channel", ""),
        )
    except PermissionDenied:
        return _forbidden(request)
    return render(
        request,
        "reports/dashboard.html",
        {
            "board": board,
            "rankings": RANKINGS,
            "channels": list(CHANNEL_LABELS.items()),
            "channel_label": CHANNEL_LABELS.get(board.channel, ""),
            "charts": briefs.chart_data(board),
            "map": services.boundary_map(board),
            "reports": monthly_reports.listed(actor, board.region.code),
        },
    )


def _download(
    request: HttpRequest, purpose: str, audit: str, respond: Callable[[Dashboard], HttpResponse]
) -> HttpResponse:
    """A region's figures for the asked period as a file, read and audited like the page."""
    try:
        actor = Actor.from_request(request, purpose)
        board = services.dashboard(actor, request.GET.get("region", ""), _period(request), audit=audit)
    except PermissionDenied:
        return _forbidden(request)
    return respond(board)


@login_required
@require_GET
def workbook(request: HttpRequest) -> HttpResponse:
    return _download(request, "statistics workbook", "统计报表下载", workbooks.response)


@login_required
@require_GET
def brief(request: HttpRequest) -> HttpResponse:
    return _download(request, "analysis brief", "分析简报下载", briefs.response)


@login_required
@require_GET
def monthly(request: HttpRequest, report_id: int, kind: str) -> FileResponse | HttpResponse:
    try:
        actor = Actor.from_request(request, "monthly report")
        return monthly_reports.download(actor, report_id, kind)
    except PermissionDenied:
        return _forbidden(request)
    except FileNotFoundError:
        raise Http404("no such report") from None
