"""The departments' push API: a department token lands its own feeds and reads back their batches.

Authenticated by a bearer token (services.authenticate_token), not by the session every other router
uses, so a department's system calls it with no login and no CSRF token. Bodies are streamed to a
temporary file, never held whole in memory, and refused past SAFETYNET_MAX_PUSH_BYTES.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from ninja import Router, Schema, Status  # Status: django-ninja >= 1.6
from ninja.errors import HttpError
from ninja.security import HttpBearer

from safetynet.apierrors import ErrorOut, Id, answers
from safetynet.jobs.api import prefer_wait
from safetynet.lake import services, storage
from safetynet.lake.models import Batch, DepartmentToken
from safetynet.lake.sources import FEEDS

CHUNK_BYTES = 1 << 20
JSONL_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/x-jsonlines",
)
# The reader picks the format by suffix; an unknown one is sniffed (XLSX by its zip header, else CSV).
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson", ".json"}


class DepartmentTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> DepartmentToken | None:
        return services.authenticate_token(token)


router = Router(tags=["lake"], auth=DepartmentTokenAuth())


class PushOut(Schema):
    batch_id: int
    status: str  # queued or running (202), done, rejected (the whole file), failed
    accepted: int
    rejected: int
    already_ingested: bool
    message: str


class BatchOut(Schema):
    batch_id: int
    source: str
    file_name: str
    file_format: str
    encoding: str
    status: str  # queued, running, done, rejected, failed, duplicate (see duplicate_of)
    duplicate_of: int | None
    rows_total: int
    accepted: int
    rejected: int
    message: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


class QuarantineOut(Schema):
    line: int | None
    column: str
    reason: str
    raw: str


PUSH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines"}},
        },
    }
}


def _token(request: HttpRequest) -> DepartmentToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, DepartmentToken)
    return token


def _batch_out(batch: Batch) -> BatchOut:
    return BatchOut(
        batch_id=batch.pk,
        source=batch.source,
        file_name=batch.file_name,
        file_format=batch.file_format,
        encoding=batch.encoding,
        status=batch.status,
        duplicate_of=batch.duplicate_of,
        rows_total=batch.rows_total,
        accepted=batch.accepted,
        rejected=batch.rejected,
        message=batch.message,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
    )


def _size(limit: int) -> str:
    return f"{limit / (1 << 20):.0f} MB" if limit >= 1 << 20 else f"{limit} 字节"


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"推送的数据超过 {_size(limit)} 的上限，请拆分成多个文件分批推送")


@contextmanager
def _spooled(chunks: Iterable[bytes], suffix: str, limit: int) -> Iterator[Path]:
    """The body written to a temporary file, counting as it goes; removed when the block ends."""
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed in finally
        prefix=storage.spool_prefix(), suffix=suffix, dir=storage.spool_dir(), delete=False
    )
    path = Path(tmp.name)
    try:
        size = 0
        with tmp:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                tmp.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


def _read(stream: IO[bytes] | HttpRequest) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _raw_body(request: HttpRequest) -> IO[bytes] | HttpRequest:
    """The request body as a stream. A chunked body has no Content-Length, and Django then reads it as
    empty: when the server says the input ends by itself (wsgi.input_terminated), read that directly."""
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        stream: IO[bytes] = request.META["wsgi.input"]
        return stream
    return request


@router.post(
    "/{source}/batches",
    response=answers(
        {200: PushOut, 201: PushOut, 202: PushOut, 422: PushOut | ErrorOut, 500: PushOut},
        400, 403, 404, 411, 413, 415,
    ),
    openapi_extra=PUSH_BODY,
)
def push(request: HttpRequest, source: str, file_name: str = "") -> Status[PushOut]:
    """Push one feed file: multipart with a `file` field (CSV, XLSX or JSON Lines), or a JSON Lines body
    (Content-Type application/x-ndjson, optional `?file_name=`). Answered **202** as soon as the file is
    received, with the batch id; the worker lands it and `GET /api/lake/batches/{id}` tells how it went.
    With `Prefer: wait=N` the answer waits up to N seconds (at most 600) for the final one: 201 when a new
    batch landed, 200 when the same content had landed before (its batch id), 422 when the whole file was
    rejected; rejected rows are in the batch's quarantine."""
    if source not in FEEDS:
        raise HttpError(404, f"未知的数据来源 {source}，应为 {'、'.join(FEEDS)} 之一")
    token = _token(request)
    if source not in token.sources:
        # services.push decides too; asking first spares streaming a body only to refuse it.
        raise HttpError(403, f"令牌无权推送 {source}")
    limit: int = settings.SAFETYNET_MAX_PUSH_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    try:
        declared = int(length) if length else None
    except ValueError:
        raise HttpError(400, "Content-Length 无效") from None
    if declared is not None and declared > limit:
        raise _too_large(limit)

    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        if declared is None:
            raise HttpError(411, "multipart 上传需要 Content-Length 请求头")
        # Straight to disk, however small: a push is never held in memory.
        request.upload_handlers = [TemporaryFileUploadHandler(request)]
        try:
            upload = request.FILES.get("file")
        except MultiPartParserError:
            raise HttpError(400, "multipart 请求格式有误") from None
        if upload is None:
            raise HttpError(400, "请在 file 字段中上传文件")
        name = "".join(ch for ch in Path(upload.name or f"{source}.csv").name if ch.isprintable())[:255]
        suffix = Path(name).suffix.lower()
        suffix = suffix if suffix in SUFFIXES else ""
        chunks: Iterable[bytes] = upload.chunks(CHUNK_BYTES)
    elif content_type in JSONL_TYPES:
        name = "".join(ch for ch in Path(file_name).name if ch.isprintable())[:255] or f"{source}.jsonl"
        chunks, suffix = _read(_raw_body(request)), ".jsonl"
    else:
        raise HttpError(
            415, "请以 multipart/form-data 在 file 字段上传文件，或以 application/x-ndjson 发送 JSON Lines"
        )

    with _spooled(chunks, suffix, limit) as path:
        try:
            batch = services.accept_push(token, source, path, name)
        except PermissionDenied as exc:
            raise HttpError(403, str(exc)) from None
    batch = _waited(batch, prefer_wait(request))
    if batch.status == Batch.Status.DUPLICATE:
        code, message = 200, batch.message
    elif batch.status == Batch.Status.DONE:
        code, message = 201, f"已入湖 {batch.accepted} 行，{batch.rejected} 行未通过校验，已放入隔离区"
    elif batch.status == Batch.Status.REJECTED:
        code, message = 422, batch.message
    elif batch.status == Batch.Status.FAILED:
        code, message = 500, batch.message or "入湖失败"
    else:
        code, message = 202, f"已受理，正在入湖：用 GET /api/lake/batches/{batch.pk} 查询结果"
    duplicate = batch.status == Batch.Status.DUPLICATE and batch.duplicate_of is not None
    return Status(
        code,
        PushOut(
            batch_id=batch.duplicate_of if duplicate else batch.pk,  # type: ignore[arg-type]
            status=Batch.Status.DONE if duplicate else batch.status,
            accepted=batch.accepted,
            rejected=batch.rejected,
            already_ingested=duplicate,
            message=message,
        ),
    )


