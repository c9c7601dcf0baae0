"""The departments' push API: a bearer token lands its own sources only, bodies are streamed and capped,
and a department reads back only the batches it pushed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from safetynet import testing
from safetynet.lake import services, storage
from safetynet.lake.models import Batch, DepartmentToken

pytestmark = pytest.mark.django_db

URL = "/api/lake/medical_claims/batches"
HEADER = ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"]
GOOD_ID = testing.make_id_number(dt.date(1970, 1, 1), 1, True)
OTHER_ID = testing.make_id_number(dt.date(1980, 6, 15), 2, False)
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
ROWS = [
    ["C1", GOOD_ID, "王建国", "2026-01-15", "1200.50"],
    ["C2", BAD_ID, "李秀英", "2026-01-16", "300"],
    ["C3", OTHER_ID, "刘强", "2026-01-17", "80"],
]


@pytest.fixture(autouse=True)
def lake(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    # Temporary files of pushes land here, so a test can see none is left behind.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path / "lake"


@pytest.fixture
def token() -> str:
    return services.create_token("医保局", ["medical_claims"])


@pytest.fixture
def client() -> Client:
    # The push API needs no session and no CSRF token: prove it with CSRF checks on.
    return Client(enforce_csrf_checks=True)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def csv_bytes(rows: list[list[str]] = ROWS) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


def jsonl_bytes(rows: list[list[str]] = ROWS) -> bytes:
    return "".join(
        json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False) + "\n" for r in rows
    ).encode()


def push_csv(client: Client, token: str, name: str = "claims-2026-01.csv", data: bytes | None = None):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile(name, csv_bytes() if data is None else data, "text/csv")
    return client.post(URL, {"file": upload}, **bearer(token))


def lake_files(lake: Path) -> list[Path]:
    return [p for p in lake.rglob("*") if p.is_file()] if lake.exists() else []


def test_multipart_csv_lands_and_returns_counts(
    client: Client, token: str, lake: Path, tmp_path: Path
) -> None:
    response = push_csv(client, token)
    assert response.status_code == 201, response.content
    body = response.json()
    batch = Batch.objects.get()
    assert body == {
        "batch_id": batch.pk,
        "status": "done",
        "accepted": 2,
        "rejected": 1,
        "already_ingested": False,
        "message": "已入湖 2 行，1 行未通过校验，已放入隔离区",
    }
    assert (batch.file_name, batch.file_format, batch.department) == ("claims-2026-01.csv", "csv", "医保局")
    assert batch.submitted_by == "token:" + token.split("_")[1]
    assert lake_files(lake) and not list((tmp_path / "tmp").iterdir())  # the temporary file is gone
    assert DepartmentToken.objects.get().last_used_at is not None


def test_multipart_xlsx_lands(client: Client, token: str) -> None:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in ROWS:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    upload = SimpleUploadedFile("理赔.xlsx", data.getvalue(), "application/octet-stream")
    response = client.post(URL, {"file": upload}, **bearer(token))
    assert response.status_code == 201, response.content
    assert (response.json()["accepted"], response.json()["rejected"]) == (2, 1)
    assert Batch.objects.get().file_format == "xlsx" and Batch.objects.get().file_name == "理赔.xlsx"


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl"])
def test_json_lines_body_lands(client: Client, token: str, content_type: str) -> None:
    response = client.post(
        URL + "?file_name=claims.jsonl", jsonl_bytes(), content_type=content_type, **bearer(token)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"], body["status"]) == (2, 1, "done")
    batch = Batch.objects.get()
    assert (batch.file_format, batch.file_name) == ("jsonl", "claims.jsonl")


def test_chunked_body_without_length_is_streamed(client: Client, token: str) -> None:
    # A chunked request reaches Django with no Content-Length; the server marks the input as terminated.
    data = jsonl_bytes()
    extra = {"CONTENT_LENGTH": "", "wsgi.input": io.BytesIO(data), "wsgi.input_terminated": True}
    extra["CONTENT_TYPE"] = "application/x-ndjson"
    response = client.generic("POST", URL, b"", **bearer(token), **extra)
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == 2


def test_identical_push_twice_is_already_ingested(client: Client, token: str) -> None:
    first = push_csv(client, token).json()
    again = push_csv(client, token, name="same-content.csv")
    assert again.status_code == 200
    body = again.json()
    assert body["already_ingested"] is True and body["batch_id"] == first["batch_id"]
    assert body["accepted"] == 0 and str(first["batch_id"]) in body["message"]
    # the second push keeps its own record, saying which batch holds its content; nothing lands twice
    assert Batch.objects.filter(status="done").count() == 1
    second = Batch.objects.exclude(pk=first["batch_id"]).get()
    assert second.status == "duplicate" and second.duplicate_of == first["batch_id"]
    read = client.get(f"/api/lake/batches/{second.pk}", **bearer(token)).json()
    assert read["status"] == "duplicate" and read["duplicate_of"] == first["batch_id"]


@pytest.fixture
def on_the_worker(settings):  # type: ignore[no-untyped-def]
    """Jobs queued for the worker, as served, instead of run inside the request."""
    settings.SAFETYNET_JOBS_INLINE = False


def test_a_push_is_answered_202_at_once_and_lands_when_the_worker_runs(
    client: Client, token: str, lake: Path, on_the_worker: None
) -> None:
    from django_q.models import OrmQ

    from safetynet.jobs import services as jobs
    from safetynet.jobs.models import Job

    response = push_csv(client, token)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and str(body["batch_id"]) in body["message"]
    read = client.get(f"/api/lake/batches/{body['batch_id']}", **bearer(token)).json()
    assert read["status"] == "queued" and read["accepted"] == 0
    assert lake_files(lake) == []  # nothing landed yet: the file waits in the inbox
    assert [p.name for p in storage.inbox_dir().iterdir()] == [f"{body['batch_id']}.csv"]
    job = Job.objects.get(kind="lake.ingest_push")
    assert job.status == "queued" and OrmQ.objects.count() == 1  # in the worker's queue
    assert jobs.execute(job.pk) is True
    read = client.get(f"/api/lake/batches/{body['batch_id']}", **bearer(token)).json()
    assert read["status"] == "done" and (read["accepted"], read["rejected"]) == (2, 1)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 1 and f"/lake/batches/{body['batch_id']}/" == job.result["url"]
    # a second delivery of the same job (the broker's lease ran out) does nothing
    assert jobs.execute(job.pk) is True
    assert Batch.objects.get().accepted == 2 and job.attempts == 1
    assert list(storage.inbox_dir().iterdir()) == []  # landed: the waiting copy is gone


def test_prefer_wait_is_answered_202_when_the_push_has_not_landed_in_time(
    client: Client, token: str, on_the_worker: None
) -> None:
    response = client.post(
        URL, {"file": SimpleUploadedFile("c.csv", csv_bytes(), "text/csv")}, HTTP_PREFER="wait=1", **bearer(token)
    )
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_whole_file_rejected_is_422_with_the_reason(client: Client, token: str) -> None:
    data = b"claim_id,id_number,settle_date\nC1," + GOOD_ID.encode() + b",2026-01-15\n"
    response = push_csv(client, token, data=data)
    assert response.status_code == 422
    assert (
        response.json()["status"] == "rejected"
        and response.json()["message"] == "缺少必需的列：out_of_pocket"
    )


def test_another_departments_source_is_forbidden_and_nothing_lands(
    client: Client, lake: Path, tmp_path: Path
) -> None:
    disability = services.create_token("残联", ["disability"])
    response = push_csv(client, disability)
    assert response.status_code == 403 and "medical_claims" in response.json()["detail"]
    response = client.post(URL, jsonl_bytes(), content_type="application/x-ndjson", **bearer(disability))
    assert response.status_code == 403
    assert not Batch.objects.exists() and not lake_files(lake)
    assert not list((tmp_path / "tmp").iterdir())


def test_unknown_source_is_404(client: Client, token: str) -> None:
    response = client.post(
        "/api/lake/no_such_feed/batches", jsonl_bytes(), content_type="application/x-ndjson", **bearer(token)
    )
    assert response.status_code == 404 and "未知的数据来源" in response.json()["detail"]


def test_other_content_types_are_refused(client: Client, token: str) -> None:
    response = client.post(URL, csv_bytes(), content_type="text/csv", **bearer(token))
    assert response.status_code == 415 and "multipart/form-data" in response.json()["detail"]
    response = client.post(URL, {"other": "x"}, **bearer(token))
    assert response.status_code == 400 and "file" in response.json()["detail"]
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ",
        "Bearer sn_deadbeef_nottherightsecret",
        "Bearer not-a-token",
        "Token {token}",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_or_invalid_token_is_401(client: Client, token: str, lake: Path, header: str | None) -> None:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header.format(token=token)}
    response = client.post(URL, jsonl_bytes(), content_type="application/x-ndjson", **extra)
    assert response.status_code == 401
    assert client.get("/api/lake/batches/1", **extra).status_code == 401
    assert not Batch.objects.exists() and not lake_files(lake)


def test_token_with_a_wrong_secret_is_401(client: Client, token: str) -> None:
    prefix = token.split("_")[1]
    forged = f"sn_{prefix}_{'A' * 43}"
    assert (
        client.post(URL, jsonl_bytes(), content_type="application/x-ndjson", **bearer(forged)).status_code
        == 401
    )


def test_revoked_token_is_401(client: Client, token: str) -> None:
    assert push_csv(client, token).status_code == 201
    DepartmentToken.objects.update(revoked_at=timezone.now())
    assert push_csv(client, token, data=csv_bytes(ROWS[:1])).status_code == 401
    assert client.get(f"/api/lake/batches/{Batch.objects.get().pk}", **bearer(token)).status_code == 401
    assert Batch.objects.count() == 1


def test_a_signed_in_session_is_not_a_token(county, make_user, lake: Path) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("admin", "county_admin", "371522000000"))
    response = client.post(URL, jsonl_bytes(), content_type="application/x-ndjson")
    assert response.status_code == 401 and not Batch.objects.exists()


def test_oversize_push_is_413_and_nothing_lands(
    settings, client: Client, token: str, lake: Path, tmp_path: Path
) -> None:
    settings.SAFETYNET_MAX_PUSH_BYTES = 100
    for response in (
        push_csv(client, token),
        client.post(URL, jsonl_bytes(), content_type="application/x-ndjson", **bearer(token)),
    ):
        assert response.status_code == 413
        assert response.json()["detail"] == "推送的数据超过 100 字节 的上限，请拆分成多个文件分批推送"
    assert not Batch.objects.exists() and not lake_files(lake)
    assert not list((tmp_path / "tmp").iterdir())


def test_oversize_chunked_body_is_cut_off_while_streaming(
    settings, client: Client, token: str, lake: Path, tmp_path: Path
) -> None:
    settings.SAFETYNET_MAX_PUSH_BYTES = 100
    extra = {"CONTENT_LENGTH": "", "wsgi.input": io.BytesIO(jsonl_bytes()), "wsgi.input_terminated": True}
    extra["CONTENT_TYPE"] = "application/x-ndjson"
    response = client.generic("POST", URL, b"", **bearer(token), **extra)
    assert response.status_code == 413
    assert not Batch.objects.exists() and not lake_files(lake)
    assert not list((tmp_path / "tmp").iterdir())


def test_department_reads_its_own_batch_and_quarantine(client: Client, token: str) -> None:
    batch_id = push_csv(client, token).json()["batch_id"]
    status = client.get(f"/api/lake/batches/{batch_id}", **bearer(token))
    assert status.status_code == 200
    body = status.json()
    assert body["batch_id"] == batch_id and body["status"] == "done"
    assert (body["source"], body["file_name"], body["rows_total"], body["accepted"], body["rejected"]) == (
        "medical_claims",
        "claims-2026-01.csv",
        3,
        2,
        1,
    )
    quarantine = client.get(f"/api/lake/batches/{batch_id}/quarantine", **bearer(token))
    assert quarantine.status_code == 200
    [row] = quarantine.json()
    assert row["line"] == 3 and row["column"] == "id_number" and "校验位错误" in row["reason"]
    assert json.loads(row["raw"])["id_number"] == BAD_ID  # the department's own row, unmasked
    from safetynet.access.models import AuditEntry

    entry = AuditEntry.objects.get(object_type="quarantine", object_id=str(batch_id))
    assert entry.username == f"token:{DepartmentToken.objects.get().prefix}" and entry.role == "liaison"

    listing = client.get(URL, **bearer(token))
    assert listing.status_code == 200 and [b["batch_id"] for b in listing.json()] == [batch_id]


def test_department_cannot_read_another_departments_batch(client: Client, token: str, tmp_path: Path) -> None:
    batch_id = push_csv(client, token).json()["batch_id"]
    other = services.create_token("残联", ["disability"])
    for url in (f"/api/lake/batches/{batch_id}", f"/api/lake/batches/{batch_id}/quarantine"):
        response = client.get(url, **bearer(other))
        assert response.status_code == 404 and batch_id and GOOD_ID not in response.content.decode()
    assert client.get(URL, **bearer(other)).json() == []

    # A batch loaded by the county itself (not pushed) is no department's either.
    path = testing.write_csv(tmp_path / "c.csv", HEADER, [["C9", GOOD_ID, "王建国", "2026-01-15", "10"]])
    landed = services.ingest("medical_claims", path, submitted_by="clerk")
    assert client.get(f"/api/lake/batches/{landed.batch_id}", **bearer(token)).status_code == 404
    assert client.get("/api/lake/batches/999", **bearer(token)).status_code == 404


def test_jsonl_push_lands_the_same_parquet_as_a_gbk_csv_ingest(
    client: Client, token: str, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    gbk = tmp_path / "claims-gbk.csv"
    gbk.write_bytes(csv_bytes().decode().encode("gbk"))
    by_file = services.ingest("medical_claims", gbk)
    file_table = pq.read_table(tmp_path / "lake" / "medical_claims" / f"batch={by_file.batch_id}")

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake2")
    pushed = client.post(URL, jsonl_bytes(), content_type="application/x-ndjson", **bearer(token)).json()
    push_table = pq.read_table(tmp_path / "lake2" / "medical_claims" / f"batch={pushed['batch_id']}")
    assert (pushed["accepted"], by_file.accepted) == (2, 2)
    assert push_table.equals(file_table)


def test_an_expired_token_is_401_and_the_refusal_is_audited(client: Client, lake: Path) -> None:
    import datetime as dt

    from safetynet.access.models import AuditEntry

    short = services.create_token("医保局", ["medical_claims"], days=1)
    assert push_csv(client, short).status_code == 201
    DepartmentToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert push_csv(client, short, data=csv_bytes(ROWS[:1])).status_code == 401
    assert AuditEntry.objects.filter(
        action="denied", object_id=short.split("_")[1], detail="expired"
    ).exists()
    assert AuditEntry.objects.filter(action="push", object_type="batch").count() == 1  # the one that landed


def test_a_token_reads_back_only_its_own_sources(client: Client, token: str, lake: Path) -> None:
    """Both tokens are 医保局's; the one for pensions may not read the medical-claims batch."""
    landed = push_csv(client, token).json()["batch_id"]
    pensions = services.create_token("医保局", ["pensions"])
    assert client.get(f"/api/lake/batches/{landed}", **bearer(token)).status_code == 200
    assert client.get(f"/api/lake/batches/{landed}", **bearer(pensions)).status_code == 404
    assert client.get(f"/api/lake/batches/{landed}/quarantine", **bearer(pensions)).status_code == 404
    assert client.get("/api/lake/medical_claims/batches", **bearer(pensions)).json() == []


def test_tokens_are_listed_and_revoked_by_the_county_administrator(
    county, make_user, client: Client, token: str
) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from safetynet.cli import app

    prefix = token.split("_")[1]
    listed = CliRunner().invoke(app, ["lake", "token", "list"])
    assert listed.exit_code == 0 and prefix in listed.output and token not in listed.output
    admin = Client()
    admin.force_login(make_user("admin", "county_admin", "371522000000"))
    page = admin.get("/lake/").content.decode()
    assert f"sn_{prefix}_" in page and token not in page
    staff = Client()
    staff.force_login(make_user("staff", "county", "371522000000"))
    assert staff.post("/lake/", {"revoke": prefix}).status_code == 403  # reads batches, keeps no tokens
    assert admin.post("/lake/", {"revoke": prefix}).status_code == 200
    assert push_csv(client, token).status_code == 401
    again = CliRunner().invoke(app, ["lake", "token", "revoke", prefix])
    assert again.exit_code == 2 and "没有在用的令牌" in again.output
