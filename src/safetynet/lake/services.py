"""Lake use cases: ingest a feed, list batches, read quarantine, feed freshness, department tokens,
and the registry snapshot the screening engine reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone

from safetynet.access.masking import mask_id_number, mask_phone
from safetynet.access.models import User
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, record, record_as
from safetynet.jobs import services as jobs
from safetynet.lake import pseudonyms, storage
from safetynet.lake.ingest import FeedIngest, IngestResult
from safetynet.lake.models import Batch, DepartmentToken, RegistrySnapshot
from safetynet.lake.readers import Scan
from safetynet.lake.sources import FEEDS, feed
from safetynet.tabular import FileRejected

QUARANTINE_PAGE = 500


def ingest(
    source: str,
    path: Path,
    mapping: Path | None = None,
    submitted_by: str = "",
    department: str = "",
    file_name: str = "",
    scanned: Future[Scan] | None = None,
) -> IngestResult:
    """Validate a feed file and land it in the lake (a no-op for content already landed). `scanned` is
    `readers.scan_ahead(path)` when the caller started reading the file's bytes early."""
    return FeedIngest(
        source,
        path,
        mapping,
        submitted_by=submitted_by,
        department=department,
        file_name=file_name,
        scanned=scanned,
    ).run()


# -- who may see what -------------------------------------------------------------------------------


def require_data_admin(actor: Actor) -> None:
    """Batches and quarantine hold departments' raw rows: roles that administer feeds (county level)."""
    require(actor, Cap.READ_BATCHES)


def batches(actor: Actor, source: str = "", limit: int = 200) -> list[Batch]:
    require_data_admin(actor)
    query = Batch.objects.all()
    if source:
        query = query.filter(source=source)
    return list(query[:limit])


def get_batch(actor: Actor, batch_id: int) -> Batch | None:
    require_data_admin(actor)
    return Batch.objects.filter(pk=batch_id).first()


@dataclass(frozen=True)
class QuarantineRow:
    line: int | None
    column: str
    reason: str
    raw: str


def read_quarantine(batch: Batch, limit: int | None = QUARANTINE_PAGE) -> list[QuarantineRow]:
    """A batch's rejected rows, in file order (raw values unmasked: callers mask for their reader)."""
    fs, root = storage.filesystem()
    path = f"{storage.batch_dir(root, batch.source, batch.pk, quarantine=True)}/part-0.parquet"
    if not fs.exists(path):
        return []
    table = pq.read_table(path, filesystem=fs)
    if limit is not None:
        table = table.slice(0, limit)
    return [
        QuarantineRow(
            r["line"],
            r["column"],
            pseudonyms.open_text(r["reason"]) or "",
            pseudonyms.open_text(r["raw"]) or "",
        )
        for r in table.to_pylist()
    ]


def landed(source: str, batch_id: int) -> pa.Table:
    """A batch's accepted rows as landed, their ID numbers and phones back from the lake's pseudonyms."""
    fs, root = storage.filesystem()
    return pseudonyms.revealed(pq.read_table(storage.batch_dir(root, source, batch_id), filesystem=fs))


