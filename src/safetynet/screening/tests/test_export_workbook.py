"""The warnings list as an Excel workbook for staff: the same rows as the page, most urgent first, people,
places, rules and levels in words, formula-safe, audited; refused to a role without the export."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from safetynet.access.models import AuditEntry
from safetynet.screening import services
from safetynet.screening.models import RiskWarning

pytestmark = pytest.mark.django_db


def test_the_warnings_workbook_is_the_list_in_words(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    county = Client()
    county.force_login(make_user("county", "county", "371522000000"))
    RiskWarning.objects.filter(status=RiskWarning.Status.OPEN).update(explanation="=HYPERLINK(\"x\")")
    response = county.get("/screening/warnings/export.xlsx")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(load_workbook(BytesIO(response.getvalue()), read_only=True).active.iter_rows(values_only=True))
    assert list(rows[0]) == services.SHEET_HEADERS
    open_warnings = RiskWarning.objects.filter(status=RiskWarning.Status.OPEN)
    assert len(rows) - 1 == open_warnings.count() > 0
    levels = [r[1] for r in rows[1:]]
    assert set(levels) <= {"红色", "橙色", "黄色"} and levels == sorted(levels, key=["红色", "橙色", "黄色"].index)
    assert all(r[2] and not r[2].isascii() for r in rows[1:])  # rule titles, not ids
    assert any(r[3] == "王建国" for r in rows[1:])  # the household head by name
    assert all(str(r[7]).startswith("'=") for r in rows[1:])  # a formula in the data is text in Excel
    assert AuditEntry.objects.filter(action="export", detail__contains="xlsx").exists()

    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))
    assert ngo.get("/screening/warnings/export.xlsx").status_code == 403
