"""`safetynet ingest SOURCE FILE`: validate a departmental feed column-wise and land it in the lake.

Rows stream through in Arrow batches. Each batch is checked in one DuckDB query (every column check of
`safetynet.validation` at once, plus duplicate keys against this file and earlier batches); good rows
are typed and appended to the batch's Parquet file, bad rows go to its quarantine file with line, column
and reason. Memory stays bounded by the batch size whatever the file size. The batch becomes visible
only when complete: staged files are moved into place and the batch row marked done in one step.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from safetynet import validation
from safetynet.lake import readers, storage
from safetynet.lake.mapping import Mapping, load_mapping
from safetynet.lake.models import Batch
from safetynet.lake.sources import FeedSpec, feed
from safetynet.tabular import FileRejected

DUCKDB_MEMORY = "1GB"
QUARANTINE_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("record", pa.int64()),
        ("column", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass
class IngestResult:
    batch_id: int
    accepted: int = 0
    rejected: int = 0
    already_ingested: bool = False
    whole_file_rejected: bool = False
    message: str = ""

    @property
    def summary_line(self) -> str:
        tail = " already ingested" if self.already_ingested else ""
        return f"accepted={self.accepted} rejected={self.rejected} batch={self.batch_id}{tail}"


def prefetch(items: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Produce the next batches in a thread while this one is checked: parsing, recoding and ID facts
    (Arrow and numpy, which release the GIL) overlap with DuckDB's work on the current batch."""
    done = object()
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                thread.join(0.05)


def duckdb_path(db: duckdb.DuckDBPyConnection, fs, path: str) -> str:  # type: ignore[no-untyped-def]
    """A path DuckDB can write to: as is on a local folder, else through the lake's fsspec file system."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        return path
    db.register_filesystem(fs)
    return f"{protocol}://{path}"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's ingest: only its own host can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(source: str) -> list[int]:
    """Clean up batches of `source` whose ingest died mid-way: remove their files, mark them failed."""
    fs, root = storage.filesystem()
    recovered = []
    for batch in Batch.objects.filter(source=source, status=Batch.Status.RUNNING):
        if _alive(batch.worker) and batch.worker != worker_id():
            continue
        storage.remove_batch_files(fs, root, source, batch.pk)
        batch.status = Batch.Status.FAILED
        batch.message = "导入中断，已清理其写入的文件"
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "message", "finished_at"])
        recovered.append(batch.pk)
    return recovered


def ident(name: str) -> str:
    """A SQL identifier for a column name, which may come from a file's header: quoted, never trusted."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def key_expr(key: tuple[str, ...]) -> str:
    """One string per key; ID numbers compared upper-cased, empty and NULL alike."""
    parts = [
        f"upper(COALESCE({ident(k)}, ''))" if k == "id_number" else f"COALESCE({ident(k)}, '')" for k in key
    ]
    return " || '|' || ".join(parts)


def _typed(col: validation.Column) -> str:
    c = ident(col.name)
    empty = f"NULLIF({c}, '')"
    return {
        "id_number": f"upper({empty})",
        "date": f"try_strptime({empty}, '%Y-%m-%d')::DATE",
        "timestamp": f"try_cast({empty} AS TIMESTAMPTZ)",
        "money": f"try_cast({empty} AS DECIMAL(14, 2))",
        "int": f"try_cast({empty} AS INTEGER)",
        "bool": f"CASE WHEN {c} = '' THEN NULL ELSE lower({c}) IN ({validation.sql_list(validation.TRUE_VALUES)}) END",
    }.get(col.kind, empty) + f" AS {c}"


