"""Read a feed file (CSV, XLSX, JSON Lines) as Arrow batches of strings under canonical column names.

Every batch carries `_line` (where the row is in the file, for a clerk) and `_record` (its 1-based
position among the data rows, the same whatever the format, for provenance). CSV takes a fast path
through Arrow's C++ parser when line numbers are exact without help (no blank lines, no line breaks
inside quoted values); otherwise, or when the fast path meets a malformed row, the exact Python reader
takes over and reports malformed rows by line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from safetynet.lake.mapping import Mapping
from safetynet.lake.sources import FeedSpec
from safetynet.tabular import CsvSource, FileRejected, RaggedRow, detect_encoding, iter_rows

BATCH_ROWS = 250_000
BLOCK_BYTES = 2 << 20  # the CSV parser's block: its read-ahead holds about 32 of them per reader
SCAN_BYTES = 16 << 20
SPLIT_BYTES = 64 << 20  # a CSV file from this size is read in byte ranges by several threads,
STREAMS = max(1, min(4, os.cpu_count() or 1))  # one per core
PARSE_THREADS = True  # Arrow parses the next blocks in its own threads while DuckDB checks this one


@dataclass
class ReadError:
    line: int
    reason: str
    raw: str = ""


@dataclass
class FeedFile:
    """What was learnt about a file before reading its rows."""

    path: Path
    file_format: str  # csv, xlsx, jsonl
    sha256: str
    encoding: str = ""
    header: list[str] = field(default_factory=list)  # canonical names after the mapping
    exact_lines: bool = True  # the CSV fast path gives exact line numbers
    errors: list[ReadError] = field(default_factory=list)  # rows the reader itself could not take
    scan: Scan | None = None  # line breaks and cuts, for the CSV fast path


class FastPathFailed(Exception):
    """The Arrow CSV parser met a row it cannot place; read again with the exact reader."""


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"


@dataclass
class Scan:
    """What one pass over a file's bytes tells before any row is read."""

    sha256: str
    utf8: bool  # the first block reads as UTF-8
    blank: bool  # some line is empty: the CSV fast path cannot number lines exactly
    newlines: int = 0
    ends_with_newline: bool = True
    cuts: list[tuple[int, int]] = field(default_factory=list)  # (offset just after a '\n', '\n's before it)


def scan(path: Path, parts: int = 1, while_hashing: Callable[[], None] | None = None) -> Scan:
    """One pass over the bytes: sha256, whether the first block reads as UTF-8, whether there are blank
    lines, how many newlines, and `parts - 1` cuts at the first line break after each 1/parts of the file
    (with the newlines before each cut), where the CSV fast path may split the file between readers.

    Only a sample decides the encoding: Arrow's parser validates UTF-8 as it goes, and a file that turns
    out not to be UTF-8 further down falls back to the exact reader, which names the line. The hash runs
    in a thread of its own (hashlib releases the GIL) while numpy looks for line breaks.
    """
    digest = hashlib.sha256()

    def hash_all() -> None:
        buffer = bytearray(SCAN_BYTES)
        view = memoryview(buffer)
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])

    hasher = threading.Thread(target=hash_all, name="ingest-hash", daemon=True)
    hasher.start()
    size = path.stat().st_size
    targets = [size * k // parts for k in range(1, parts)]
    cuts: list[tuple[int, int]] = []
    utf8 = True
    blank = False
    newlines = 0
    last_newline = -2  # position of the previous '\n'
    tail = b""  # the last byte read
    base = 0
    buffer = bytearray(SCAN_BYTES)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buffer):
            data = np.frombuffer(buffer, dtype=np.uint8, count=n)
            if base == 0:
                try:
                    codecs.getincrementaldecoder("utf-8")().decode(bytes(buffer[:n]))
                except UnicodeDecodeError:
                    utf8 = False
            at = np.flatnonzero(data == 10)
            if not blank and at.size:
                # "\n\n" or "\n\r\n": a newline one byte after the previous, or two with a CR between
                gaps = np.diff(at, prepend=last_newline - base)
                if (gaps == 1).any():
                    blank = True
                else:
                    two = at[gaps == 2] - 1
                    inside = two[two >= 0]
                    blank = bool((data[inside] == 13).any()) or (bool((two < 0).any()) and tail == b"\r")
            while targets and at.size and at[-1] + base >= targets[0]:
                i = int(np.searchsorted(at, targets[0] - base))
                cuts.append((int(at[i]) + base + 1, newlines + i + 1))
                targets.pop(0)
            if at.size:
                last_newline = int(at[-1]) + base
                newlines += at.size
            tail = bytes(buffer[n - 1 : n])
            base += n
    if while_hashing is not None:  # the hash takes longer than the line breaks: other work meanwhile
        while_hashing()
    hasher.join()
    cuts = sorted({c for c in cuts if c[0] < size})  # a cut at the very end splits nothing
    return Scan(digest.hexdigest(), utf8, blank, newlines, tail in (b"\n", b""), cuts)


