"""Monthly reports: on the first working day of each month, last month's statistics workbook and analysis
brief for every county, city and province, kept in the data folder and listed on the dashboard.

`safetynet reports monthly` is run daily (by the scheduler or cron): before the month's first working day
it does nothing, after it it produces what is missing, so a missed day or a re-run is harmless. The files
are made with small cells suppressed, since they circulate beyond the people who work the cases.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import FileResponse
from django.utils import timezone

from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, record
from safetynet.cases import workdays
from safetynet.regions import services as regions
from safetynet.regions.models import Level, Region
from safetynet.reports import brief, services, workbook
from safetynet.reports.measures import Period, add_months
from safetynet.reports.models import Report

LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY)
KINDS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def first_working_day(month: dt.date) -> dt.date:
    day = month.replace(day=1)
    while not workdays.is_workday(day):
        day += dt.timedelta(days=1)
    return day


def produce(month: dt.date | None = None, today: dt.date | None = None) -> list[Report]:
    """The reports of `month` (default: last month, once this month's first working day has come) for
    every region of county level or above that has none yet. Returns the ones made now."""
    today = today or timezone.localdate()
    if month is None:
        if today < first_working_day(today):
            return []
        month = add_months(today.replace(day=1), -1)
    month = month.replace(day=1)
    period = Period(month, month)
    folder = Path(settings.DATA_DIR) / "reports"
    made = []
    for region in Region.objects.filter(level__in=LEVELS).order_by("code"):
        if Report.objects.filter(region_code=region.code, month=month).exists():
            continue
        board = services.build(region, period, suppress=True)
        stem = folder / region.code / f"{month:%Y-%m}"
        stem.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        xlsx, pdf = stem.with_suffix(".xlsx"), stem.with_suffix(".pdf")
        _write(xlsx, workbook.build(board))
        _write(pdf, brief.build(board))
        try:
            with transaction.atomic():
                made.append(
                    Report.objects.create(
                        region_code=region.code,
                        month=month,
                        workbook=str(xlsx.relative_to(settings.DATA_DIR)),
                        brief=str(pdf.relative_to(settings.DATA_DIR)),
                    )
                )
        except IntegrityError:  # another run made it meanwhile: its files are the same
            continue
    return made


def _write(path: Path, content: bytes) -> None:
    """Written beside, then renamed: a reader never gets half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)


def listed(actor: Actor, region_code: str, limit: int = 12) -> list[Report]:
    """The region's monthly reports, newest first (the dashboard has checked the reader may see it)."""
    require(actor, Cap.READ_STATISTICS)
    return list(Report.objects.filter(region_code=region_code)[:limit])


def download(actor: Actor, report_id: int, kind: str) -> FileResponse:
    require(actor, Cap.READ_STATISTICS)
    report = Report.objects.filter(pk=report_id).first()
    if report is None or kind not in KINDS:
        raise FileNotFoundError(report_id)
    own = actor.user.region
    if own is None or not regions.in_subtree(report.region_code, own.code, own.level):
        record(actor, "denied", "report", str(report_id), own.code if own else "", "辖区外的月度报表")
        raise PermissionDenied("report outside the reader's region")
    path = Path(settings.DATA_DIR) / (report.workbook if kind == "xlsx" else report.brief)
    handle = path.open("rb")  # FileNotFoundError: the files were removed by hand
    record(
        actor, "read", "report", str(report_id), report.region_code, f"月度报表 {report.month:%Y-%m} {kind}"
    )
    name = f"{'statistics' if kind == 'xlsx' else 'brief'}-{report.region_code}-{report.month:%Y%m}.{kind}"
    answer = FileResponse(handle, as_attachment=True, filename=name, content_type=KINDS[kind])
    answer["Cache-Control"] = "no-store"
    return answer