def _waited(batch: Batch, seconds: float) -> Batch:
    deadline = time.monotonic() + seconds
    waiting = (Batch.Status.QUEUED, Batch.Status.RUNNING)
    while batch.status in waiting and time.monotonic() < deadline:
        time.sleep(0.2)
        batch.refresh_from_db()
    return batch


@router.get("/{source}/batches", response=answers(list[BatchOut], 404, 422))
def list_batches(request: HttpRequest, source: str) -> list[BatchOut]:
    """The latest 100 batches of this source your department pushed, newest first."""
    if source not in FEEDS:
        raise HttpError(404, f"未知的数据来源 {source}")
    return [_batch_out(b) for b in services.department_batches(_token(request), source)]


@router.get("/batches/{batch_id}", response=answers(BatchOut, 404, 422))
def batch_status(request: HttpRequest, batch_id: Id) -> BatchOut:
    """A batch your department pushed: its status and counts."""
    found = services.department_batch(_token(request), batch_id)
    if found is None:
        raise HttpError(404, "没有这一批次，或它不是本部门推送的")
    return _batch_out(found)


@router.get("/batches/{batch_id}/quarantine", response=answers(list[QuarantineOut], 404, 422))
def batch_quarantine(request: HttpRequest, batch_id: Id) -> list[services.QuarantineRow]:
    """The first 1,000 rejected rows of a batch your department pushed, each with line, column and
    reason. Raw values are as your department sent them."""
    rows = services.department_quarantine(_token(request), batch_id, request.META.get("REMOTE_ADDR"))
    if rows is None:
        raise HttpError(404, "没有这一批次，或它不是本部门推送的")
    return rows