def parts_for(path: Path, file_format: str) -> int:
    """How many threads read a file side by side: one per core (at most four) for a large CSV file."""
    return STREAMS if file_format == "csv" and path.stat().st_size >= SPLIT_BYTES else 1


def scan_ahead(path: Path) -> Future[Scan]:
    """`scan` of the file, split as `parts_for` would read it, started now in a thread of its own for a
    caller with other work first: the command line starts it before Django's set-up and its imports,
    which hold one core while the hash and the line-break scan use the other. A file that cannot be read
    leaves its error in the future; the ingest names the problem before it asks for the result."""
    future: Future[Scan] = Future()

    def run() -> None:
        try:
            future.set_result(scan(path, parts_for(path, detect_format(path))))
        except BaseException as exc:  # kept for whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="ingest-scan", daemon=True).start()
    return future


def choose_encoding(path: Path, utf8: bool, override: str | None) -> str:
    return override or detect_encoding(path, utf8)


def check_header(name: str, header: list[str], spec: FeedSpec) -> None:
    if not [h for h in header if h]:
        raise FileRejected(name, "文件为空，没有表头")
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise FileRejected(name, f"表头中列名重复：{'、'.join(repeated)}")
    missing = [c for c in spec.required_headers if c not in header]
    if missing:
        raise FileRejected(name, f"缺少必需的列：{'、'.join(missing)}")


Row = tuple[int, int, list[str]]  # (line, record, values in header order)


def batched(header: list[str], rows: Iterator[Row]) -> Iterator[pa.RecordBatch]:
    """Gather rows read one by one into Arrow batches of BATCH_ROWS (always at least one, maybe empty)."""
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= BATCH_ROWS:
            yield _batch(header, chunk)
            chunk = []
    yield _batch(header, chunk)


def _batch(header: list[str], chunk: list[Row]) -> pa.RecordBatch:
    columns = list(zip(*(values for _, _, values in chunk), strict=True)) if chunk else [() for _ in header]
    arrays = [pa.array([r[0] for r in chunk], pa.int64()), pa.array([r[1] for r in chunk], pa.int64())]
    arrays += [pa.array(col, pa.string()) for col in columns]
    return pa.RecordBatch.from_arrays(arrays, names=["_line", "_record", *header])


# -- CSV --------------------------------------------------------------------------------------------


def open_csv(path: Path, spec: FeedSpec, mapping: Mapping, scanned: Scan) -> FeedFile:
    encoding = choose_encoding(path, scanned.utf8, mapping.encoding)
    try:
        with path.open(encoding=encoding, newline="") as f:
            raw_header = next(csv.reader(f), [])
    except UnicodeDecodeError:
        raise FileRejected(path.name, f"文件不是 {encoding} 编码") from None
    except csv.Error as exc:
        raise FileRejected(path.name, f"表头无法解析：{exc}") from None
    header = mapping.rename(raw_header)
    check_header(path.name, header, spec)
    broken = any("\n" in h or "\r" in h for h in raw_header)  # a header spanning lines
    return FeedFile(
        path, "csv", scanned.sha256, encoding, header, exact_lines=not (scanned.blank or broken), scan=scanned
    )


def read_csv(feed: FeedFile, exact: bool) -> Iterator[pa.RecordBatch]:
    """The whole file as one stream: the exact reader, or the fast path when lines are exact."""
    if exact or not feed.exact_lines:
        return _read_csv_exact(feed)
    return csv_streams(feed, parts=1)[0]


def csv_streams(feed: FeedFile, parts: int) -> list[Iterator[pa.RecordBatch]]:
    """The fast path over up to `parts` byte ranges of the file, split where `scan` cut it at line breaks,
    each to be read by its own thread. Records and lines are numbered from the newlines before each cut.

    A range whose records do not match its lines one to one (a quoted value spanning lines, a lone CR,
    a row Arrow cannot place) raises FastPathFailed once read, and the whole file goes the exact way.
    """
    scanned = feed.scan
    assert scanned is not None
    size = feed.path.stat().st_size
    cuts = scanned.cuts[: parts - 1] if feed.encoding in ("utf-8", "utf-8-sig") else []
    starts = [0] + [offset for offset, _ in cuts]
    ends = starts[1:] + [size]
    # record numbers: the header is line 1, and from then on every line is one record
    firsts = [1] + [newlines for _, newlines in cuts]
    total = scanned.newlines - 1 + (0 if scanned.ends_with_newline else 1)
    counts = [b - a for a, b in zip(firsts, [*firsts[1:], total + 1], strict=True)]
    return [
        _read_csv_fast(feed, start, end - start, first, count)
        for start, end, first, count in zip(starts, ends, firsts, counts, strict=True)
    ]