class FeedIngest:
    def __init__(
        self,
        source: str,
        path: Path,
        mapping_path: Path | None = None,
        submitted_by: str = "",
        department: str = "",
        file_name: str = "",
    ):
        self.spec: FeedSpec = feed(source)
        self.path = path
        self.mapping_path = mapping_path
        self.submitted_by = submitted_by
        self.department = department
        self.file_name = (file_name or path.name)[:255]
        self.today = timezone.localdate()

    def run(self) -> IngestResult:
        spec = self.spec
        mapping = load_mapping(self.mapping_path)
        if not self.path.is_file():
            raise FileRejected(self.file_name, "文件不存在")
        sha256, utf8, blank = readers.scan(self.path)
        content_hash = hashlib.sha256(f"{spec.source}:{sha256}:{mapping.digest}".encode()).hexdigest()
        recover_interrupted(spec.source)
        done = Batch.objects.filter(
            source=spec.source, content_hash=content_hash, status=Batch.Status.DONE
        ).first()
        if done:
            return IngestResult(batch_id=done.pk, already_ingested=True)
        batch = Batch.objects.create(
            source=spec.source,
            file_name=self.file_name,
            file_format=readers.detect_format(self.path),
            content_hash=content_hash,
            mapping=mapping.name,
            submitted_by=self.submitted_by[:150],
            department=self.department[:100],
            worker=worker_id(),
        )
        fs, root = storage.filesystem()
        try:
            try:
                feed_file, batches = self._open(batch, mapping, sha256, utf8, blank)
                accepted, rejected = self._write(batch, feed_file, batches, fs, root)
            except readers.FastPathFailed:
                storage.remove_batch_files(fs, root, spec.source, batch.pk)
                feed_file, _ = self._open(batch, mapping, sha256, utf8, blank)
                accepted, rejected = self._write(batch, feed_file, self._exact(feed_file, mapping), fs, root)
        except FileRejected as exc:
            storage.remove_batch_files(fs, root, spec.source, batch.pk)
            self._finish(batch, Batch.Status.REJECTED, message=exc.reason)
            return IngestResult(batch_id=batch.pk, whole_file_rejected=True, message=exc.reason)
        except BaseException:
            storage.remove_batch_files(fs, root, spec.source, batch.pk)
            self._finish(batch, Batch.Status.FAILED, message="导入失败，已清理其写入的文件")
            raise
        whole = accepted == 0 and rejected > 0
        message = "所有数据行均未通过校验，详见隔离区" if whole else ""
        with transaction.atomic():
            storage.publish(fs, root, spec.source, batch.pk)
            self._finish(
                batch,
                Batch.Status.REJECTED if whole else Batch.Status.DONE,
                accepted=accepted,
                rejected=rejected,
                message=message,
            )
        return IngestResult(
            batch_id=batch.pk,
            accepted=accepted,
            rejected=rejected,
            whole_file_rejected=whole,
            message=message,
        )

    def _finish(
        self, batch: Batch, status: str, accepted: int = 0, rejected: int = 0, message: str = ""
    ) -> None:
        batch.status = status
        batch.accepted = accepted
        batch.rejected = rejected
        batch.rows_total = accepted + rejected
        batch.message = message[:500]
        batch.finished_at = timezone.now()
        batch.save()

    # -- reading ----------------------------------------------------------------------------------

    def _open(
        self, batch: Batch, mapping: Mapping, sha256: str, utf8: bool, blank: bool
    ) -> tuple[readers.FeedFile, Iterator[pa.RecordBatch]]:
        fmt = batch.file_format
        if self.path.stat().st_size == 0:
            raise FileRejected(self.file_name, "文件为空，没有表头")
        if fmt == "xlsx":
            feed_file, header_row = readers.open_xlsx(self.path, self.spec, mapping, sha256)
            rows = readers.read_xlsx(feed_file, mapping, header_row)
        elif fmt == "jsonl":
            feed_file = readers.open_jsonl(self.path, self.spec, mapping, sha256, utf8)
            rows = readers.read_jsonl(feed_file, mapping)
        else:
            feed_file = readers.open_csv(self.path, self.spec, mapping, sha256, utf8, blank)
            rows = readers.read_csv(feed_file, exact=False)
        batch.encoding = feed_file.encoding
        batch.save(update_fields=["encoding"])
        return feed_file, (readers.recode(b, mapping) for b in rows)

    def _exact(self, feed_file: readers.FeedFile, mapping: Mapping) -> Iterator[pa.RecordBatch]:
        return (readers.recode(b, mapping) for b in readers.read_csv(feed_file, exact=True))

    # -- checking and writing ---------------------------------------------------------------------

    def _write(
        self,
        batch: Batch,
        feed_file: readers.FeedFile,
        batches: Iterator[pa.RecordBatch],
        fs,  # type: ignore[no-untyped-def]
        root: str,
    ) -> tuple[int, int]:
        """Check and write every row; returns (accepted, rejected rows).

        Per batch, one query computes the typed values and whether any check fails; only the (rare)
        failing rows get a second query that names each failed check. Keys are collected as rows pass
        and checked for repeats once, at the end, over the whole file and earlier batches.
        """
        spec = self.spec
        spill = tempfile.TemporaryDirectory(prefix="safetynet-ingest-")
        db = duckdb.connect(
            config={"threads": 2, "memory_limit": DUCKDB_MEMORY, "temp_directory": spill.name}
        )
        header = feed_file.header
        extras = [h for h in header if h and h not in spec.names and not h.startswith("_")]
        columns = [*spec.names, *extras]
        checks = self._checks()
        id_columns = [c.name for c in spec.columns if c.kind == "id_number"]
        any_bad = " OR ".join(f"COALESCE({c.condition}, false)" for _, c in checks) or "false"
        typed = ", ".join(
            ["_record"]
            + [_typed(c) for c in spec.columns]
            + [f"NULLIF({ident(e)}, '') AS {ident(e)}" for e in extras]
        )
        key = key_expr(spec.key) if spec.key else "NULL"
        if spec.key:
            db.execute("CREATE TABLE _keys (k VARCHAR, record BIGINT, line BIGINT)")
        raw = f"to_json(map([{', '.join(lit(n) for n in columns)}], [{', '.join(ident(n) for n in columns)}]))::VARCHAR"
        details = (
            f"SELECT {lit(self.file_name)} AS file, _line AS line, _record AS record, e.column AS column, "
            f"e.reason AS reason, raw FROM (SELECT _line, _record, unnest({self._errors_list(checks)}) AS e, "
            f"{raw} AS raw FROM _in WHERE _record IN (SELECT record FROM _failed)) ORDER BY record"
        )
        data_dir = storage.batch_dir(root, spec.source, batch.pk, staging=True)
        quarantine_dir = storage.batch_dir(root, spec.source, batch.pk, staging=True, quarantine=True)
        fs.makedirs(data_dir, exist_ok=True)
        fs.makedirs(quarantine_dir, exist_ok=True)
        target = duckdb_path(db, fs, data_dir)
        names = ", ".join(ident(n) for n in ["_record", *spec.names, *extras])
        accepted = rejected = 0
        with (
            fs.open(f"{quarantine_dir}/part-0.parquet", "wb") as qf,
            pq.ParquetWriter(qf, QUARANTINE_SCHEMA) as qw,
        ):
            ready = (
                validation.with_id_facts(self._complete(b, header), id_columns) for b in batches if b.num_rows
            )
            for part, arrow_batch in enumerate(prefetch(ready)):
                db.register("_in", arrow_batch)
                db.execute(
                    f"CREATE OR REPLACE TEMP TABLE _chk AS "
                    f"SELECT {typed}, _line, {key} AS _key, ({any_bad}) AS _bad FROM _in"
                )
                good, bad = db.execute(
                    "SELECT count(*) FILTER (NOT _bad), count(*) FILTER (_bad) FROM _chk"
                ).fetchall()[0]
                if good:
                    # DuckDB writes the Parquet itself: typed values never round-trip through Python.
                    db.execute(
                        f"COPY (SELECT {names} FROM _chk WHERE NOT _bad) TO {lit(f'{target}/part-{part:05d}.parquet')} "
                        "(FORMAT parquet)"
                    )
                    accepted += good
                    if spec.key:
                        db.execute("INSERT INTO _keys SELECT _key, _record, _line FROM _chk WHERE NOT _bad")
                if bad:
                    db.execute(
                        "CREATE OR REPLACE TEMP TABLE _failed AS SELECT _record AS record FROM _chk WHERE _bad"
                    )
                    failed = db.sql(details).to_arrow_table()
                    qw.write_table(failed.cast(QUARANTINE_SCHEMA))
                    rejected += bad
                db.unregister("_in")
            if spec.key and accepted:
                repeated = self._repeated_keys(db, fs, root)
                if repeated.num_rows:
                    accepted -= self._move_to_quarantine(fs, data_dir, repeated, qw)
                    rejected += repeated.num_rows
            for error in feed_file.errors:
                row = {
                    "file": [self.file_name],
                    "line": [error.line],
                    "record": [None],
                    "column": [""],
                    "reason": [error.reason],
                    "raw": [error.raw],
                }
                qw.write_table(pa.table(row, schema=QUARANTINE_SCHEMA))
        db.close()
        spill.cleanup()
        return accepted, rejected + len(feed_file.errors)

    def _repeated_keys(self, db: duckdb.DuckDBPyConnection, fs, root: str) -> pa.Table:  # type: ignore[no-untyped-def]
        """(record, line, reason) of every accepted row whose key came earlier in this file or an earlier batch."""
        db.execute("CREATE TABLE _seen (k VARCHAR, batch BIGINT)")
        self._load_existing_keys(db, fs, root)
        label = "、".join(self.spec.key)
        return db.sql(
            f"WITH repeated AS (SELECT k FROM _keys GROUP BY k HAVING count(*) > 1), "
            f"firsts AS (SELECT k, min(record) AS record, min(line) AS line FROM _keys WHERE k IN (SELECT k FROM repeated) GROUP BY k) "
            f"SELECT x.record, x.line, '{label} 重复（首次出现在第 ' || f.line || ' 行）' AS reason "
            f"FROM _keys x JOIN firsts f ON f.k = x.k WHERE x.record <> f.record "
            f"UNION ALL "
            f"SELECT x.record, x.line, '{label} 重复（已在批次 ' || min(s.batch) || ' 中）' AS reason "
            f"FROM _keys x JOIN _seen s ON s.k = x.k GROUP BY x.record, x.line "
            f"ORDER BY record"
        ).to_arrow_table()

    def _move_to_quarantine(self, fs, data_dir: str, repeated: pa.Table, qw: pq.ParquetWriter) -> int:  # type: ignore[no-untyped-def]
        """Rewrite the staged data without the repeated rows, and quarantine them (rare: only on repeats)."""
        import json

        landed = pq.read_table(data_dir, filesystem=fs)
        records = pa.array(sorted(set(repeated.column("record").to_pylist())), pa.int64())
        is_repeat = pc.is_in(landed.column("_record"), value_set=records)
        kept = landed.filter(pc.invert(is_repeat))
        moved = {r["_record"]: r for r in landed.filter(is_repeat).to_pylist()}
        for old in fs.ls(data_dir, detail=False):
            fs.rm(old)
        with fs.open(f"{data_dir}/part-00000.parquet", "wb") as f:
            pq.write_table(kept, f)
        rows = [
            {
                "file": self.file_name,
                "line": r["line"],
                "record": r["record"],
                "column": self.spec.key[0],
                "reason": r["reason"],
                "raw": json.dumps(moved[r["record"]], ensure_ascii=False, default=str),
            }
            for r in repeated.to_pylist()
        ]
        qw.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
        return len(moved)

    def _complete(self, arrow_batch: pa.RecordBatch, header: list[str]) -> pa.RecordBatch:
        """Add the spec's columns the file lacks, as empty strings, so every check can name them."""
        missing = [n for n in self.spec.names if n not in header]
        if not missing:
            return arrow_batch
        empty = pa.array([""] * arrow_batch.num_rows, pa.string())
        return pa.RecordBatch.from_arrays(
            [*arrow_batch.columns, *([empty] * len(missing))], names=[*arrow_batch.schema.names, *missing]
        )

    def _checks(self) -> list[tuple[str, validation.Check]]:
        checks = [
            (col.name, check) for col in self.spec.columns for check in validation.checks_for(col, self.today)
        ]
        if self.spec.id_or_region:
            checks.append(
                (
                    "id_number",
                    validation.Check(
                        "id_number",
                        "\"id_number\" = '' AND \"region_code\" = ''",
                        "'身份证号码和区划代码至少要填一项'",
                    ),
                )
            )
        return checks

    def _errors_list(self, checks: list[tuple[str, validation.Check]]) -> str:
        items = [
            f"CASE WHEN {check.condition} THEN {{'column': {lit(name)}, 'reason': {check.reason}}} END"
            for name, check in checks
        ]
        return f"list_filter([{', '.join(items)}], lambda e: e IS NOT NULL)"

    def _load_existing_keys(self, db: duckdb.DuckDBPyConnection, fs, root: str) -> None:  # type: ignore[no-untyped-def]
        for batch_id in Batch.objects.filter(source=self.spec.source, status=Batch.Status.DONE).values_list(
            "pk", flat=True
        ):
            path = storage.batch_dir(root, self.spec.source, batch_id)
            if not fs.exists(path):
                continue
            keys = pq.read_table(path, columns=list(self.spec.key), filesystem=fs)
            db.register("_old", keys)
            db.execute(f"INSERT INTO _seen SELECT {key_expr(self.spec.key)}, {int(batch_id)} FROM _old")
            db.unregister("_old")