def quarantine_for(
    actor: Actor, batch_id: int, limit: int | None = QUARANTINE_PAGE
) -> tuple[Batch, list[QuarantineRow]]:
    """A data admin reads a batch's quarantine; the read is audited, identifiers masked by role."""
    batch = get_batch(actor, batch_id)
    if batch is None:
        raise Batch.DoesNotExist
    rows = read_quarantine(batch, limit)
    record(
        actor,
        "read",
        "quarantine",
        str(batch.pk),
        region_code=actor.user.region_id or "",
        detail=f"source={batch.source} rows={len(rows)}",
    )
    if Cap.FULL_IDENTIFIERS not in actor.user.caps:
        rows = [QuarantineRow(r.line, r.column, mask_text(r.reason), mask_raw(r.raw)) for r in rows]
    return batch, rows


ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")
PHONE_IN_TEXT = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask ID numbers and mobile numbers inside free text, such as a reason that quotes the value."""
    return PHONE_IN_TEXT.sub(r"\1****\2", ID_IN_TEXT.sub(r"\1********\2", text))


def mask_raw(raw: str) -> str:
    import json

    try:
        values = json.loads(raw)
    except ValueError:
        return "（已隐藏）"
    if not isinstance(values, dict):
        return "（已隐藏）"
    for key, value in values.items():
        if isinstance(value, str) and ("id_number" in key):
            values[key] = mask_id_number(value)
        elif isinstance(value, str) and "phone" in key:
            values[key] = mask_phone(value)
    return json.dumps(values, ensure_ascii=False)


# -- freshness --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    source: str
    department: str
    last_batch: Batch | None
    age_days: int | None
    late_after_days: int | None

    @property
    def late(self) -> bool:
        if self.late_after_days is None:
            return False
        return self.age_days is None or self.age_days > self.late_after_days


def freshness(actor: Actor, now: dt.datetime | None = None) -> list[Freshness]:
    """Last landed batch per source and its age; a source past its expected interval is late."""
    require_data_admin(actor)
    return feed_freshness(now)


def feed_freshness(now: dt.datetime | None = None) -> list[Freshness]:
    now = now or timezone.now()
    result = []
    for spec in FEEDS.values():
        last = (
            Batch.objects.filter(source=spec.source, status=Batch.Status.DONE)
            .order_by("-finished_at")
            .first()
        )
        age = (now - last.finished_at).days if last and last.finished_at else None
        result.append(Freshness(spec.source, spec.department, last, age, spec.late_after_days))
    return result


# -- department tokens ------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_DAYS = 365  # a token lasts a year unless issued for less: a lost one does not work for ever


def create_token(
    department: str, sources: list[str], created_by: User | None = None, days: int = TOKEN_DAYS
) -> str:
    """Issue a token for a department's own sources; returns it once, stores only its hash."""
    if not 1 <= days <= 3 * 365:
        raise ValueError("令牌有效期应为 1 到 1095 天")
    for source in sources:
        feed(source)
    if not sources:
        raise ValueError("a token needs at least one source")
    prefix = secrets.token_hex(4)
    token = f"sn_{prefix}_{secrets.token_urlsafe(32)}"
    DepartmentToken.objects.create(
        department=department[:100],
        sources=sorted(set(sources)),
        prefix=prefix,
        token_hash=_hash(token),
        created_by=created_by,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    return token


def tokens(actor: Actor | None = None) -> list[DepartmentToken]:
    """Every token, newest first (for the county administrator's page, or the operator's command)."""
    if actor is not None:
        require(actor, Cap.MANAGE_TOKENS)
    return list(DepartmentToken.objects.order_by("-created_at"))


def revoke_token(prefix: str, actor: Actor | None = None) -> DepartmentToken:
    """A token stops working at once (a department's lost laptop, a liaison who left)."""
    if actor is not None:
        require(actor, Cap.MANAGE_TOKENS)
    found = DepartmentToken.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if found is None:
        raise ValueError(f"没有在用的令牌 {prefix[:12]}")
    found.revoked_at = timezone.now()
    found.save(update_fields=["revoked_at"])
    if actor is not None:
        record(actor, "revoke_token", "department_token", prefix, actor.user.region_id or "", found.department)
    else:
        record_as("cli", "system", "revoke_token", "department_token", prefix, detail=found.department)
    return found


def issue_token(actor: Actor, department: str, sources: list[str]) -> str:
    """A county administrator issues a department's push token on the lake page (shown once)."""
    require(actor, Cap.MANAGE_TOKENS)
    department = "".join(ch for ch in str(department) if ch.isprintable()).strip()
    if not department:
        raise ValueError("请填写部门名称")
    token = create_token(department, sources, created_by=actor.user)
    record(
        actor,
        "issue_token",
        "department_token",
        token.split("_")[1],
        actor.user.region_id or "",
        f"{department[:60]} {','.join(sorted(sources))}",
    )
    return token


def authenticate_token(token: str) -> DepartmentToken | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "sn":
        return None
    found = DepartmentToken.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if found is None or not hmac.compare_digest(found.token_hash, _hash(token)):
        return None
    if found.expires_at is not None and found.expires_at < timezone.now():
        record_as(f"token:{found.prefix}", "department", "denied", "department_token", found.prefix, "expired")
        return None
    DepartmentToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found


def accept_push(token: DepartmentToken, source: str, path: Path, file_name: str) -> Batch:
    """A department's push, accepted at once: its own batch, queued, and a job that lands it. The file
    moves from the request's spool to the inbox, where it waits for the worker."""
    if source not in token.sources:
        record_as(
            f"token:{token.prefix}", "department", "denied", "push", source, detail=token.department[:100]
        )
        raise PermissionDenied(f"令牌无权推送 {source}")
    batch = Batch.objects.create(
        source=source,
        file_name=file_name[:255],
        file_format=Path(file_name).suffix.lstrip(".").lower()[:8],
        content_hash=f"queued:{uuid.uuid4().hex}",  # the real hash is taken when the worker reads the file
        status=Batch.Status.QUEUED,
        submitted_by=f"token:{token.prefix}",
        department=token.department[:100],
    )
    waiting = storage.inbox_dir() / f"{batch.pk}{path.suffix}"
    try:
        os.replace(path, waiting)
        jobs.submit("lake.ingest_push", {"batch_id": batch.pk, "file": waiting.name}, started_by=batch.submitted_by)
    except BaseException:
        waiting.unlink(missing_ok=True)
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.QUEUED).update(
            status=Batch.Status.FAILED, message="受理失败，请重新推送", finished_at=timezone.now()
        )
        raise
    record_as(
        f"token:{token.prefix}",
        "department",
        "push",
        "batch",
        str(batch.pk),
        detail=f"{token.department[:60]} {source} accepted",
    )
    batch.refresh_from_db()
    return batch


