"""In real headless Chromium: a county administrator opens the department-data page, sees a late feed
flagged, opens a batch with quarantined rows and downloads them. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from safetynet import testing
from safetynet.access.services import create_user
from safetynet.lake import services
from safetynet.lake.models import Batch
from safetynet.registry import services as registry

BAD_ID = "371522197001010001"

pytestmark = testing.browser_test


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def live_lake(transactional_db, county_dir: Path, tmp_path: Path, settings, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """A county administrator, a claims batch with quarantined rows and a deaths feed gone late. All ORM
    work happens here, before Playwright starts (see registry/tests/test_browser.py)."""
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    assert not registry.import_registry(county_dir).errors
    create_user("datadmin", "correct-horse-battery", "county_admin", "371522000000")
    ids = [testing.make_id_number(dt.date(1950 + i, 1 + i % 12, 1 + i), i, i % 2 == 0) for i in range(8)]
    rows: list[list[object]] = [
        [f"C{i:04d}", person, "王秀英", "2026-01-15", f"{300 + i * 25}.50"] for i, person in enumerate(ids)
    ]
    rows[2][1] = BAD_ID
    rows[4][3] = "2026-13-01"
    rows[5][4] = "-40"
    rows.append(['=HYPERLINK("http://x")', "x", "y", "z", "1", "extra"])
    claims = testing.write_csv(
        tmp_path / "医保结算-2026年1月.csv",
        ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"],
        rows,
    )
    batch_id = services.ingest("medical_claims", claims, submitted_by="datadmin").batch_id
    token = services.create_token("医保局", ["medical_claims"])
    pushed = testing.write_csv(
        tmp_path / "push.csv",
        ["claim_id", "id_number", "settle_date", "out_of_pocket"],
        [["P1", ids[0], "2026-02-01", "10"]],
    )
    services.accept_push(services.authenticate_token(token), "medical_claims", pushed, "claims-2026-02.csv")  # type: ignore[arg-type]
    deaths = testing.write_csv(tmp_path / "deaths.csv", ["id_number", "death_date"], [[ids[1], "2025-12-01"]])
    late = services.ingest("deaths", deaths, submitted_by="datadmin").batch_id
    Batch.objects.filter(pk=late).update(finished_at=timezone.now() - dt.timedelta(days=45))
    return batch_id


def test_county_admin_reviews_feeds_and_quarantine(live_server, live_lake, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch_id = live_lake
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "datadmin")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit].primary")
    page.click("nav >> text=部门数据")
    page.wait_for_selector("[data-testid=freshness]")
    deaths = page.inner_text("[data-testid=freshness] tr[data-source=deaths]")
    assert "公安/卫健" in deaths and "45" in deaths and "逾期" in deaths
    claims = page.inner_text("[data-testid=freshness] tr[data-source=medical_claims]")
    assert "按时" in claims and "逾期" not in claims
    assert page.is_visible("[data-testid=freshness] tr[data-source=deaths] [data-testid=late]")
    listing = page.inner_text("[data-testid=batches]")
    assert "医保结算-2026年1月.csv" in listing and "claims-2026-02.csv" in listing and "医保局" in listing
    page.screenshot(path=testing.ARTIFACTS / "lake-index.png", full_page=True)

    page.select_option("select[name=source]", "deaths")
    page.wait_for_url("**/lake/?source=deaths")
    assert "医保结算" not in page.inner_text("[data-testid=batches]")
    page.screenshot(path=testing.ARTIFACTS / "lake-index-filtered.png", full_page=True)

    page.goto(f"{live_server.url}/lake/")
    page.click(f"[data-testid=batches] a[href='/lake/batches/{batch_id}/'] >> nth=1")
    page.wait_for_selector("[data-testid=quarantine]")
    quarantine = page.inner_text("[data-testid=quarantine]")
    assert BAD_ID in quarantine and "校验位错误" in quarantine and "2026-13-01" in quarantine
    assert "该行有 6 列，表头有 5 列" in quarantine
    assert page.inner_text("[data-testid=accepted]") == "5"
    assert page.inner_text("[data-testid=rejected]") == "4"
    page.screenshot(path=testing.ARTIFACTS / "lake-batch.png", full_page=True)

    with page.expect_download() as download:
        page.click("[data-testid=download]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"quarantine-medical_claims-batch-{batch_id}.xlsx"
    sheet = openpyxl.load_workbook(saved).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert any(c.value == '\'=HYPERLINK("http://x"),x,y,z,1,extra' and c.data_type == "s" for c in cells)
