"""The analysis pages, the workbook, the brief, the monthly reports and the boundaries, as served."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from safetynet.access.models import AuditEntry
from safetynet.regions.boundaries import BoundaryError, import_collection, import_file
from safetynet.reports import monthly
from safetynet.reports.models import Report
from safetynet.reports.tests.conftest import on
from safetynet.reports.workbook import SHEETS

PERIOD = "start=2026-03&end=2026-05"


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _square(x: float, y: float) -> list[list[list[float]]]:
    return [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]


def county_staff_read_the_dashboard_in_chinese_and_drill_down(history) -> None:  # type: ignore[no-untyped-def]
    client = _client(history["county"].user)
    with on("2026-05-25"):
        page = client.get(f"/reports/?{PERIOD}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "莘县主动发现分析研判" in page and "2026年3月至2026年5月" in page
        assert "燕店镇" in page and "观城镇" in page and "<5" not in page  # staff see every count
        data = json.loads(
            re.search(r'id="report-data" type="application/json">(.*?)</script>', page, re.S)[1]
        )  # type: ignore[index]
        assert [s["value"] for s in data["funnel"]] == [4, 3, 2, 2, 1, 1, 2]
        assert data["series"]["opened"] == [2, 1, 1]
        drilled = client.get(f"/reports/?region=371522100000&{PERIOD}").content.decode()
        assert "东王村" in drilled and "西李村" in drilled and "观城镇" not in drilled.split("研判要点")[1]
        # a nonsense period falls back to the last 12 months; a region that does not exist is not found
        assert client.get("/reports/?start=abc&end=2026-99").status_code == 200
        assert client.get("/reports/?region=999999999999").status_code == 404


@pytest.mark.django_db
def test_a_leader_lands_on_the_analysis_sees_no_person_and_no_small_cell(history, make_user) -> None:  # type: ignore[no-untyped-def]
    leader = make_user("leader", "leader", "371500000000")
    client = _client(leader)
    with on("2026-05-25"):
        home = client.get("/")
        assert home.status_code == 302 and home["Location"] == "/reports/"
        page = client.get(f"/reports/?{PERIOD}").content.decode()
        assert "聊城市" in page and "莘县" in page and "&lt;5" in page
        for secret in ("H001", "H002", "王建国", "13812345678", "371522195"):
            assert secret not in page
        county = client.get(f"/reports/?region=371522000000&{PERIOD}").content.decode()
        data = json.loads(
            re.search(r'id="report-data" type="application/json">(.*?)</script>', county, re.S)[1]
        )  # type: ignore[index]
        assert all(s["value"] is None for s in data["funnel"])  # suppressed: drawn as gaps, never numbers
        book = load_workbook(
            io.BytesIO(client.get(f"/reports/workbook.xlsx?region=371522000000&{PERIOD}").content)
        )
        assert book["发现漏斗"]["B4"].value == "<5"
        # everything a leader may not touch stays refused, server-side
        for path in ("/cases/", "/leads/", "/screening/warnings/", "/registry/search/?q=王建国"):
            assert client.get(path).status_code == 403, path
    assert AuditEntry.objects.filter(user=leader, action="read", object_type="report").count() >= 3


def the_workbook_has_its_fixed_sheets_and_the_brief_prints_the_figures(history) -> None:  # type: ignore[no-untyped-def]
    client = _client(history["county"].user)
    with on("2026-05-25"):
        answer = client.get(f"/reports/workbook.xlsx?region=371522000000&{PERIOD}")
        assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(answer.content))
        assert tuple(book.sheetnames) == SHEETS
        funnel = [[c.value for c in row] for row in book["发现漏斗"].iter_rows(min_row=4, max_row=10)]
        assert [r[1] for r in funnel] == [4, 3, 2, 2, 1, 1, 2] and funnel[1][2] == 75.0
        assert [[c.value for c in r] for r in book["办理时效"].iter_rows(min_row=4)] == [
            ["发现至核实", 3, 3, 5], ["发现至审批", 1, 10, 10], ["发现至获得帮扶", 2, 5, 10],
        ]  # fmt: skip
        pdf = client.get(f"/reports/brief.pdf?region=371522000000&{PERIOD}")
        assert pdf["Content-Type"] == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "莘县社会救助主动发现分析简报" in re.sub(r"\s", "", text)
        assert "立案4户" in re.sub(r"\s", "", text) and "核实准确率66.6%" in re.sub(r"\s", "", text)


def monthly_reports_wait_for_the_first_working_day_and_are_made_once(history, settings) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    # 2026-05-01 to 05-05 are the Labour Day holiday: the first working day of May is Wednesday the 6th.
    assert monthly.first_working_day(dt.date(2026, 5, 1)) == dt.date(2026, 5, 6)
    assert monthly.produce(today=dt.date(2026, 5, 5)) == []
    made = monthly.produce(today=dt.date(2026, 5, 6))
    assert sorted(r.region_code for r in made) == ["370000000000", "371500000000", "371522000000"]
    assert {r.month for r in made} == {dt.date(2026, 4, 1)}
    assert monthly.produce(today=dt.date(2026, 5, 7)) == []  # once
    report = Report.objects.get(region_code="371522000000")
    assert (Path(settings.DATA_DIR) / report.workbook).stat().st_size > 0
    client = _client(history["county"].user)
    assert client.get(f"/reports/monthly/{report.pk}/pdf").status_code == 200
    assert client.get(f"/reports/monthly/{report.pk}/exe").status_code == 404
    city = Report.objects.get(region_code="371500000000")
    assert client.get(f"/reports/monthly/{city.pk}/xlsx").status_code == 403  # above the county's own region


def boundaries_import_all_or_nothing_and_colour_the_map(history, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "371522100"}, "geometry": {"type": "Polygon", "coordinates": _square(115.6, 36.2)}},
            {"type": "Feature", "properties": {"name": "观城镇"}, "geometry": {"type": "Polygon", "coordinates": _square(115.8, 36.3)}},
        ],
    }  # fmt: skip
    bad = json.loads(json.dumps(good))
    bad["features"].append({"type": "Feature", "properties": {"code": "12345"}, "geometry": None})
    bad["features"].append(
        {"type": "Feature", "properties": {"name": "不存在镇"}, "geometry": good["features"][0]["geometry"]}
    )
    bad["features"][0]["geometry"]["coordinates"][0][1] = [500, 36.2]
    with pytest.raises(BoundaryError) as refused:
        import_collection(bad)
    assert len(refused.value.problems) == 3 and "第 1 个要素" in refused.value.problems[0]
    assert "经纬度" in refused.value.problems[0] and "6、9 或 12 位" in refused.value.problems[1]
    path = tmp_path / "towns.geojson"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(BoundaryError, match="UTF-8"):
        import_file(path)
    path.write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    assert import_file(path).regions == ["371522100000", "371522101000"]
    client = _client(history["county"].user)
    with on("2026-05-25"):
        page = client.get(f"/reports/?{PERIOD}").content.decode()
    shapes = json.loads(re.search(r'id="report-map" type="application/json">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert sorted(f["properties"]["code"] for f in shapes["features"]) == ["371522100000", "371522101000"]
    assert 'id="chart-map"' in page


@pytest.mark.django_db
def test_county_staff_pages_downloads_monthly_reports_and_the_map(history, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    county_staff_read_the_dashboard_in_chinese_and_drill_down(history)
    the_workbook_has_its_fixed_sheets_and_the_brief_prints_the_figures(history)
    monthly_reports_wait_for_the_first_working_day_and_are_made_once(history, settings)
    boundaries_import_all_or_nothing_and_colour_the_map(history, tmp_path)