def land_push(batch_id: int, file: str) -> Batch:
    """The worker lands an accepted push under its batch id (the job `lake.ingest_push`). Idempotent: a
    batch already finished is left as it is; one whose earlier attempt died is cleaned and landed again."""
    batch = Batch.objects.get(pk=batch_id)
    path = storage.inbox_dir() / Path(file).name
    finished = (Batch.Status.DONE, Batch.Status.REJECTED, Batch.Status.DUPLICATE)
    if batch.status not in finished:
        try:
            FeedIngest(
                batch.source,
                path,
                submitted_by=batch.submitted_by,
                department=batch.department,
                file_name=batch.file_name,
                batch_id=batch.pk,
            ).run()
        except FileRejected as exc:  # unreadable before a batch could be claimed (e.g. no such file)
            Batch.objects.filter(pk=batch.pk).exclude(status__in=finished).update(
                status=Batch.Status.REJECTED, message=exc.reason[:500], finished_at=timezone.now()
            )
        batch.refresh_from_db()
    path.unlink(missing_ok=True)
    record_as(
        batch.submitted_by,
        "department",
        "land",
        "batch",
        str(batch.pk),
        detail=f"{batch.source} {batch.status} accepted={batch.accepted} rejected={batch.rejected}",
    )
    return batch


def _pushed_by(token: DepartmentToken) -> models.QuerySet[Batch]:
    """A token reads back only batches of its own sources that its department pushed: one limited to
    pensions does not read medical claims, whatever department label both carry."""
    return Batch.objects.filter(
        department=token.department, source__in=token.sources, submitted_by__startswith="token:"
    )


def department_batch(token: DepartmentToken, batch_id: int) -> Batch | None:
    return _pushed_by(token).filter(pk=batch_id).first()


def department_batches(token: DepartmentToken, source: str, limit: int = 100) -> list[Batch]:
    return list(_pushed_by(token).filter(source=source)[:limit])


def department_quarantine(
    token: DepartmentToken, batch_id: int, ip_address: str | None = None
) -> list[QuarantineRow] | None:
    """A department reads back the rows it sent that were rejected; the read is audited like any other."""
    batch = department_batch(token, batch_id)
    if batch is None:
        return None
    rows = read_quarantine(batch, limit=1000)
    record_as(
        f"token:{token.prefix}",
        "liaison",
        "read",
        "quarantine",
        str(batch.pk),
        detail=f"department={token.department} rows={len(rows)}",
        ip_address=ip_address,
    )
    return rows


# -- registry snapshot ------------------------------------------------------------------------------


def _arrow_column(values: list, arrow_type: pa.DataType, name: str = "") -> pa.Array:  # type: ignore[type-arg]
    """One column of database values as `arrow_type`; SQLite hands back decimals as int or float."""
    if pa.types.is_decimal(arrow_type):
        values = [None if v is None else Decimal(str(v)) for v in values]
    if name in pseudonyms.CLEAR_TO_PSEUDONYM:  # ID numbers and phones reach the lake as its pseudonyms
        return pseudonyms.CLEAR_TO_PSEUDONYM[name](pa.array(values, pa.string()))
    return pa.array(values, arrow_type)


SnapshotTables = dict[str, tuple[str, list[tuple[str, pa.DataType]]]]


