"""`safetynet registry import DIR`: validate every registry file column-wise in DuckDB, then load all or nothing.

Validation runs as set-based SQL over the whole file (one query per check, not a Python loop per row),
so a million-person county is checked in seconds and every bad row is reported at once with its file,
line, column and a reason in Chinese. Only when nothing is wrong does one database transaction upsert
the rows (COPY into a staging table on PostgreSQL, batched upserts on SQLite).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from django.db import connection, transaction
from django.utils import timezone

from safetynet import validation
from safetynet.regions import services as regions
from safetynet.regions.models import PREFIX_LENGTH, Level
from safetynet.registry.models import ImportBatch
from safetynet.registry.specs import LABELS, SPECS, FileSpec
from safetynet.tabular import CsvSource, FileRejected, RaggedRow, iter_rows, open_csv

ARROW_BATCH_ROWS = 100_000
DUCKDB_MEMORY = "1GB"  # beyond this DuckDB spills to a temporary folder, so a province file still fits
MAX_REPORTED_ERRORS = 100_000  # a report longer than this is not read; the count still tells the size


@dataclass(frozen=True, order=True)
class RowError:
    file: str
    line: int
    column: str
    reason: str


@dataclass
class ImportResult:
    batch_id: int
    accepted: int = 0
    rejected: int = 0
    already_imported: bool = False
    errors: list[RowError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # rows per file

    @property
    def summary_line(self) -> str:
        tail = " already ingested" if self.already_imported else ""
        return f"accepted={self.accepted} rejected={self.rejected} batch={self.batch_id}{tail}"


Progress = Callable[[str], None]


def _label(column: str) -> str:
    return f"{LABELS.get(column, column)}({column})"


class RegistryImport:
    """One import of a folder of registry files; `run()` returns the result and never half-loads."""

    def __init__(
        self,
        directory: Path,
        imported_by: str = "",
        today: dt.date | None = None,
        progress: Progress | None = None,
    ):
        self.directory = directory
        self.imported_by = imported_by
        self.today = today or timezone.localdate()
        self.progress = progress or (lambda _msg: None)
        self._spill = tempfile.TemporaryDirectory(prefix="safetynet-import-")
        self.db = duckdb.connect(
            config={"threads": 2, "memory_limit": DUCKDB_MEMORY, "temp_directory": self._spill.name}
        )
        self.sources: dict[str, CsvSource] = {}
        self.errors: list[RowError] = []
        self.row_counts: dict[str, int] = {}

    # -- orchestration -----------------------------------------------------------------------------

    def run(self) -> ImportResult:
        files = [spec for spec in SPECS if (self.directory / spec.file).exists()]
        if not files:
            names = "、".join(s.file for s in SPECS)
            raise FileRejected(str(self.directory), f"目录中没有任何登记文件（应为 {names} 之一）")
        file_errors: list[RowError] = []
        for spec in files:
            try:
                self.sources[spec.name] = open_csv(
                    self.directory / spec.file,
                    required=[c.name for c in spec.columns if c.name not in spec.optional_columns],
                    known=[c.name for c in spec.columns],
                )
            except FileRejected as exc:
                file_errors.append(RowError(spec.file, 0, "", exc.reason))
        content_hash = hashlib.sha256(
            "".join(f"{name}:{src.sha256};" for name, src in sorted(self.sources.items())).encode()
        ).hexdigest()

        done = ImportBatch.objects.filter(content_hash=content_hash, status=ImportBatch.Status.DONE).first()
        if done and not file_errors:
            return ImportResult(batch_id=done.pk, already_imported=True)

        batch = ImportBatch.objects.create(
            source_dir=str(self.directory)[:500],
            content_hash=content_hash,
            imported_by=self.imported_by,
            files={
                name: {"sha256": src.sha256, "encoding": src.encoding} for name, src in self.sources.items()
            },
        )
        readable = [spec for spec in files if spec.name in self.sources]
        staged = []
        for spec in readable:
            self.progress(f"读取 {spec.file}")
            try:
                self._stage(spec)
                staged.append(spec)
            except FileRejected as exc:
                file_errors.append(RowError(spec.file, 0, "", exc.reason))
        self.progress("校验")
        for spec in staged:
            self._check_columns(spec)
            self._check_keys(spec)
        # References into a file that could not be read would all look broken: skip them then,
        # but still report every row error of the readable files, so the clerk fixes all at once.
        if not file_errors:
            self._check_references(staged)
        if file_errors or self.errors:
            return self._reject(batch, file_errors + self.errors)

        self.progress("写入数据库")
        with transaction.atomic():
            for spec in files:
                self._load(spec)
            batch.status = ImportBatch.Status.DONE
            batch.accepted = sum(self.row_counts.values())
            batch.finished_at = timezone.now()
            batch.files = {
                name: {**batch.files[name], "rows": self.row_counts[name]} for name in self.sources
            }
            batch.save()
        return ImportResult(batch_id=batch.pk, accepted=batch.accepted, counts=dict(self.row_counts))

    def _reject(self, batch: ImportBatch, errors: list[RowError]) -> ImportResult:
        errors = sorted(set(errors), key=lambda e: (_file_order(e.file), e.line, e.column, e.reason))
        bad_rows = len({(e.file, e.line) for e in errors})
        batch.status = ImportBatch.Status.REJECTED
        batch.rejected = bad_rows
        batch.finished_at = timezone.now()
        batch.save()
        return ImportResult(batch_id=batch.pk, rejected=bad_rows, errors=errors[:MAX_REPORTED_ERRORS])

    # -- staging: CSV -> DuckDB table of strings with line numbers ---------------------------------

    def _stage(self, spec: FileSpec) -> None:
        """Stream the file into DuckDB table raw_<name>: every value a string, with its line number.

        Rows go in 100,000 at a time, so memory holds one Arrow batch and DuckDB's own (spillable)
        copy, never the whole file twice.
        """
        source = self.sources[spec.name]
        names = [c.name for c in spec.columns]
        table = f"raw_{spec.name}"
        schema = pa.schema([("_line", pa.int64())] + [(n, pa.string()) for n in names])
        lines: list[int] = []
        rows: list[list[str]] = []
        count = 0
        created = False

        def flush(force: bool = False) -> None:
            nonlocal created
            if lines or (force and not created):
                cols: list[tuple[str, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
                arrays = [pa.array(lines, pa.int64())] + [pa.array(c, pa.string()) for c in cols]
                batch = validation.with_facts(pa.RecordBatch.from_arrays(arrays, schema=schema), spec.columns)
                self.db.register("_batch", batch)
                verb = f"INSERT INTO {table}" if created else f"CREATE OR REPLACE TABLE {table} AS"
                self.db.execute(f"{verb} SELECT * FROM _batch")
                self.db.unregister("_batch")
                created = True
                lines.clear()
                rows.clear()

        for item in iter_rows(source, names):
            if isinstance(item, RaggedRow):
                width = len(source.header)
                self.errors.append(
                    RowError(spec.file, item.line, "", f"该行有 {item.fields} 列，表头有 {width} 列")
                )
                continue
            lines.append(item[0])
            rows.append(item[1])
            count += 1
            if len(lines) >= ARROW_BATCH_ROWS:
                flush()
        flush(force=True)
        self.row_counts[spec.name] = count
        if spec.name == "regions":
            self._check_region_tree_names()

    # -- per-column checks -------------------------------------------------------------------------

    def _collect(self, spec: FileSpec, column: str, sql: str, params: list[object] | None = None) -> None:
        """Run a query yielding (_line, reason) for bad rows, and record them as errors."""
        for line, reason in self.db.execute(sql, params or []).fetchall():
            self.errors.append(RowError(spec.file, int(line), _label(column), reason))

    def _check_columns(self, spec: FileSpec) -> None:
        table = f"raw_{spec.name}"
        for col in spec.columns:
            for check in validation.checks_for(col, self.today):
                self._collect(
                    spec, col.name, f"SELECT _line, {check.reason} FROM {table} WHERE {check.condition}"
                )
        if spec.name == "persons":
            self._check_person_matches_id()
        if spec.name in ("assistance", "applications"):
            self._check_date_order(spec)

    def _check_person_matches_id(self) -> None:
        spec = next(s for s in SPECS if s.name == "persons")
        id_ok = "regexp_full_match(upper(id_number), '[0-9]{17}[0-9X]')"
        born = "try_strptime(substr(id_number, 7, 8), '%Y%m%d')::DATE"
        self._collect(
            spec,
            "birth_date",
            f"SELECT _line, '出生日期 ' || birth_date || ' 与身份证号码不一致（身份证为 ' || strftime({born}, '%Y-%m-%d') || '）' "
            f"FROM raw_persons WHERE {id_ok} AND {born} IS NOT NULL "
            "AND try_strptime(birth_date, '%Y-%m-%d')::DATE <> " + born,
        )
        derived = "CASE WHEN substr(id_number, 17, 1)::INTEGER % 2 = 1 THEN 'M' ELSE 'F' END"
        self._collect(
            spec,
            "gender",
            f"SELECT _line, '性别 ' || gender || ' 与身份证号码不一致（身份证第 17 位为' || "
            f"CASE WHEN {derived} = 'M' THEN '男' ELSE '女' END || '）' "
            f"FROM raw_persons WHERE {id_ok} AND gender IN ('M', 'F') AND gender <> {derived}",
        )

    def _check_date_order(self, spec: FileSpec) -> None:
        table = f"raw_{spec.name}"
        first, second = (
            ("start_date", "end_date") if spec.name == "assistance" else ("applied_on", "decided_on")
        )
        d1, d2 = (f"try_strptime({first}, '%Y-%m-%d')", f"try_strptime({second}, '%Y-%m-%d')")
        self._collect(
            spec,
            second,
            f"SELECT _line, '{LABELS[second]} ' || {second} || ' 早于{LABELS[first]} ' || {first} "
            f"FROM {table} WHERE {d2} < {d1}",
        )
        if spec.name == "applications":
            self._collect(
                spec,
                "decided_on",
                "SELECT _line, CASE WHEN decision = 'pending' THEN '待审批的申请不应有审批日期' "
                "ELSE '已审批的申请缺少审批日期' END FROM raw_applications "
                "WHERE (decision = 'pending' AND decided_on <> '') "
                "OR (decision IN ('approved', 'rejected', 'withdrawn') AND decided_on = '')",
            )
        else:
            self._collect(
                spec,
                "end_date",
                "SELECT _line, '已结束的救助缺少结束日期' FROM raw_assistance WHERE status = 'ended' AND end_date = ''",
            )

    # -- keys and references -----------------------------------------------------------------------

    def _check_keys(self, spec: FileSpec) -> None:
        table = f"raw_{spec.name}"
        key = ", ".join(f"upper({k})" if k in ("id_number",) else k for k in spec.key)
        labels = "、".join(LABELS.get(k, k) for k in spec.key)
        self._collect(
            spec,
            spec.key[0],
            f"SELECT _line, '{labels}重复（首次出现在第 ' || first_line || ' 行）' FROM ("
            f"SELECT _line, min(_line) OVER (PARTITION BY {key}) AS first_line FROM {table}) "
            "WHERE _line <> first_line",
        )

    def _existing(self, table: str, column: str, wanted: list[str], extra: str = "") -> dict[str, tuple]:
        """Look up keys the files refer to but do not contain, in the database, 900 at a time."""
        found: dict[str, tuple] = {}
        with connection.cursor() as cursor:
            for i in range(0, len(wanted), 900):
                chunk = wanted[i : i + 900]
                marks = ", ".join(["%s"] * len(chunk))
                cols = f"{column}{', ' + extra if extra else ''}"
                cursor.execute(f"SELECT {cols} FROM {table} WHERE {column} IN ({marks})", chunk)
                for row in cursor.fetchall():
                    found[row[0]] = tuple(row[1:])
        return found

    def _known(
        self,
        name: str,
        source: str,
        key_sql: str,
        extra_sql: str,
        db_table: str,
        db_key: str,
        db_extra: str,
        referenced_sql: str,
    ) -> None:
        """Build DuckDB table known_<name>(k, extra): the rows of staged file `source`, plus the rows
        the files refer to that only the database holds."""
        self.db.execute(f"CREATE OR REPLACE TEMP TABLE known_{name} (k VARCHAR, extra VARCHAR)")
        if f"raw_{source}" in self._tables():
            self.db.execute(f"INSERT INTO known_{name} SELECT {key_sql}, {extra_sql} FROM raw_{source}")
        missing = [
            r[0]
            for r in self.db.execute(
                f"SELECT DISTINCT r FROM ({referenced_sql}) refs(r) WHERE r <> '' "
                f"AND r NOT IN (SELECT k FROM known_{name})"
            ).fetchall()
        ]
        rows = self._existing(db_table, db_key, missing, db_extra) if missing else {}
        if rows:
            self.db.executemany(
                f"INSERT INTO known_{name} VALUES (?, ?)",
                [(k, v[0] if v else None) for k, v in rows.items()],
            )

    def _tables(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    def _check_references(self, specs: list[FileSpec]) -> None:
        staged = {s.name for s in specs}
        if "regions" in staged:
            self._check_region_tree()
        if "households" in staged:
            self._known(
                "regions",
                "regions",
                "code",
                "level",
                "regions_region",
                "code",
                "level",
                "SELECT region_code FROM raw_households",
            )
            spec = next(s for s in specs if s.name == "households")
            self._collect(
                spec,
                "region_code",
                "SELECT h._line, CASE WHEN r.k IS NULL THEN '区划代码 ' || h.region_code || ' 不存在' "
                "ELSE '户所在区划必须是村（社区）级，' || h.region_code || ' 是 ' || r.extra END "
                "FROM raw_households h LEFT JOIN known_regions r ON r.k = h.region_code "
                "WHERE regexp_full_match(h.region_code, '\\d{12}') AND (r.k IS NULL OR r.extra <> 'village')",
            )
        refs = []
        for name in ("persons", "assistance", "applications"):
            if name in staged:
                refs.append(f"SELECT household_id FROM raw_{name}")
        if refs:
            self._known(
                "households",
                "households",
                "household_id",
                "''",
                "registry_household",
                "household_id",
                "",
                " UNION ALL ".join(refs),
            )
            for name in ("persons", "assistance", "applications"):
                if name in staged:
                    spec = next(s for s in specs if s.name == name)
                    self._collect(
                        spec,
                        "household_id",
                        f"SELECT _line, '户编号 ' || household_id || ' 不存在（户籍文件和数据库中都没有）' "
                        f"FROM raw_{name} WHERE household_id <> '' "
                        "AND household_id NOT IN (SELECT k FROM known_households)",
                    )
        person_refs = [
            f"SELECT upper(id_number) FROM raw_{n}" for n in ("assistance", "applications") if n in staged
        ]
        if "households" in staged:
            person_refs.append("SELECT upper(head_id_number) FROM raw_households")
        if person_refs:
            self._known(
                "persons",
                "persons",
                "upper(id_number)",
                "household_id",
                "registry_person",
                "id_number",
                "household_id",
                " UNION ALL ".join(person_refs),
            )
            for name in ("assistance", "applications"):
                if name in staged:
                    spec = next(s for s in specs if s.name == name)
                    self._collect(
                        spec,
                        "id_number",
                        f"SELECT _line, '身份证号码 ' || upper(id_number) || ' 不在人员名册中' "
                        f"FROM raw_{name} WHERE id_number <> '' "
                        "AND upper(id_number) NOT IN (SELECT k FROM known_persons)",
                    )
            if "households" in staged:
                spec = next(s for s in specs if s.name == "households")
                self._collect(
                    spec,
                    "head_id_number",
                    "SELECT h._line, CASE WHEN p.k IS NULL THEN '户主 ' || upper(h.head_id_number) || ' 不在人员名册中' "
                    "ELSE '户主 ' || upper(h.head_id_number) || ' 登记在户 ' || p.extra || '，不在本户' END "
                    "FROM raw_households h LEFT JOIN known_persons p ON p.k = upper(h.head_id_number) "
                    "WHERE h.head_id_number <> '' AND (p.k IS NULL OR p.extra <> h.household_id)",
                )
        if "persons" in staged:
            spec = next(s for s in specs if s.name == "persons")
            self._collect(
                spec,
                "relation",
                "SELECT _line, '户 ' || household_id || ' 有多名户主（首个在第 ' || first_line || ' 行）' FROM ("
                "SELECT _line, household_id, min(_line) OVER (PARTITION BY household_id) AS first_line "
                "FROM raw_persons WHERE relation = 'head') WHERE _line <> first_line",
            )

    def _check_region_tree_names(self) -> None:
        """County names must match the national division table python-stdnum ships."""
        spec = next(s for s in SPECS if s.name == "regions")
        rows = self.db.execute(
            "SELECT _line, code, name FROM raw_regions WHERE level = 'county' "
            "AND regexp_full_match(code, '\\d{12}')"
        ).fetchall()
        for line, code, name in rows:
            names = regions.stdnum_county_names(code[:6])
            if not names:
                reason = f"县级代码 {code[:6]} 不在国家行政区划代码表中"
            elif name not in names:
                reason = f"县级名称“{name}”与国家行政区划代码表不符（表中为 {'、'.join(names)}）"
            else:
                continue
            self.errors.append(RowError(spec.file, int(line), _label("name"), reason))

    def _check_region_tree(self) -> None:
        spec = next(s for s in SPECS if s.name == "regions")
        self._known(
            "region_parents",
            "regions",
            "code",
            "level",
            "regions_region",
            "code",
            "level",
            "SELECT parent_code FROM raw_regions",
        )
        rows = self.db.execute(
            "SELECT r._line, r.code, r.level, r.parent_code, p.extra FROM raw_regions r "
            "LEFT JOIN known_region_parents p ON p.k = r.parent_code "
            "WHERE regexp_full_match(r.code, '\\d{12}') AND r.level IN ('province', 'city', 'county', "
            "'township', 'village')"
        ).fetchall()
        for line, code, level, parent_code, parent_level in rows:
            want = regions.expected_parent_level(level)
            own = PREFIX_LENGTH[Level(level)]
            if code[own:] != "0" * (12 - own):
                reason = f"{level} 级区划代码 {code} 第 {own + 1} 位起应全为 0"
            elif want is None and parent_code:
                reason = "省级区划不应有上级区划"
            elif want is None:
                continue
            elif not parent_code:
                reason = "缺少上级区划代码"
            elif parent_level is None:
                reason = f"上级区划 {parent_code} 不存在"
            elif parent_level != want:
                reason = f"上级区划 {parent_code} 是 {parent_level} 级，应为 {want} 级"
            elif not regions.prefix_matches_parent(code, level, parent_code, parent_level):
                reason = f"区划代码 {code} 与上级区划 {parent_code} 的代码前缀不一致"
            else:
                continue
            self.errors.append(RowError(spec.file, int(line), _label("parent_code"), reason))

    # -- load --------------------------------------------------------------------------------------

    def _typed_select(self, spec: FileSpec) -> tuple[list[str], str]:
        """Target columns and a DuckDB SELECT that turns the staged strings into database values."""
        targets, exprs = [], []
        for col in spec.columns:
            c = f'"{col.name}"'
            if col.kind == "id_number":
                expr = f"upper({c})"
            elif col.kind == "date":
                expr = f"NULLIF({c}, '')"
            elif col.kind in ("money", "ratio"):
                expr = f"COALESCE(NULLIF({c}, ''), '0')"
            elif col.kind == "int":
                expr = f"COALESCE(NULLIF({c}, ''), '0')::INTEGER"
            elif col.kind == "bool":
                expr = f"lower({c}) IN ({validation.sql_list(validation.TRUE_VALUES)})"
            elif col.name == "self_care":
                expr = f"COALESCE(NULLIF({c}, ''), 'full')"
            elif col.name == "parent_code":
                expr = f"NULLIF({c}, '')"
            else:
                expr = c
            targets.append(col.target)
            exprs.append(expr)
        order = (
            "ORDER BY CASE level WHEN 'province' THEN 1 WHEN 'city' THEN 2 WHEN 'county' THEN 3 "
            "WHEN 'township' THEN 4 ELSE 5 END, code"
            if spec.name == "regions"
            else "ORDER BY _line"
        )
        return targets, f"SELECT {', '.join(exprs)} FROM raw_{spec.name} {order}"

    def _load(self, spec: FileSpec) -> None:
        targets, select = self._typed_select(spec)
        keys = [spec.column(k).target for k in spec.key]
        key_targets = [t for t in targets if t in keys]
        updates = [t for t in targets if t not in keys]
        cols = ", ".join(targets)
        conflict = ", ".join(key_targets)
        if spec.name == "assistance":
            # Imported rows carry reference '' (its database default); grants made by cases name their step.
            conflict += ", reference"
        assign = ", ".join(f"{t} = EXCLUDED.{t}" for t in updates)
        changed = " OR ".join(f"{spec.table}.{t} IS DISTINCT FROM EXCLUDED.{t}" for t in updates)
        if connection.vendor == "postgresql":
            self._load_postgres(spec, targets, select, cols, conflict, assign, changed)
        else:
            upsert = (
                f"INSERT INTO {spec.table} ({cols}) VALUES ({', '.join(['%s'] * len(targets))}) "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {assign} WHERE {changed}"
            )
            result = self.db.execute(select)
            with connection.cursor() as cursor:
                while chunk := result.fetchmany(20_000):
                    cursor.executemany(upsert, chunk)

    def _load_postgres(
        self,
        spec: FileSpec,
        targets: list[str],
        select: str,
        cols: str,
        conflict: str,
        assign: str,
        changed: str,
    ) -> None:
        staging = f"_stage_{spec.name}"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{spec.name}.csv"
            self.db.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER false)")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {cols} FROM {spec.table} WITH NO DATA"
                )
                with (
                    path.open("rb") as f,
                    cursor.cursor.copy(f"COPY {staging} ({cols}) FROM STDIN (FORMAT csv)") as copy,
                ):
                    while data := f.read(1 << 20):
                        copy.write(data)
                cursor.execute(
                    f"INSERT INTO {spec.table} ({cols}) SELECT {cols} FROM {staging} "
                    f"ON CONFLICT ({conflict}) DO UPDATE SET {assign} WHERE {changed}"
                )
                cursor.execute(f"DROP TABLE {staging}")


def _file_order(file: str) -> int:
    names = [s.file for s in SPECS]
    return names.index(file) if file in names else len(names)


def write_error_report(errors: list[RowError], path: Path) -> None:
    """A CSV a clerk opens in Excel (UTF-8 with BOM); values that could run as formulas are neutralised."""

    def safe(value: str) -> str:
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["文件", "行号", "列", "原因"])
        for e in errors:
            writer.writerow([e.file, e.line or "", safe(e.column), safe(e.reason)])
