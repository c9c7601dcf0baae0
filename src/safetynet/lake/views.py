"""Lake pages for county data administrators: feed freshness, batches, and their quarantine (thin)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.lake import services
from safetynet.lake.models import Batch
from safetynet.lake.sources import FEEDS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A digit run in a reason is an echoed ID number, phone or birth date.
# Text Excel (or LibreOffice) would read as a formula or a DDE call when a clerk opens the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_CHARS = 32_767  # longer text makes Excel "repair" the file


@dataclass(frozen=True)
class QuarantineLine:
    """A quarantine row as the page shows it: the raw record split into its columns when it is JSON."""

    line: int | None
    column: str
    reason: str
    raw: str
    fields: list[tuple[str, str]]


def _fields(raw: str) -> list[tuple[str, str]]:
    try:
        values = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(values, dict):
        return []
    return [(str(k), "" if v is None else str(v)) for k, v in values.items() if v not in (None, "")]


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


def _not_found(request: HttpRequest, batch_id: int) -> HttpResponse:
    return render(request, "lake/not_found.html", {"batch_id": batch_id}, status=404)


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    source = request.GET.get("source", "")
    if source not in FEEDS:
        source = ""
    token = ""
    try:
        actor = Actor.from_request(request, "feed administration")
        if request.method == "POST" and request.POST.get("revoke"):
            try:
                services.revoke_token(request.POST["revoke"][:12], actor)
            except ValueError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "令牌已停用")
        elif request.method == "POST":
            try:
                token = services.issue_token(
                    actor,
                    request.POST.get("department", "")[:100],
                    [s for s in request.POST.getlist("sources")[: len(FEEDS)] if s in FEEDS],
                )
            except ValueError as error:
                messages.error(request, str(error))
        feeds = services.freshness(actor)
        recent = services.batches(actor, source=source)
        tokens = services.tokens(actor) if Cap.MANAGE_TOKENS in actor.user.caps else []
    except PermissionDenied:
        return _forbidden(request)
    return render(
        request,
        "lake/index.html",
        {
            "feeds": feeds,
            "batches": recent,
            "source": source,
            "sources": list(FEEDS),
            "token": token,
            "tokens": tokens,
        },
    )


@login_required
def batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    actor = Actor.from_request(request, "quarantine review")
    try:
        found, rows = services.quarantine_for(actor, batch_id)
    except PermissionDenied:
        return _forbidden(request)
    except Batch.DoesNotExist:
        return _not_found(request, batch_id)
    lines = [QuarantineLine(r.line, r.column, r.reason, r.raw, _fields(r.raw)) for r in rows]
    spec = FEEDS.get(found.source)
    return render(
        request,
        "lake/batch.html",
        {
            "batch": found,
            "department": spec.department if spec else "",
            "rows": lines,
            "page_size": services.QUARANTINE_PAGE,
            "truncated": len(lines) >= services.QUARANTINE_PAGE,
        },
    )


def excel_text(value: str) -> str:
    """Text that Excel shows as typed and never evaluates; also drops characters XLSX cannot hold."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    value = "'" + value if value.startswith(FORMULA_STARTS) else value
    return value[:EXCEL_CELL_CHARS]


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    cell = WriteOnlyCell(sheet, value=excel_text(value))
    cell.data_type = "s"  # a string whatever it looks like: openpyxl would otherwise store "=…" as a formula
    return cell


@login_required
def quarantine_download(request: HttpRequest, batch_id: int) -> HttpResponseBase:
    actor = Actor.from_request(request, "quarantine download")
    try:
        found, rows = services.quarantine_for(actor, batch_id, limit=None)
    except PermissionDenied:
        return _forbidden(request)
    except Batch.DoesNotExist:
        return _not_found(request, batch_id)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("隔离数据")
    sheet.append([_text_cell(sheet, h) for h in ("行号", "列", "原因", "原始数据")])
    for row in rows:
        sheet.append(
            [
                row.line,
                _text_cell(sheet, row.column),
                _text_cell(sheet, row.reason),
                _text_cell(sheet, row.raw),
            ]
        )
    # Spooled: a small file stays in memory, a large one goes to disk; FileResponse closes it when sent.
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by FileResponse
    book.save(out)
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"quarantine-{found.source}-batch-{found.pk}.xlsx",
        content_type=XLSX,
    )
