"""`safetynet ingest SOURCE FILE`: validate a departmental feed column-wise and land it in the lake.

Rows stream through in Arrow batches. Each batch is checked in one DuckDB query (every column check of
`safetynet.validation` at once, plus duplicate keys against this file and earlier batches); good rows
are typed and appended to the batch's Parquet file, bad rows go to its quarantine file with line, column
and reason. Memory stays bounded by the batch size whatever the file size. The batch becomes visible
only when complete: staged files are moved into place and the batch row marked done in one step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import IntegrityError, transaction
from django.utils import timezone

from safetynet import validation
from safetynet.lake import pseudonyms, readers, storage
from safetynet.lake.mapping import Mapping, load_mapping
from safetynet.lake.models import Batch
from safetynet.lake.sources import FeedSpec, feed
from safetynet.processes import beating, process_alive
from safetynet.tabular import FileRejected

DUCKDB_MEMORY = "1GB"
DUCKDB_THREADS = 2
GROUP_BYTES = 48 << 20  # Arrow data per DuckDB query
MOVE_ROWS = 250_000  # rows at a time when repeated rows move from the staged data to quarantine
# A column with more distinct values than this is written plain: ID numbers and claim ids are never worth
# a dictionary, and DuckDB's default limit spent time building one for them (about 5 % of an ingest);
# a province's village codes or a county's diagnosis codes still get theirs.
DICTIONARY_ENTRIES = 10_000
HASHED_KEYS_MAX = (
    25_000_000  # up to this many keys, repeats are prefiltered by hash (8 bytes a key in memory)
)
TYPED_KINDS = ("date", "timestamp", "money", "int", "bool")  # landed typed, not as the file's text
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


def prefetch(items: Iterator[pa.Table], depth: int = 2) -> Iterator[pa.Table]:
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


def grouped(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
    """Consecutive batches gathered into tables of about GROUP_BYTES, one DuckDB query each: the CSV
    parser reads small blocks (its read-ahead holds dozens of them), DuckDB is best fed larger pieces."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.nbytes
        if size >= GROUP_BYTES:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def warm_up() -> None:
    """What the first batch would otherwise wait for, done while the hash thread finishes (in this thread:
    an import in a thread of its own holds the GIL the hash and the line-break scan keep asking for, and
    slowed the scan down more than it saved): DuckDB imports pandas (when installed) the first time it is
    handed an Arrow table, and the birthplace table is built."""
    with contextlib.suppress(ImportError):
        import pandas  # noqa: F401
    validation.warm_up()