def _read_csv_fast(
    feed: FeedFile, start: int, length: int, first: int, expected: int
) -> Iterator[pa.RecordBatch]:
    width = len(feed.header)
    placeholder = [f"c{i}" for i in range(width)]  # header names may repeat case or be empty
    seen = 0
    last: pa.RecordBatch | None = None
    file = pa.OSFile(str(feed.path))
    try:
        reader = pacsv.open_csv(
            file.get_stream(start, length),
            read_options=pacsv.ReadOptions(
                encoding="utf8" if feed.encoding == "utf-8-sig" else feed.encoding,
                skip_rows=1 if start == 0 else 0,
                column_names=placeholder,
                block_size=BLOCK_BYTES,
                use_threads=PARSE_THREADS,
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in placeholder},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            n = batch.num_rows
            if not n:
                continue
            records = pa.array(np.arange(first + seen, first + seen + n, dtype=np.int64))
            lines = pc.add(records, 1)  # header on line 1, one record per line on this path
            columns = [trimmed(batch.column(i)) for i in range(width)]
            last = batch
            yield pa.RecordBatch.from_arrays(
                [lines, records, *columns], names=["_line", "_record", *feed.header]
            )
            seen += n
    except pa.ArrowInvalid as exc:
        raise FastPathFailed(str(exc)) from None
    finally:
        file.close()
    if seen != expected:
        raise FastPathFailed(f"{seen} records on {expected} lines")
    if last is not None and any(
        "\n" in v or "\r" in v for v in last.slice(last.num_rows - 1).to_pylist()[0].values()
    ):
        raise FastPathFailed("the last record ends inside a quoted value")


def trimmed(column: pa.Array) -> pa.Array:
    """`pc.utf8_trim_whitespace(column)`, or the column itself when its bytes hold no whitespace at all.

    The trim copies every value (a quarter of the CPU the Arrow side spends on a clean feed). Whitespace
    needs a byte at or below 0x20 (ASCII whitespace, control characters) or one that opens a wider
    whitespace character: C2 (U+0085, U+00A0), E1, E2, E3 (U+1680, U+2000-U+205F, U+3000, the
    ideographic space). Three sequential passes over the column's bytes rule them all out for the usual
    column; a false alarm (CJK punctuation also opens with E3) only costs the trim.
    """
    data = column.buffers()[2] if column.type == pa.string() else None
    if data is None:  # another type, or no bytes at all
        return column if column.type == pa.string() else pc.utf8_trim_whitespace(column)
    text = np.frombuffer(data, dtype=np.uint8)
    if (text <= 0x20).any() or (text == 0xC2).any() or ((text - np.uint8(0xE1)) <= 2).any():
        return pc.utf8_trim_whitespace(column)
    return column


def _read_csv_exact(feed: FeedFile) -> Iterator[pa.RecordBatch]:
    """Python's csv module, record by record: exact lines through blank lines and quoted line breaks."""
    source = CsvSource(path=feed.path, encoding=feed.encoding, sha256=feed.sha256, header=feed.header)
    width = len(feed.header)

    def rows() -> Iterator[Row]:
        for record, item in enumerate(iter_rows(source, feed.header), start=1):
            if isinstance(item, RaggedRow):
                feed.errors.append(
                    ReadError(item.line, f"该行有 {item.fields} 列，表头有 {width} 列", item.raw)
                )
            else:
                yield item[0], record, item[1]

    yield from batched(feed.header, rows())


# -- XLSX -------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """Excel cells as the text a clerk typed: dates ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # repr keeps every digit Excel stored, so 12.345 stays invalid money rather than rounding.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    return str(value).strip()


def open_xlsx(path: Path, spec: FeedSpec, mapping: Mapping, sha256: str) -> tuple[FeedFile, int]:
    """Find the header row: the one given by the mapping, else the first of the top 20 rows that holds
    every required column. Rows above it (a merged title such as “2026年11月结算明细”) are skipped."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken or disguised file
        raise FileRejected(path.name, f"无法打开 Excel 文件：{type(exc).__name__}") from None
    try:
        sheet = _sheet(book, mapping.sheet, path.name)
        for number, row in enumerate(sheet.iter_rows(max_row=20, values_only=True), start=1):
            header = mapping.rename([_cell_text(v) for v in row])
            wanted = mapping.header_row or 0
            if number == wanted or (not wanted and all(c in header for c in spec.required_headers)):
                while header and not header[-1]:
                    header.pop()
                check_header(path.name, header, spec)
                return FeedFile(path, "xlsx", sha256, "", header), number
    finally:
        book.close()
    missing = "、".join(spec.required_headers)
    raise FileRejected(path.name, f"前 20 行中找不到包含必需列（{missing}）的表头行")


def _sheet(book, wanted: str | int | None, name: str):  # type: ignore[no-untyped-def]
    if wanted is None:
        return book.worksheets[0]
    if isinstance(wanted, int):
        if not 1 <= wanted <= len(book.worksheets):
            raise FileRejected(name, f"工作簿没有第 {wanted} 个工作表")
        return book.worksheets[wanted - 1]
    if wanted not in book.sheetnames:
        raise FileRejected(name, f"工作簿中没有名为“{wanted}”的工作表")
    return book[wanted]


def read_xlsx(feed: FeedFile, mapping: Mapping, header_row: int) -> Iterator[pa.RecordBatch]:
    from openpyxl import load_workbook

    width = len(feed.header)
    book = load_workbook(feed.path, read_only=True, data_only=True)

    def rows() -> Iterator[Row]:
        sheet = _sheet(book, mapping.sheet, feed.path.name)
        record = 0
        for number, row in enumerate(
            sheet.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
        ):
            values = [_cell_text(v) for v in row[:width]]
            if any(values):
                record += 1
                yield number, record, values + [""] * (width - len(values))

    try:
        yield from batched(feed.header, rows())
    finally:
        book.close()


# -- JSON Lines -------------------------------------------------------------------------------------


def _json_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def open_jsonl(path: Path, spec: FeedSpec, mapping: Mapping, sha256: str, utf8: bool) -> FeedFile:
    """The header is every key seen in the first 1,000 objects, in order of first appearance."""
    encoding = choose_encoding(path, utf8, mapping.encoding)
    keys: dict[str, None] = {}
    with path.open(encoding=encoding) as f:
        for _, line in zip(range(1000), f, strict=False):
            try:
                item = json.loads(line)
            except (json.JSONDecodeError, RecursionError):  # nested deeper than any real record
                continue
            if isinstance(item, dict):
                keys.update(dict.fromkeys(mapping.columns.get(str(k), str(k)) for k in item))
    header = list(keys)
    if not header:
        raise FileRejected(path.name, "文件中没有任何 JSON 对象")
    check_header(path.name, header, spec)
    return FeedFile(path, "jsonl", sha256, encoding, header)


SURROGATE = re.compile("[\ud800-\udfff]")


def read_jsonl(feed: FeedFile, mapping: Mapping) -> Iterator[pa.RecordBatch]:
    position = {name: i for i, name in enumerate(feed.header)}

    def rows() -> Iterator[Row]:
        record = 0
        with feed.path.open(encoding=feed.encoding) as f:
            for number, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                record += 1
                try:
                    item = json.loads(text)
                except json.JSONDecodeError as exc:
                    feed.errors.append(ReadError(number, f"不是有效的 JSON：{exc.msg}", text[:500]))
                    continue
                except RecursionError:
                    feed.errors.append(ReadError(number, "JSON 嵌套层数过多，不是一行数据记录", text[:500]))
                    continue
                if not isinstance(item, dict):
                    feed.errors.append(ReadError(number, "每行应为一个 JSON 对象", text[:500]))
                    continue
                values = [""] * len(position)
                for key, value in item.items():
                    name = mapping.columns.get(str(key), str(key))
                    if name in position:
                        values[position[name]] = _json_text(value)
                if any(SURROGATE.search(v) for v in values):
                    # "\ud800" in JSON is no character at all: Parquet and the database could not keep it.
                    feed.errors.append(ReadError(number, "含有无效的 Unicode 字符（孤立的代理码点）", text[:500]))
                    continue
                yield number, record, values

    yield from batched(feed.header, rows())


def recode(batch: pa.RecordBatch, mapping: Mapping) -> pa.RecordBatch:
    """Apply the mapping's value tables column-wise (男 -> M, 一级 -> 1 …); unmapped values stay."""
    if not mapping.values:
        return batch
    arrays = list(batch.columns)
    for name, table in mapping.values.items():
        if name not in batch.schema.names:
            continue
        i = batch.schema.get_field_index(name)
        index = pc.index_in(arrays[i], value_set=pa.array(list(table), pa.string()))
        mapped = pc.take(pa.array(list(table.values()), pa.string()), index)
        arrays[i] = pc.coalesce(mapped, arrays[i])
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)
