"""Lake pages: only county data admins reach them; freshness, batches, quarantine (audited, masked by
role) and the quarantine download, whose cells Excel must never evaluate."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from safetynet import testing
from safetynet.access import roles
from safetynet.access.masking import mask_id_number
from safetynet.access.models import AuditEntry
from safetynet.lake import services
from safetynet.lake.models import Batch
from safetynet.lake.views import excel_text

pytestmark = pytest.mark.django_db

HEADER = ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"]
GOOD_ID = testing.make_id_number(dt.date(1970, 1, 1), 1, True)
OTHER_ID = testing.make_id_number(dt.date(1980, 6, 15), 2, False)
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")  # wrong check digit
HOSTILE = "=cmd|' /C calc'!A0"


@pytest.fixture(autouse=True)
def lake(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    return tmp_path / "lake"


def claims_file(path: Path) -> Path:
    """Two good claims, one with a bad ID number, and a ragged row that opens like a formula."""
    testing.write_csv(
        path,
        HEADER,
        [
            ["C1", GOOD_ID, "王建国", "2026-01-15", "1200.50"],
            ["C2", BAD_ID, "李秀英", "2026-01-16", "300"],
            ["C3", OTHER_ID, "刘强", "2026-01-17", "80"],
            [HOSTILE, "x", "y", "z", "1", "extra"],
        ],
    )
    return path


@pytest.fixture
def claims(tmp_path: Path) -> Batch:
    result = services.ingest(
        "medical_claims", claims_file(tmp_path / "claims-2026-01.csv"), submitted_by="clerk"
    )
    assert (result.accepted, result.rejected) == (2, 2)
    return Batch.objects.get(pk=result.batch_id)


@pytest.fixture
def deaths(tmp_path: Path) -> Batch:
    """A deaths feed that last arrived 40 days ago: late (expected every 31 days)."""
    path = testing.write_csv(tmp_path / "deaths.csv", ["id_number", "death_date"], [[OTHER_ID, "2025-12-01"]])
    result = services.ingest("deaths", path, submitted_by="clerk")
    Batch.objects.filter(pk=result.batch_id).update(
        finished_at=timezone.now() - dt.timedelta(days=40, hours=1)
    )
    return Batch.objects.get(pk=result.batch_id)


def login(make_user, role: str, region: str = "371522000000") -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user(role, role, region))
    return client


@pytest.fixture
def admin(county, make_user) -> Client:  # type: ignore[no-untyped-def]
    return login(make_user, "county_admin")


def urls(batch: Batch) -> list[str]:
    return ["/lake/", f"/lake/batches/{batch.pk}/", f"/lake/batches/{batch.pk}/quarantine.xlsx"]


@pytest.mark.parametrize(
    ("role", "region"),
    [
        ("coordinator", "371522100201"),
        ("township", "371522100000"),
        ("hotline", "371522000000"),
        ("social_org", "371522000000"),
        ("liaison", "371522000000"),
        ("leader", "371522000000"),
        ("auditor", "371522000000"),
    ],
)
def test_other_roles_are_refused(county, make_user, claims: Batch, role: str, region: str) -> None:  # type: ignore[no-untyped-def]
    client = login(make_user, role, region)
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    for url in urls(claims):
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 403, url
        assert "无权访问" in body and GOOD_ID not in body and "claims-2026-01.csv" not in body
    # Nothing was read; each refusal is on record.
    after = AuditEntry.objects.filter(id__gt=last)
    assert [e.action for e in after] == ["denied"] * len(urls(claims))
    assert 'href="/lake/"' not in client.get("/").content.decode()


def test_anonymous_is_sent_to_login(claims: Batch) -> None:
    for url in urls(claims):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_data_admins_have_a_nav_link(county, make_user) -> None:  # type: ignore[no-untyped-def]
    for role in ("county", "county_admin"):
        body = login(make_user, role).get("/").content.decode()
        assert '<a href="/lake/">部门数据</a>' in body


def test_freshness_flags_a_late_source(admin: Client, claims: Batch, deaths: Batch) -> None:
    response = admin.get("/lake/")
    assert response.status_code == 200
    body = response.content.decode()
    table = body[body.index('data-testid="freshness"') : body.index('data-testid="batches"')]
    rows = {r.split('"', 1)[0]: r for r in table.split('data-source="')[1:]}
    assert set(rows) == {
        "medical_claims",
        "disability",
        "deaths",
        "unemployment",
        "pensions",
        "students",
        "disasters",
        "relapse_monitoring",
        "housing_safety",
        "vehicles",
        "businesses",
        "hotline",
    }
    assert 'data-testid="late"' not in rows["medical_claims"] and "医保局" in rows["medical_claims"]
    assert f"#{claims.pk}" in rows["medical_claims"] and "按时" in rows["medical_claims"]
    assert 'class="late"' in rows["deaths"] and ">逾期</span>" in rows["deaths"]
    assert '<td class="num">40</td>' in rows["deaths"]
    assert "从未报送" in rows["pensions"] and ">逾期</span>" in rows["pensions"]  # never sent: late
    assert "逾期" not in rows["disasters"] and "随事件报送" in rows["disasters"]  # event-driven


def test_batch_list_links_each_batch_and_filters_by_source(
    admin: Client, claims: Batch, deaths: Batch
) -> None:
    body = admin.get("/lake/").content.decode()
    listing = body[body.index('data-testid="batches"') :]
    for batch in (claims, deaths):
        assert f'href="/lake/batches/{batch.pk}/"' in listing
    row = listing[listing.index(f'data-batch="{claims.pk}"') :].split("</tr>")[0]
    for text in ("medical_claims", "claims-2026-01.csv", "csv", "utf-8", "已入湖", ">2</td>", "clerk"):
        assert text in row, text

    only = admin.get("/lake/", {"source": "deaths"}).content.decode()
    listing = only[only.index('data-testid="batches"') :]
    assert f'data-batch="{deaths.pk}"' in listing and f'data-batch="{claims.pk}"' not in listing
    assert '<option value="deaths" selected>' in only

    anything = admin.get("/lake/", {"source": "<script>"}).content.decode()
    assert f'data-batch="{claims.pk}"' in anything and "<script>" not in anything


def test_batch_page_shows_quarantine_rows_and_audits_the_read(county, make_user, claims: Batch) -> None:  # type: ignore[no-untyped-def]
    staff = make_user("staff", "county", "371522000000")
    client = Client()
    client.force_login(staff)
    response = client.get(f"/lake/batches/{claims.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "批次 " + str(claims.pk) in body and "claims-2026-01.csv" in body and "医保局" in body
    assert '<b data-testid="accepted">2</b>' in body and '<b data-testid="rejected">2</b>' in body
    quarantine = body[body.index('data-testid="quarantine"') :]
    assert BAD_ID in quarantine and "李秀英" in quarantine  # county staff see identifiers whole
    assert "该行有 6 列，表头有 5 列" in quarantine and "=cmd|&#x27; /C calc&#x27;!A0" in quarantine
    assert f'href="/lake/batches/{claims.pk}/quarantine.xlsx"' in body

    entry = AuditEntry.objects.get(object_type="quarantine")
    assert (entry.username, entry.action, entry.object_id) == ("staff", "read", str(claims.pk))
    assert entry.purpose == "quarantine review" and "rows=2" in entry.detail


def test_identifiers_are_masked_for_a_role_without_full_identifiers(
    monkeypatch: pytest.MonkeyPatch, admin: Client, claims: Batch
) -> None:
    # No role that administers feeds reads masked identifiers today; should one, the page masks.
    from safetynet.access.permissions import GRANTS, Cap

    monkeypatch.setitem(GRANTS, Cap.FULL_IDENTIFIERS, (roles.Role.TOWNSHIP, roles.Role.COUNTY))
    body = admin.get(f"/lake/batches/{claims.pk}/").content.decode()
    assert BAD_ID not in body and mask_id_number(BAD_ID) in body
    book = openpyxl.load_workbook(
        io.BytesIO(admin.get(f"/lake/batches/{claims.pk}/quarantine.xlsx").getvalue())
    )
    values = [str(c.value) for row in book.active.iter_rows() for c in row]
    assert not any(BAD_ID in v for v in values) and any(mask_id_number(BAD_ID) in v for v in values)


def test_unknown_batch_is_not_found(admin: Client) -> None:
    for url in ("/lake/batches/999/", "/lake/batches/999/quarantine.xlsx"):
        response = admin.get(url)
        assert response.status_code == 404 and "没有批次 999" in response.content.decode()


def test_whole_file_rejection_shows_its_reason(admin: Client, tmp_path: Path) -> None:
    path = testing.write_csv(tmp_path / "d.csv", ["id_number"], [[GOOD_ID]])
    result = services.ingest("deaths", path)
    body = admin.get(f"/lake/batches/{result.batch_id}/").content.decode()
    assert "缺少必需的列：death_date" in body and "整批拒收" in body and 'data-testid="no-quarantine"' in body


def test_quarantine_download_is_xlsx_with_formulas_neutralised(admin: Client, claims: Batch) -> None:
    response = admin.get(f"/lake/batches/{claims.pk}/quarantine.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == (
        f'attachment; filename="quarantine-medical_claims-batch-{claims.pk}.xlsx"'
    )
    content = response.getvalue()
    book = openpyxl.load_workbook(io.BytesIO(content))
    rows = list(book.active.iter_rows())
    assert [c.value for c in rows[0]] == ["行号", "列", "原因", "原始数据"]
    assert len(rows) == 3
    by_line = {row[0].value: row for row in rows[1:]}
    assert set(by_line) == {3, 5}
    assert by_line[3][1].value == "id_number" and BAD_ID in by_line[3][3].value
    hostile = by_line[5][3]
    assert hostile.value.startswith("'" + HOSTILE) and hostile.data_type == "s"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)

    entry = AuditEntry.objects.filter(object_type="quarantine").latest("pk")
    assert entry.purpose == "quarantine download" and entry.object_id == str(claims.pk)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("bell\x07", "bell"),
        ("", ""),
        ("x" * 40_000, "x" * 32_767),
    ],
)
def test_excel_text(value: str, shown: str) -> None:
    assert excel_text(value) == shown