def snapshot_registry(tables: SnapshotTables, version_sql: str = "") -> RegistrySnapshot:
    """Write registry tables to the lake as Parquet, all read in one transaction so they agree.

    `tables` maps a lake name to (database table, [(column, Arrow type)]): the registry app supplies it,
    so the lake never needs the registry's models, and the Parquet types never depend on the data.
    `version_sql` reads the registry's change counter in the same transaction (see `fresh_snapshot`).
    """
    fs, root = storage.filesystem()
    snapshot = RegistrySnapshot.objects.create(path="")
    base = f"{root}/registry/snapshot={snapshot.pk}"
    staging = f"{root}/registry/_staging/snapshot={snapshot.pk}"
    fs.makedirs(staging, exist_ok=True)
    counts: dict[str, int] = {}
    # One snapshot for all tables: REPEATABLE READ on PostgreSQL (only possible as the transaction's first
    # statement, so not inside a caller's transaction); SQLite's read transaction already is one.
    fresh = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and fresh:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if version_sql:
            cursor.execute(version_sql)
            snapshot.source_version = cursor.fetchone()[0]
        for name, (table, columns) in tables.items():
            schema = pa.schema(columns)
            cursor.execute(f"SELECT {', '.join(schema.names)} FROM {table}")  # noqa: S608 - names from code
            counts[name] = 0
            with fs.open(f"{staging}/{name}.parquet", "wb") as f, pq.ParquetWriter(f, schema) as writer:
                while rows := cursor.fetchmany(100_000):
                    chunk = [
                        _arrow_column([r[i] for r in rows], t, n)
                        for i, (n, t) in enumerate(zip(schema.names, schema.types, strict=True))
                    ]
                    writer.write_table(pa.Table.from_arrays(chunk, schema=schema))
                    counts[name] += len(rows)
    fs.makedirs(f"{root}/registry", exist_ok=True)
    fs.mv(staging, base, recursive=True)
    snapshot.path = base
    snapshot.rows = counts
    snapshot.save()
    return snapshot


def has_snapshot() -> bool:
    return RegistrySnapshot.objects.exclude(path="").exists()


def fresh_snapshot(tables: SnapshotTables, version_sql: str) -> RegistrySnapshot:
    """The newest snapshot if it shows the registry as it is now, else a new one: a run never reads a
    registry older than its last change (a dibao approved this morning counts tonight)."""
    newest = RegistrySnapshot.objects.exclude(path="").order_by("-id").first()
    with connection.cursor() as cursor:
        cursor.execute(version_sql)
        version = cursor.fetchone()[0]
    if newest is not None and newest.source_version == version and _pseudonymised(newest):
        return newest
    return snapshot_registry(tables, version_sql)


def _pseudonymised(snapshot: RegistrySnapshot) -> bool:
    """False for a snapshot written before the lake held pseudonyms (its ID numbers in clear): the feeds'
    pseudonyms would never meet them, so a run takes a new one."""
    fs, _ = storage.filesystem()
    path = f"{snapshot.path}/persons.parquet"
    if not fs.exists(path):
        return True
    with fs.open(path, "rb") as f:
        reader = pq.ParquetFile(f)
        if reader.metadata.num_rows == 0:
            return True
        first = reader.read_row_group(0, columns=["id_number"]).column(0)
        value = next((v for v in first.to_pylist() if v), None)
    return value is None or not (len(value) == 18 and value[:17].isdigit())


@dataclass(frozen=True)
class LakeInputs:
    """What a screening run reads: the newest registry snapshot and every landed batch of each feed."""

    snapshot_id: int
    registry: dict[str, str]  # registry table -> Parquet path
    feeds: dict[str, list[tuple[int, str]]]  # source -> [(batch id, batch folder)]
    base: dict[str, str]  # source -> the folder holding its batch=<id> folders
    protocol: str  # fsspec protocol of the lake ("file" for a local folder)

    @property
    def batch_ids(self) -> dict[str, list[int]]:
        return {source: [b for b, _ in batches] for source, batches in self.feeds.items()}


def current_inputs() -> LakeInputs:
    """The lake as a screening run sees it now; raises LookupError before the first registry snapshot."""
    snapshot = RegistrySnapshot.objects.exclude(path="").order_by("-id").first()
    if snapshot is None:
        raise LookupError("no registry snapshot: run `safetynet lake snapshot` first")
    fs, root = storage.filesystem()
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    feeds: dict[str, list[tuple[int, str]]] = {source: [] for source in FEEDS}
    done = Batch.objects.filter(status=Batch.Status.DONE, accepted__gt=0).order_by("id")
    for batch_id, source in done.values_list("id", "source"):
        if source in feeds:
            feeds[source].append((batch_id, storage.batch_dir(root, source, batch_id)))
    return LakeInputs(
        snapshot_id=snapshot.pk,
        registry={name: f"{snapshot.path}/{name}.parquet" for name in snapshot.rows},
        feeds=feeds,
        base={source: f"{root}/{source}" for source in FEEDS},
        protocol=protocol,
    )
