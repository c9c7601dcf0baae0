"""The audit trail made tamper-evident: seals chain keyed hashes over its entries, and `verify` finds any
entry edited, deleted, added or reordered inside a sealed run.

Entries are sealed in id order once they are a few minutes old (a transaction still open may yet commit an
entry with a lower id), by `safetynet audit seal` (run daily), at server start and when an auditor opens
the trail. The key lives in the data folder's keys (`audit_seal_key`), apart from the database, so whoever
can edit the database cannot re-seal what they changed without it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from safetynet import conf
from safetynet.access.models import AuditEntry, AuditSeal

SETTLE = dt.timedelta(minutes=5)  # an entry younger than this may still have an older neighbour to come
BATCH = 50_000
FIELDS = (
    "id", "at", "username", "role", "action", "object_type", "object_id", "region_code", "purpose", "detail",
    "ip_address", "subject", "user_id",
)  # fmt: skip


def _key() -> bytes:
    return conf.secret("audit_seal_key").encode()


def _canonical(row: tuple[object, ...]) -> bytes:
    values = [v.isoformat() if isinstance(v, dt.datetime) else "" if v is None else str(v) for v in row]
    return "\x1f".join(values).encode() + b"\x1e"


def _digest(previous: str, rows: list[tuple[object, ...]]) -> str:
    mac = hmac.new(_key(), previous.encode(), hashlib.sha256)
    for row in rows:
        mac.update(_canonical(row))
    return mac.hexdigest()


def seal(now: dt.datetime | None = None) -> AuditSeal | None:
    """Seal the entries settled since the last seal; None when there is nothing to seal (or another
    process sealed the same run at the same moment)."""
    cutoff = (now or timezone.now()) - SETTLE
    last = AuditSeal.objects.order_by("-last_id").first()
    after = last.last_id if last else 0
    rows = []
    for row in AuditEntry.objects.filter(id__gt=after).order_by("id").values_list(*FIELDS)[:BATCH]:
        if row[1] >= cutoff:  # type: ignore[operator]
            break  # the run stops at the first entry not yet settled, so no later one is sealed past it
        rows.append(row)
    if not rows:
        return None
    try:
        with transaction.atomic():
            return AuditSeal.objects.create(
                after_id=after,
                last_id=int(rows[-1][0]),  # type: ignore[call-overload]
                entries=len(rows),
                digest=_digest(last.digest if last else "", rows),
            )
    except IntegrityError:
        return None


@dataclass(frozen=True)
class Broken:
    after_id: int
    last_id: int
    reason: str


def verify() -> list[Broken]:
    """Every sealed run whose entries no longer hash to its seal, or whose seal does not follow the one
    before it. Empty: the trail is as it was sealed."""
    broken: list[Broken] = []
    previous_digest, previous_last = "", 0
    for s in AuditSeal.objects.order_by("last_id"):
        if s.after_id != previous_last:
            broken.append(Broken(s.after_id, s.last_id, "封存记录不连续（有封存被删除）"))
        rows = list(
            AuditEntry.objects.filter(id__gt=s.after_id, id__lte=s.last_id)
            .order_by("id")
            .values_list(*FIELDS)
        )
        if len(rows) != s.entries:
            broken.append(
                Broken(s.after_id, s.last_id, f"条数不符：封存时 {s.entries} 条，现有 {len(rows)} 条")
            )
        elif _digest(previous_digest, rows) != s.digest:
            broken.append(Broken(s.after_id, s.last_id, "内容或顺序被改动"))
        previous_digest, previous_last = s.digest, s.last_id
    return broken


# -- archives: sealed runs copied out of the database, never removed from it --------------------------------


def _plain(row: tuple[object, ...]) -> list[str]:
    """A row as the text the seal hashes (`_canonical`), so an archived copy can be verified on its own."""
    return [v.isoformat() if isinstance(v, dt.datetime) else "" if v is None else str(v) for v in row]


def archive(directory: Path) -> int:
    """Copy every sealed run not yet in `directory` there: one gzip'd JSON Lines file per run and a line
    in `manifest.jsonl` with its seal (and the seal before it, so a copy verifies without the database).
    The database keeps every entry (the trail is append-only); the archive is the copy a bureau keeps
    apart, e.g. on write-once media. Files are readable by their owner only. Returns runs written."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest = directory / "manifest.jsonl"
    archived = (
        {json.loads(line)["last_id"] for line in manifest.open(encoding="utf-8")}
        if manifest.exists()
        else set()
    )
    written, previous = 0, ""
    for run in AuditSeal.objects.order_by("last_id"):
        if run.last_id not in archived:
            rows = AuditEntry.objects.filter(id__gt=run.after_id, id__lte=run.last_id).order_by("id")
            name = f"audit-{run.after_id + 1:012d}-{run.last_id:012d}.jsonl.gz"
            staged = directory / f".{name}.part"
            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8") as out:
                for row in rows.values_list(*FIELDS).iterator(chunk_size=BATCH):
                    out.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")
            staged.replace(directory / name)
            line = {
                "file": name, "after_id": run.after_id, "last_id": run.last_id, "entries": run.entries,
                "digest": run.digest, "previous_digest": previous,
                "sha256": hashlib.sha256((directory / name).read_bytes()).hexdigest(),
            }  # fmt: skip
            fd = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            written += 1
        previous = run.digest
    return written


def verify_archive(directory: Path) -> list[Broken]:
    """Every archived run whose file is missing, changed or out of its chain, checked with the seal key
    alone (no database needed: an archive outlives the server it came from)."""
    broken: list[Broken] = []
    manifest = directory / "manifest.jsonl"
    if not manifest.exists():
        return [Broken(0, 0, "没有归档清单 manifest.jsonl")]
    runs = sorted((json.loads(line) for line in manifest.open(encoding="utf-8")), key=lambda r: r["last_id"])
    previous: dict[str, object] | None = None
    for run in runs:
        where = (run["after_id"], run["last_id"])
        if previous is not None and (
            run["after_id"] != previous["last_id"] or run["previous_digest"] != previous["digest"]
        ):
            broken.append(Broken(*where, "归档不连续（缺少或替换了一段）"))
        path = directory / run["file"]
        if not path.exists():
            broken.append(Broken(*where, f"归档文件 {run['file']} 不存在"))
        else:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                rows = [tuple(json.loads(line)) for line in f]
            if len(rows) != run["entries"]:
                broken.append(Broken(*where, f"条数不符：封存时 {run['entries']} 条，归档中 {len(rows)} 条"))
            elif _digest(run["previous_digest"], rows) != run["digest"]:
                broken.append(Broken(*where, "归档内容或顺序被改动"))
        previous = run
    return broken


# -- append-only in the database itself -------------------------------------------------------------------

TABLES = ("access_auditentry", "access_auditseal")
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION safetynet_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def install_triggers(connection) -> None:  # type: ignore[no-untyped-def]
    """Triggers that refuse UPDATE and DELETE on the trail's tables (TRUNCATE, an owner's act, stays)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            for table in TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
                cursor.execute(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION safetynet_audit_append_only()"
                )
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for op in ("UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {op} refused'); END"
                    )


def remove_triggers(connection) -> None:  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        for table in TABLES:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            elif connection.vendor == "sqlite":
                for op in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
