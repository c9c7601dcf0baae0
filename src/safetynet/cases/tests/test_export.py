"""The open cases list as an Excel workbook: the page's filters and order, people in words, audited;
refused to a role without the export."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from safetynet.access.models import AuditEntry
from safetynet.cases import workflow
from safetynet.cases.services import open_case_for

pytestmark = pytest.mark.django_db


def test_the_cases_workbook_lists_the_open_cases_in_words(county, make_user) -> None:  # type: ignore[no-untyped-def]
    first, _ = open_case_for("H001", "371522100201")
    second, _ = open_case_for("H002", "371522100202")
    county_staff = Client()
    county_staff.force_login(make_user("county", "county", "371522000000"))
    response = county_staff.get("/cases/export.xlsx")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(load_workbook(BytesIO(response.getvalue()), read_only=True).active.iter_rows(values_only=True))
    assert list(rows[0]) == workflow.CASE_SHEET_HEADERS
    assert sorted(r[0] for r in rows[1:]) == sorted([first.pk, second.pk])
    by_case = {r[0]: r for r in rows[1:]}
    assert by_case[first.pk][1] == "王建国" and by_case[first.pk][3] == "东王村" and by_case[first.pk][6] == "否"
    assert AuditEntry.objects.filter(action="export", object_type="case_list", detail__startswith="2 个").exists()

    village = Client()  # a coordinator works cases but does not export the county's list
    village.force_login(make_user("coord", "coordinator", "371522100201"))
    assert village.get("/cases/export.xlsx").status_code == 403
    assert not AuditEntry.objects.filter(action="export", username="coord").exists()
