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
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from safetynet.lake.mapping import Mapping
from safetynet.lake.sources import FeedSpec
from safetynet.tabular import CsvSource, FileRejected, RaggedRow, detect_encoding, iter_rows

BATCH_ROWS = 250_000
BLOCK_BYTES = 16 << 20


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


def scan(path: Path) -> tuple[str, bool, bool]:
    """One pass over the bytes: sha256, whether the first block reads as UTF-8, whether there are blank lines.

    Only a sample decides the encoding: Arrow's parser validates UTF-8 as it goes, and a file that turns
    out not to be UTF-8 further down falls back to the exact reader, which names the line.
    """
    digest = hashlib.sha256()
    utf8 = True
    blank = False
    tail = b""
    with path.open("rb") as f:
        first = True
        while chunk := f.read(BLOCK_BYTES):
            digest.update(chunk)
            if first:
                try:
                    codecs.getincrementaldecoder("utf-8")().decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
                first = False
            if not blank:
                window = tail + chunk
                blank = b"\n\n" in window or b"\n\r\n" in window
                tail = chunk[-2:]
    return digest.hexdigest(), utf8, blank


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


def open_csv(path: Path, spec: FeedSpec, mapping: Mapping, sha256: str, utf8: bool, blank: bool) -> FeedFile:
    encoding = choose_encoding(path, utf8, mapping.encoding)
    try:
        with path.open(encoding=encoding, newline="") as f:
            raw_header = next(csv.reader(f), [])
    except UnicodeDecodeError:
        raise FileRejected(path.name, f"文件不是 {encoding} 编码") from None
    except csv.Error as exc:
        raise FileRejected(path.name, f"表头无法解析：{exc}") from None
    header = mapping.rename(raw_header)
    check_header(path.name, header, spec)
    return FeedFile(path, "csv", sha256, encoding, header, exact_lines=not blank)


def read_csv(feed: FeedFile, exact: bool) -> Iterator[pa.RecordBatch]:
    if exact or not feed.exact_lines:
        yield from _read_csv_exact(feed)
    else:
        yield from _read_csv_fast(feed)


def _read_csv_fast(feed: FeedFile) -> Iterator[pa.RecordBatch]:
    width = len(feed.header)
    placeholder = [f"c{i}" for i in range(width)]  # header names may repeat case or be empty
    seen = 0
    try:
        reader = pacsv.open_csv(
            feed.path,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if feed.encoding == "utf-8-sig" else feed.encoding,
                skip_rows=1,
                column_names=placeholder,
                block_size=BLOCK_BYTES,
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
            records = pa.array(range(seen + 1, seen + n + 1), pa.int64())
            lines = pc.add(records, 1)  # header on line 1, one record per line on this path
            columns = [pc.utf8_trim_whitespace(batch.column(i)) for i in range(width)]
            yield pa.RecordBatch.from_arrays(
                [lines, records, *columns], names=["_line", "_record", *feed.header]
            )
            seen += n
    except pa.ArrowInvalid as exc:
        raise FastPathFailed(str(exc)) from None


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
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                keys.update(dict.fromkeys(mapping.columns.get(str(k), str(k)) for k in item))
    header = list(keys)
    if not header:
        raise FileRejected(path.name, "文件中没有任何 JSON 对象")
    check_header(path.name, header, spec)
    return FeedFile(path, "jsonl", sha256, encoding, header)


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
                if not isinstance(item, dict):
                    feed.errors.append(ReadError(number, "每行应为一个 JSON 对象", text[:500]))
                    continue
                values = [""] * len(position)
                for key, value in item.items():
                    name = mapping.columns.get(str(key), str(key))
                    if name in position:
                        values[position[name]] = _json_text(value)
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
