"""Lead pages: the report form (with live matching), the scoped inbox, a lead, a reporter's own leads (thin)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.leads import services
from safetynet.leads.models import Channel, Lead
from safetynet.linkage.services import FIELDS
from safetynet.listing import ListQuery
from safetynet.regions import services as regions
from safetynet.xlsx import workbook_response


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Every lead of the region, a page at a time with the true total; by channel, status, unidentified."""
    number = request.GET.get("page", "")
    narrow = ListQuery.from_params(request.GET)
    try:
        page = services.lead_page(
            Actor.from_request(request, "leads inbox"),
            int(number) if number.isdigit() else 1,
            **_filters(request),
            narrow=narrow,
        )
    except PermissionDenied:
        return _forbidden(request)
    names = regions.names(sorted({lead.region_code for lead in page.object_list}))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "leads/inbox.html",
        {
            "leads": [(lead, names.get(lead.region_code, lead.region_code)) for lead in page.object_list],
            "channels": Channel.choices,
            "statuses": Lead.Status.choices,
            "filters": request.GET,
            "narrow": narrow,
            "areas": regions.narrowing(request.user.region),  # type: ignore[union-attr]
            "sorts": services.LEAD_SORTS,
            "total": page.paginator.count,
            "number": page.number,
            "pages": page.paginator.num_pages,
            "query": query.urlencode(),
        },
    )


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "status": request.GET.get("status", "")[:12],
        "channel": request.GET.get("channel", "")[:12],
        "unidentified": request.GET.get("unidentified") == "1",
    }


@login_required
def export(request: HttpRequest) -> HttpResponseBase:
    """The leads list, filtered as the page is, as an Excel workbook (masked as the reader sees it)."""
    try:
        rows = services.lead_sheet_rows(
            Actor.from_request(request, "leads export"),
            **_filters(request),
            narrow=ListQuery.from_params(request.GET),
        )
        return workbook_response("线索名单.xlsx", "线索", services.LEAD_SHEET_HEADERS, rows)
    except PermissionDenied:
        return _forbidden(request)


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "report lead")
    channels = [(c, label) for c, label in Channel.choices if c in services.allowed_channels(actor)]
    if not channels:
        return _forbidden(request)
    keys = ("channel", "summary", "reporter_name", "household_id", *services.CALLER_FIELDS, *FIELDS)
    form = {k: request.POST.get(k, "")[:1100] for k in keys}
    if request.method == "POST":
        details = {k: form[k] for k in FIELDS}
        data = services.LeadInput(
            channel=form["channel"],
            summary=form["summary"],
            details=details,
            urgent=request.POST.get("urgent") == "on",
            reporter_name=form["reporter_name"],
            caller={k: form[k] for k in services.CALLER_FIELDS},
            household_id=form["household_id"][:32],
        )
        try:
            lead = services.report(actor, data)
        except PermissionDenied:
            return _forbidden(request)
        except services.LeadRejected as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Lead %(id)s received.") % {"id": lead.pk})
            if Cap.READ_REGISTRY in actor.user.caps:
                return redirect("leads:lead", lead_id=lead.pk)
            return redirect("leads:mine")
    return render(
        request,
        "leads/new.html",
        {
            "channels": channels,
            "form": form,
            "live": Cap.READ_REGISTRY in actor.user.caps,
            "hotline": any(c == Channel.HOTLINE for c, _label in channels),
        },
    )


@login_required
def lead(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "lead")
        found = services.get_lead(actor, lead_id)
        if found is None:
            return render(request, "not_found.html", status=404)
        sources = services.case_leads(actor, found.case_id) if found.case_id else [found]
    except PermissionDenied:
        return _forbidden(request)
    place = regions.names([found.region_code]).get(found.region_code, found.region_code)
    # the service has masked ID numbers and phones in the report for a reader without whole identifiers
    return render(
        request,
        "leads/lead.html",
        {"lead": found, "place": place, "sources": sources, "details": _shown(found)},
    )


DETAIL_LABELS = {
    "name": "姓名", "id_number": "身份证号码", "phone": "电话", "birth_date": "出生日期", "age": "年龄",
    "gender": "性别", "region_code": "区划代码", "address_text": "地址", "rule_id": "预警规则",
    "level": "预警等级", "caller_name": "来电人", "caller_phone": "来电号码", "ticket": "工单号",
}  # fmt: skip
GENDERS = {"M": "男", "F": "女", "男": "男", "女": "女"}


def _shown(lead: Lead) -> list[tuple[str, str]]:
    """A lead's details as a person reads them: Chinese labels, a rule's title, a level's word."""
    from safetynet.screening import services as screening
    from safetynet.screening.packs import LEVEL_LABELS

    titles = {r.id: r.title for r in screening.load(screening.active_pack()).rules}
    shown = []
    for key, value in lead.details.items():
        if value in ("", None):
            continue
        if key == "rule_id":
            value = titles.get(value, value)
        elif key == "level":
            value = LEVEL_LABELS.get(value, value)
        elif key == "gender":
            value = GENDERS.get(value, value)
        shown.append((DETAIL_LABELS.get(key, key), value))
    return shown


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "own leads")
    return render(request, "leads/mine.html", {"leads": services.my_leads(actor)})
