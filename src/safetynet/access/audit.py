"""The audit trail made tamper-evident: seals chain keyed hashes over its entries, and `verify` finds any
entry edited, deleted, added or reordered inside a sealed run.

Entries are sealed in id order once they are a few minutes old (a transaction still open may yet commit an
entry with a lower id), by `safetynet audit seal` (run daily), at server start and when an auditor opens
the trail. The key lives in the data folder's keys (`audit_seal_key`), apart from the database, so whoever
can edit the database cannot re-seal what they changed without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

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