def repeated_hashes(db: duckdb.DuckDBPyConnection) -> np.ndarray:
    """The 64-bit hashes that occur more than once among the keys (`_keys.k`), found by sorting: a superset
    of the repeated keys' hashes (two different keys may share one), in a fraction of the time DuckDB
    takes to group ten million strings. The two halves of the hash range sort in two threads."""
    hashes = db.sql("SELECT hash(k) AS h FROM _keys").fetchnumpy()["h"]
    high = hashes >= np.uint64(1 << 63)  # a bool mask, not another 8 bytes a key
    halves = [hashes[~high], hashes[high]]
    del hashes, high
    found: list[np.ndarray | BaseException | None] = [None, None]

    def repeats(i: int) -> None:
        try:
            ordered = halves[i]
            ordered.sort()  # numpy sorts without the GIL
            found[i] = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        except BaseException as exc:  # re-raised below: a half not looked at would hide repeats
            found[i] = exc

    threads = [threading.Thread(target=repeats, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in found:
        if not isinstance(result, np.ndarray):
            raise result or RuntimeError("hash sort did not finish")
    return np.concatenate(found)  # type: ignore[arg-type]


def duckdb_path(db: duckdb.DuckDBPyConnection, fs, path: str) -> str:  # type: ignore[no-untyped-def]
    """A path DuckDB can write to: as is on a local folder, else through the lake's fsspec file system."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        return path
    db.register_filesystem(fs)
    return f"{protocol}://{path}"


LEASE = dt.timedelta(seconds=60)  # an ingest renews its lease every third of this while it works
WAIT_FOR_TWIN = 900  # seconds an identical push waits for the one that is landing the same content


def worker_id() -> str:
    """host:pid:token — one per ingest, so two ingests in threads of one server are told apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead(batch: Batch, now: dt.datetime) -> bool:
    """A running batch's ingest is gone: its process is no more, or it stopped renewing its lease."""
    host, _, rest = batch.worker.partition(":")
    pid = rest.split(":", 1)[0]
    if not process_alive(host, pid):
        return True
    return batch.lease_until is not None and batch.lease_until < now


def recover_interrupted(source: str) -> list[int]:
    """Clean up batches of `source` whose ingest died mid-way: remove their files, mark them failed.
    A live ingest — in another thread of this very process, or on another host — is left alone."""
    fs, root = storage.filesystem()
    storage.sweep_spool()
    recovered = []
    now = timezone.now()
    for batch in Batch.objects.filter(source=source, status=Batch.Status.RUNNING):
        if not _dead(batch, now):
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


def key_expr(key: tuple[str, ...], raw: bool = False) -> str:
    """One string per key; ID numbers compared as their pseudonyms, empty and NULL alike. Landed ID numbers
    are pseudonyms; `raw` is for rows as the file holds them, beside their pseudonyms (`with_pseudonyms`)."""
    ids = "COALESCE({}, '')" if raw else "upper(COALESCE({}, ''))"
    parts = [
        ids.format(ident(pseudonym_of(k) if raw else k)) if k == "id_number" else f"COALESCE({ident(k)}, '')"
        for k in key
    ]
    return " || '|' || ".join(parts)


PSEUDONYMS = {"id_number": pseudonyms.id_numbers, "phone": pseudonyms.phones}  # by column kind


def pseudonym_of(name: str) -> str:
    return f"_{name}_pseudonym"


def with_pseudonyms(batch: pa.RecordBatch, columns: Iterable[validation.Column]) -> pa.RecordBatch:
    """The lake's pseudonym of each ID number and phone column, beside it: computed here, over the whole
    batch in the reading thread (while DuckDB checks and writes the batch before), and landed in place of
    the value. A row that fails its checks never lands, so its pseudonym is simply not used."""
    arrays, names = list(batch.columns), list(batch.schema.names)
    for col in columns:
        if (make := PSEUDONYMS.get(col.kind)) is not None:
            arrays.append(make(batch.column(col.name)))
            names.append(pseudonym_of(col.name))
    return pa.RecordBatch.from_arrays(arrays, names=names)


ID_PSEUDONYM, PHONE_PSEUDONYM = "sn_id_pseudonym", "sn_phone_pseudonym"


def register_pseudonyms(db: duckdb.DuckDBPyConnection) -> None:
    """The SQL functions that turn ID numbers and phones into the lake's pseudonyms (`pseudonyms`), called
    by DuckDB on Arrow vectors: for extra columns (`_extra`); the spec's columns come with theirs."""
    for name, make in ((ID_PSEUDONYM, pseudonyms.id_numbers), (PHONE_PSEUDONYM, pseudonyms.phones)):
        db.create_function(name, pseudonyms.of_one_argument(make), ["VARCHAR"], "VARCHAR", type="arrow")  # type: ignore[call-overload]


def _typed(col: validation.Column) -> str:
    """A column's value as it lands. ID numbers and phones land as their pseudonyms."""
    c = ident(col.name)
    empty = f"NULLIF({c}, '')"
    yes, no = validation.sql_list(validation.TRUE_VALUES), validation.sql_list(validation.FALSE_VALUES)
    return {
        "id_number": f"NULLIF({ident(pseudonym_of(col.name))}, '')",
        "phone": ident(pseudonym_of(col.name)),
        "date": ident(f"_{col.name}_value"),  # `validation.date_facts`: NULL for '' as for any non-date
        "timestamp": f"try_cast({c} AS TIMESTAMPTZ)",
        "money": f"try_cast({empty} AS DECIMAL(14, 2))",
        "int": f"try_cast({c} AS INTEGER)",
        "bool": f"CASE WHEN {c} = '' THEN NULL WHEN {c} IN ({yes}) THEN true WHEN {c} IN ({no}) THEN false "
        f"ELSE lower({c}) IN ({yes}) END",  # lower() only for spellings like 'TRUE' or 'Yes'
    }.get(col.kind, empty) + f" AS {c}"


def _extra(c: str) -> str:
    """A column the spec does not know lands as text, but a value that is a whole ID number or phone lands
    as its pseudonym: an extra column must not carry what the named ones may not."""
    return (
        f"CASE WHEN regexp_full_match({c}, '[0-9]{{17}}[0-9Xx]') THEN {ID_PSEUDONYM}({c}) "
        f"WHEN regexp_full_match({c}, '(\\+?86[ -]?)?1[3-9][0-9]([ -]?[0-9]){{8}}') THEN {PHONE_PSEUDONYM}({c}) "
        f"ELSE NULLIF({c}, '') END"
    )


def _shared(col: validation.Column) -> str | None:
    """The expression that several checks of a column and its typed value all compute: computed once per
    row in an inner projection, and referred to by name everywhere else."""
    c = ident(col.name)
    return {
        "timestamp": f"try_cast({c} AS TIMESTAMPTZ)",
        "int": f"try_cast({c} AS INTEGER)",
    }.get(col.kind)


@dataclass(frozen=True)
class _Plan:
    """The SQL run on every batch `_in`, built once per file from the spec and the file's header."""

    rows: str  # `_in` with the shared expressions of `_shared` computed once, as a subquery
    typed: str  # _record and every column, typed, in Parquet order
    any_bad: str  # true when any check fails
    conditions: tuple[tuple[str, validation.Unless | None], ...]  # each check's part of `any_bad`
    key: str  # the duplicate key, one string
    details: str  # the failing rows, one row per failed check, as the quarantine stores them

    @classmethod
    def make(
        cls,
        spec: FeedSpec,
        extras: list[str],
        checks: list[tuple[str, validation.Check]],
        file_name: str,
    ) -> _Plan:
        columns = [*spec.names, *extras]
        shared = {e: f"_shared_{i}" for i, col in enumerate(spec.columns) if (e := _shared(col))}

        def once(sql: str) -> str:
            for expression, name in shared.items():
                sql = sql.replace(expression, name)
            return sql

        facts = [name for c in spec.columns for name in validation.fact_names(c)]
        facts += [pseudonym_of(c.name) for c in spec.columns if c.kind in PSEUDONYMS]
        rows = (
            f"(SELECT {', '.join(ident(n) for n in ['_line', '_record', *columns, *facts])}"
            + "".join(f", {expression} AS {name}" for expression, name in shared.items())
            + " FROM _in)"
        )
        conditions = tuple((f"COALESCE({once(c.condition)}, false)", c.unless) for _, c in checks)
        any_bad = " OR ".join(sql for sql, _ in conditions) or "false"
        typed = ", ".join(
            ["_record"]
            + [once(_typed(c)) for c in spec.columns]
            + [f"{_extra(ident(e))} AS {ident(e)}" for e in extras]
        )
        errors = once(_errors_list(checks))
        raw = f"to_json(map([{', '.join(lit(n) for n in columns)}], [{', '.join(ident(n) for n in columns)}]))::VARCHAR"
        details = (
            f"SELECT {lit(file_name)} AS file, _line AS line, _record AS record, e.column AS column, "
            f"e.reason AS reason, raw FROM (SELECT _line, _record, unnest({errors}) AS e, "
            f"{raw} AS raw FROM {rows} WHERE {any_bad}) ORDER BY record"
        )
        key = key_expr(spec.key, raw=True) if spec.key else "NULL"
        return cls(rows, typed, any_bad, conditions, key, details)

    def any_bad_for(self, batch: pa.Table) -> str:
        """`any_bad` without the checks no row of this batch can fail: no empty value where one is
        required, none too long, every ID of the right shape … (`validation.Unless`), learnt from Arrow's
        lengths and the numpy facts in a few milliseconds, where DuckDB would test every row."""
        kept = [sql for sql, unless in self.conditions if unless is None or not unless.holds(batch)]
        return " OR ".join(kept) or "false"



def _errors_list(checks: list[tuple[str, validation.Check]]) -> str:
    items = [
        f"CASE WHEN {check.condition} THEN {{'column': {lit(name)}, 'reason': {check.reason}}} END"
        for name, check in checks
    ]
    return f"list_filter([{', '.join(items)}], lambda e: e IS NOT NULL)"


def lease_kept(batch: Batch) -> contextlib.AbstractContextManager[None]:
    """Renew the batch's lease while the ingest works, so no other process takes a live ingest for a dead
    one (a third of the lease apart: a busy database can miss a beat well inside it)."""
    return beating(
        LEASE.total_seconds() / 3,
        lambda: Batch.objects.filter(pk=batch.pk, status=Batch.Status.RUNNING).update(
            lease_until=timezone.now() + LEASE
        ),
        f"lease-{batch.pk}",
    )


class FeedIngest:
    def __init__(
        self,
        source: str,
        path: Path,
        mapping_path: Path | None = None,
        submitted_by: str = "",
        department: str = "",
        file_name: str = "",
        scanned: Future[readers.Scan] | None = None,
        batch_id: int | None = None,
    ):
        self.spec: FeedSpec = feed(source)
        self.batch_id = batch_id  # a push accepted earlier: land it under the id the department was given
        self.scanned = scanned  # `readers.scan_ahead` of the same path, when the caller started one
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
        file_format = readers.detect_format(self.path)
        parts = readers.parts_for(self.path, file_format)
        if self.scanned is None:
            scanned = readers.scan(self.path, parts, while_hashing=warm_up)
        else:
            warm_up()
            scanned = self.scanned.result()
        content_hash = hashlib.sha256(f"{spec.source}:{scanned.sha256}:{mapping.digest}".encode()).hexdigest()
        recover_interrupted(spec.source)
        claimed = self._claim(content_hash, file_format, mapping)
        if isinstance(claimed, IngestResult):
            return claimed
        batch = claimed
        fs, root = storage.filesystem()
        with lease_kept(batch):
            return self._land(batch, mapping, scanned, parts, fs, root)

    def _claim(self, content_hash: str, file_format: str, mapping: Mapping) -> Batch | IngestResult:
        """A new running batch for this content, or the result of the batch that already holds it. Of
        several ingests of one content at once, the database's constraint lets exactly one create its
        batch; the others wait for it and answer with its id."""
        spec = self.spec
        deadline = time.monotonic() + WAIT_FOR_TWIN
        while True:
            done = Batch.objects.filter(
                source=spec.source, content_hash=content_hash, status=Batch.Status.DONE
            ).first()
            if done:
                if self.batch_id is not None:
                    Batch.objects.filter(pk=self.batch_id).update(
                        status=Batch.Status.DUPLICATE,
                        duplicate_of=done.pk,
                        content_hash=content_hash,
                        file_format=file_format,
                        finished_at=timezone.now(),
                        message=f"相同内容此前已入湖（批次 {done.pk}），未重复导入",
                    )
                return IngestResult(batch_id=done.pk, already_ingested=True)
            try:
                with transaction.atomic():
                    if self.batch_id is not None:
                        return self._take_queued(content_hash, file_format, mapping)
                    return Batch.objects.create(
                        source=spec.source,
                        file_name=self.file_name,
                        file_format=file_format,
                        content_hash=content_hash,
                        mapping=mapping.name,
                        submitted_by=self.submitted_by[:150],
                        department=self.department[:100],
                        worker=worker_id(),
                        lease_until=timezone.now() + LEASE,
                    )
            except IntegrityError:
                pass  # an identical ingest is landing this content right now
            if time.monotonic() > deadline:
                twin = Batch.objects.filter(source=spec.source, content_hash=content_hash).order_by("-id").first()
                raise FileRejected(
                    self.file_name, f"相同内容正在导入（批次 {twin.pk if twin else '?'}），请稍后查询结果"
                )
            time.sleep(0.5)
            recover_interrupted(spec.source)  # the twin may have died: its lease frees the content

    def _take_queued(self, content_hash: str, file_format: str, mapping: Mapping) -> Batch:
        """The accepted push's own batch, now running: queued, or failed by an attempt that died (its
        files are cleaned up by `recover_interrupted` before this)."""
        assert self.batch_id is not None
        taken = Batch.objects.filter(
            pk=self.batch_id, status__in=[Batch.Status.QUEUED, Batch.Status.FAILED]
        ).update(
            status=Batch.Status.RUNNING,
            content_hash=content_hash,
            file_format=file_format,
            mapping=mapping.name,
            worker=worker_id(),
            lease_until=timezone.now() + LEASE,
            message="",
            finished_at=None,
        )
        if not taken:
            raise FileRejected(self.file_name, f"批次 {self.batch_id} 已在导入或已完成")
        return Batch.objects.get(pk=self.batch_id)

    def _land(
        self, batch: Batch, mapping: Mapping, scanned: readers.Scan, parts: int, fs, root: str  # type: ignore[no-untyped-def]
    ) -> IngestResult:
        spec = self.spec
        try:
            try:
                feed_file, streams, one_line = self._open(batch, mapping, scanned, parts)
                accepted, rejected = self._write(batch, feed_file, streams, fs, root, one_line)
            except readers.FastPathFailed:
                storage.remove_batch_files(fs, root, spec.source, batch.pk)
                feed_file, _, _ = self._open(batch, mapping, scanned, 1)
                accepted, rejected = self._write(
                    batch, feed_file, [self._exact(feed_file, mapping)], fs, root
                )
        except FileRejected as exc:
            storage.remove_batch_files(fs, root, spec.source, batch.pk)
            self._finish(batch, Batch.Status.REJECTED, message=exc.reason)
            return IngestResult(batch_id=batch.pk, whole_file_rejected=True, message=exc.reason)
        except BaseException:
            storage.remove_batch_files(fs, root, spec.source, batch.pk)
            self._finish(batch, Batch.Status.FAILED, message="导入失败，已清理其写入的文件")
            raise
        if accepted == 0 and rejected == 0:
            # A header and no rows: nothing to land, and an empty batch would only confuse its readers.
            storage.remove_batch_files(fs, root, spec.source, batch.pk)
            message = "文件只有表头，没有数据行"
            self._finish(batch, Batch.Status.REJECTED, message=message)
            return IngestResult(batch_id=batch.pk, whole_file_rejected=True, message=message)
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
        self, batch: Batch, mapping: Mapping, scanned: readers.Scan, parts: int
    ) -> tuple[readers.FeedFile, list[Iterator[pa.RecordBatch]], bool]:
        """The file's rows as one stream of batches, or several (CSV fast path over byte ranges), and
        whether every record is one line (the fast path: line = record + 1)."""
        fmt = batch.file_format
        if self.path.stat().st_size == 0:
            raise FileRejected(self.file_name, "文件为空，没有表头")
        one_line = False
        if fmt == "xlsx":
            feed_file, header_row = readers.open_xlsx(self.path, self.spec, mapping, scanned.sha256)
            streams = [readers.read_xlsx(feed_file, mapping, header_row)]
        elif fmt == "jsonl":
            feed_file = readers.open_jsonl(self.path, self.spec, mapping, scanned.sha256, scanned.utf8)
            streams = [readers.read_jsonl(feed_file, mapping)]
        else:
            feed_file = readers.open_csv(self.path, self.spec, mapping, scanned)
            if feed_file.exact_lines:
                streams = readers.csv_streams(feed_file, parts)
                one_line = True
            else:
                streams = [readers.read_csv(feed_file, exact=True)]
        batch.encoding = feed_file.encoding
        batch.save(update_fields=["encoding"])
        return feed_file, [(readers.recode(b, mapping) for b in rows) for rows in streams], one_line

    def _exact(self, feed_file: readers.FeedFile, mapping: Mapping) -> Iterator[pa.RecordBatch]:
        return (readers.recode(b, mapping) for b in readers.read_csv(feed_file, exact=True))

    # -- checking and writing ---------------------------------------------------------------------

    def _write(
        self,
        batch: Batch,
        feed_file: readers.FeedFile,
        streams: list[Iterator[pa.RecordBatch]],
        fs,  # type: ignore[no-untyped-def]
        root: str,
        one_line: bool = False,
    ) -> tuple[int, int]:
        """Check and write every row; returns (accepted, rejected rows).

        Each stream (one, or one per byte range of a large CSV) runs in its own thread with its own DuckDB
        connection, so both cores stay busy: per batch, one COPY checks every row, types the good ones and
        writes them as a Parquet part; only the (rare) failing rows get a second query that names each
        failed check. Keys are collected as rows pass and checked for repeats once, at the end, over the
        whole file and earlier batches. Parts are named by stream and position, so they list in file order.
        """
        spec = self.spec
        spill = tempfile.TemporaryDirectory(prefix="safetynet-ingest-")
        db = duckdb.connect(
            # several streams are already one thread per core; the final query over all keys uses them all
            config={
                "threads": 1 if len(streams) > 1 else DUCKDB_THREADS,
                "memory_limit": DUCKDB_MEMORY,
                "temp_directory": spill.name,
            }
        )
        header = feed_file.header
        extras = [h for h in header if h and h not in spec.names and not h.startswith("_")]
        checks = self._checks()
        plan = _Plan.make(spec, extras, checks, self.file_name)
        data_dir = storage.batch_dir(root, spec.source, batch.pk, staging=True)
        quarantine_dir = storage.batch_dir(root, spec.source, batch.pk, staging=True, quarantine=True)
        fs.makedirs(data_dir, exist_ok=True)
        fs.makedirs(quarantine_dir, exist_ok=True)
        target = duckdb_path(db, fs, data_dir)
        keys_dir = f"{spill.name}/keys"  # the keys of accepted rows, checked for repeats at the end
        os.makedirs(keys_dir)
        # On the fast path of a local lake the keys are read back from the landed rows at the end instead
        # (a key of text or ID columns is the same from the typed value as from the raw one, and the line
        # is the record's plus one): no key files to write.
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        keys_landed = (
            one_line
            and protocol in ("file", "local")
            and all(c.kind not in TYPED_KINDS for c in spec.columns if c.name in spec.key)
        )
        stop = threading.Event()
        results: list[tuple[int, int] | BaseException | None] = [None] * len(streams)
        register_pseudonyms(db)
        try:
            with (
                fs.open(f"{quarantine_dir}/part-0.parquet", "wb") as qf,
                pq.ParquetWriter(qf, QUARANTINE_SCHEMA) as quarantine_file,
            ):
                qw = pseudonyms.SealingWriter(quarantine_file)
                # the first stream's rejects go straight to the quarantine file, the others' to files of
                # their own, appended after it in stream order: the quarantine lists rows in file order
                spills = [
                    pq.ParquetWriter(f"{spill.name}/quarantine-{i}.parquet", QUARANTINE_SCHEMA)
                    for i in range(1, len(streams))
                ]
                writers = [qw] + [pseudonyms.SealingWriter(w) for w in spills]

                def run(i: int, rows: Iterator[pa.RecordBatch]) -> None:
                    ready = grouped(
                        with_pseudonyms(validation.with_facts(self._complete(b, header), spec.columns), spec.columns)
                        for b in rows
                        if b.num_rows
                    )
                    try:
                        results[i] = self._check_stream(
                            i,
                            db.cursor(),
                            prefetch(ready) if len(streams) == 1 else ready,
                            plan,
                            fs,
                            data_dir,
                            target,
                            None if keys_landed else keys_dir,
                            writers[i],
                            stop,
                        )
                    except BaseException as exc:  # handed to the main thread, which re-raises it
                        results[i] = exc
                        stop.set()

                threads = [
                    threading.Thread(target=run, args=(i, rows), name=f"ingest-{i}", daemon=True)
                    for i, rows in enumerate(streams)
                ]
                for thread in threads:
                    thread.start()
                try:
                    for thread in threads:
                        while thread.is_alive():
                            thread.join(0.5)
                except BaseException:
                    stop.set()
                    for thread in threads:
                        thread.join()
                    raise
                for i, writer in enumerate(spills, start=1):
                    writer.close()
                    if not isinstance(results[i], BaseException):
                        for part in pq.ParquetFile(f"{spill.name}/quarantine-{i}.parquet").iter_batches():
                            qw.write_sealed_batch(part)
                failed = [r for r in results if isinstance(r, BaseException)]
                if failed:
                    raise next((e for e in failed if not isinstance(e, readers.FastPathFailed)), failed[0])
                accepted = sum(r[0] for r in results if isinstance(r, tuple))
                rejected = sum(r[1] for r in results if isinstance(r, tuple))
                if spec.key and accepted:
                    db.execute(f"SET threads = {DUCKDB_THREADS}")
                    db.execute(
                        # landed rows hold the pseudonyms themselves: the landed form of the key
                        f"CREATE VIEW _keys AS SELECT {key_expr(spec.key)} AS k, _record AS record, _record + 1 AS line "
                        f"FROM read_parquet({lit(data_dir + '/*.parquet')})"
                        if keys_landed
                        else f"CREATE VIEW _keys AS SELECT * FROM read_parquet({lit(keys_dir + '/*.parquet')})"
                    )
                    if accepted <= HASHED_KEYS_MAX:
                        # only keys whose 64-bit hash repeats can repeat: the exact check runs on those
                        db.register("_candidates", pa.table({"h": repeated_hashes(db)}))
                        db.execute(
                            "CREATE TEMP TABLE _within AS SELECT * FROM _keys "
                            "WHERE hash(k) IN (SELECT h FROM _candidates)"
                        )
                    else:  # too many to hold: DuckDB groups them all, spilling to disk if need be
                        db.execute("CREATE VIEW _within AS SELECT * FROM _keys")
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
        finally:
            db.close()
            spill.cleanup()
        return accepted, rejected + len(feed_file.errors)

    def _check_stream(
        self,
        stream: int,
        db: duckdb.DuckDBPyConnection,
        batches: Iterator[pa.Table],
        plan: _Plan,
        fs,  # type: ignore[no-untyped-def]
        data_dir: str,
        target: str,
        keys_dir: str | None,
        qw: pseudonyms.SealingWriter,
        stop: threading.Event,
    ) -> tuple[int, int]:
        """One stream's batches: check, type and write each; returns (accepted, rejected) before repeats."""
        accepted = rejected = 0
        for part, arrow_batch in enumerate(batches):
            if stop.is_set():
                break
            db.register("_in", arrow_batch)
            path = f"{target}/part-{stream}-{part:05d}.parquet"
            # DuckDB writes the Parquet itself: typed values never round-trip through Python.
            any_bad = plan.any_bad_for(arrow_batch)
            (good,) = db.execute(  # type: ignore[misc]
                f"COPY (SELECT {plan.typed} FROM {plan.rows} WHERE NOT ({any_bad})) TO {lit(path)} "
                f"(FORMAT parquet, DICTIONARY_SIZE_LIMIT {DICTIONARY_ENTRIES})"
            ).fetchone()
            bad = arrow_batch.num_rows - good
            if not good:  # every row failed: no empty part
                fs.rm(f"{data_dir}/part-{stream}-{part:05d}.parquet")
            if good and self.spec.key and keys_dir:
                where = f" WHERE NOT ({any_bad})" if bad else ""
                db.execute(
                    f"COPY (SELECT {plan.key} AS k, _record AS record, _line AS line FROM {plan.rows}{where}) "
                    f"TO {lit(f'{keys_dir}/{stream}-{part:05d}.parquet')} (FORMAT parquet)"
                )
            if bad:
                qw.write_table(db.sql(plan.details).to_arrow_table().cast(QUARANTINE_SCHEMA))
            accepted += good
            rejected += bad
            db.unregister("_in")
        return accepted, rejected

    def _repeated_keys(self, db: duckdb.DuckDBPyConnection, fs, root: str) -> pa.Table:  # type: ignore[no-untyped-def]
        """(record, line, reason) of every accepted row whose key came earlier in this file or an earlier batch.

        Repeats within the file are looked for in `_within` (every key, or those whose hash repeats: all rows
        of a repeated key share its hash), repeats of earlier batches in all of `_keys`.
        """
        db.execute("CREATE TABLE _seen (k VARCHAR, batch BIGINT)")
        self._load_existing_keys(db, fs, root)
        label = "、".join(self.spec.key)
        return db.sql(
            f"WITH repeated AS (SELECT k FROM _within GROUP BY k HAVING count(*) > 1), "
            f"firsts AS (SELECT k, min(record) AS record, min(line) AS line FROM _within WHERE k IN (SELECT k FROM repeated) GROUP BY k) "
            f"SELECT x.record, x.line, '{label} 重复（首次出现在第 ' || f.line || ' 行）' AS reason "
            f"FROM _within x JOIN firsts f ON f.k = x.k WHERE x.record <> f.record "
            f"UNION ALL "
            f"SELECT x.record, x.line, '{label} 重复（已在批次 ' || min(s.batch) || ' 中）' AS reason "
            f"FROM _keys x JOIN _seen s ON s.k = x.k GROUP BY x.record, x.line "
            f"ORDER BY record"
        ).to_arrow_table()

    def _move_to_quarantine(self, fs, data_dir: str, repeated: pa.Table, qw: pseudonyms.SealingWriter) -> int:  # type: ignore[no-untyped-def]
        """Rewrite the staged data without the repeated rows, and quarantine them (only on repeats).

        Both go a slice at a time, so memory stays bounded even when most of a large file repeats an
        earlier batch. Returns how many landed rows were moved.
        """
        import json

        import pyarrow.dataset as ds

        parts = sorted(fs.ls(data_dir, detail=False))
        landed = ds.dataset(parts, filesystem=fs, format="parquet")
        records = repeated.column("record").unique().sort()
        rewritten = f"{data_dir}/rewritten.tmp"
        with fs.open(rewritten, "wb") as f, pq.ParquetWriter(f, landed.schema) as writer:
            pending: list[pa.RecordBatch] = []
            for kept in landed.to_batches(filter=~pc.field("_record").isin(records), use_threads=False):
                pending.append(kept)
                if sum(b.num_rows for b in pending) >= MOVE_ROWS:
                    writer.write_table(pa.Table.from_batches(pending, landed.schema))
                    pending = []
            if pending:
                writer.write_table(pa.Table.from_batches(pending, landed.schema))
        moved = 0
        for start in range(0, len(records), MOVE_ROWS):
            chunk = records.slice(start, MOVE_ROWS)
            found = landed.to_table(filter=pc.field("_record").isin(chunk), use_threads=False)
            by_record = {r["_record"]: r for r in pseudonyms.revealed(found).to_pylist()}
            moved += len(by_record)
            rows = [
                {
                    "file": self.file_name,
                    "line": r["line"],
                    "record": r["record"],
                    "column": self.spec.key[0],
                    "reason": r["reason"],
                    "raw": json.dumps(by_record[r["record"]], ensure_ascii=False, default=str),
                }
                for r in repeated.filter(pc.is_in(repeated.column("record"), value_set=chunk)).to_pylist()
            ]
            qw.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
        for old in parts:
            fs.rm(old)
        fs.mv(rewritten, f"{data_dir}/part-0-00000.parquet")
        return moved

    def _complete(self, arrow_batch: pa.RecordBatch, header: list[str]) -> pa.RecordBatch:
        """Drop the file's columns whose names start with "_" (the names of the service's own columns:
        `_line`, the facts, the pseudonyms — a file must not supply any of them) and add the spec's columns
        the file lacks, as empty strings, so every check can name them."""
        names = arrow_batch.schema.names
        assert names[:2] == ["_line", "_record"], names[:2]  # the reader's own, always first
        kept = [0, 1] + [i for i, name in enumerate(names) if i >= 2 and not name.startswith("_")]
        missing = [n for n in self.spec.names if n not in header]
        if not missing and len(kept) == len(names):
            return arrow_batch
        empty = pa.array([""] * arrow_batch.num_rows, pa.string())
        return pa.RecordBatch.from_arrays(
            [*(arrow_batch.column(i) for i in kept), *([empty] * len(missing))],
            names=[*(names[i] for i in kept), *missing],
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

    def _load_existing_keys(self, db: duckdb.DuckDBPyConnection, fs, root: str) -> None:  # type: ignore[no-untyped-def]
        """The earlier landed batches' keys that this file repeats, each with its batch, into `_seen`.

        One DuckDB scan over every landed batch of the source, kept to the keys this file holds: a read
        per batch cost about 2.5 ms each (the soak), so a source pushed hourly would have spent some 20 s
        of every push on a year's batches."""
        done = set(
            Batch.objects.filter(source=self.spec.source, status=Batch.Status.DONE).values_list("pk", flat=True)
        )
        if not done:
            return
        files = [
            duckdb_path(db, fs, path)
            for path in fs.glob(f"{root}/{self.spec.source}/batch=*/*.parquet")
            if _batch_of(path) in done
        ]
        if not files:
            return
        listed = ", ".join(lit(f) for f in files)
        # the batch is read from the file's path: `_file` cannot clash with a column a department sent
        # (extra columns starting with "_" are not landed), while a hive `batch` column could
        db.execute(
            f"INSERT INTO _seen SELECT k, regexp_extract(_file, 'batch=([0-9]+)/[^/]*$', 1)::BIGINT FROM ("
            f"SELECT {key_expr(self.spec.key)} AS k, _file "
            f"FROM read_parquet([{listed}], filename = '_file', union_by_name = true)"
            f") WHERE k IN (SELECT k FROM _keys)"
        )


def _batch_of(path: str) -> int | None:
    """The batch id in a landed file's path (`…/batch=12/part-0-00000.parquet`)."""
    folder = path.rstrip("/").rsplit("/", 2)[-2]
    return int(folder[6:]) if folder.startswith("batch=") and folder[6:].isdigit() else None
