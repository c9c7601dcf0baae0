"""Reading CSV files from other systems: encoding detection, header checks and exact line numbers."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

# Encodings an export from a Chinese government system may legitimately use; all decode as GB18030.
CHINESE_ENCODINGS = {"gb18030", "gbk", "gb2312", "cp936", "hz"}
SAMPLE_BYTES = 1 << 20
MAX_FIELD_CHARS = 10_000  # a longer field is a broken file (an unclosed quote), not data


def excel_safe(text: str) -> str:
    """A cell that a spreadsheet would run as a formula (=, +, -, @) is written as text instead."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class FileRejected(Exception):
    """The whole file cannot be read: wrong encoding, no header, a missing column."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class CsvSource:
    path: Path
    encoding: str  # a Python codec name: utf-8-sig or gb18030
    sha256: str
    header: list[str]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def looks_like_chinese(sample: bytes) -> bool:
    """Whether bytes read as GB18030 give Chinese text. Names and addresses use common characters, nearly
    all inside GB2312; bytes of another encoding decode to characters spread over all of GBK's 21,886."""
    text = sample.decode("gb18030", errors="ignore")
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(wide) >= 0.85


def detect_encoding(path: Path, utf8: bool | None = None) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8; else GB18030 when charset-normalizer
    names a Chinese encoding or the text reads as Chinese, and the whole file decodes; else a clear
    refusal: never a silent wrong guess."""
    if utf8 if utf8 is not None else is_utf8(path):
        return "utf-8-sig"
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    best = from_bytes(sample).best()
    guessed = best.encoding.lower() if best else "unknown"
    if guessed in CHINESE_ENCODINGS or looks_like_chinese(sample):
        try:
            with path.open("rb") as f:
                gb_decoder = codecs.getincrementaldecoder("gb18030")()
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    gb_decoder.decode(chunk)
                gb_decoder.decode(b"", final=True)
            return "gb18030"
        except UnicodeDecodeError:
            pass
    raise FileRejected(path.name, f"无法识别文件编码（检测为 {guessed}），请另存为 UTF-8 或 GBK 编码的 CSV")


def open_csv(path: Path, required: list[str], known: list[str]) -> CsvSource:
    """Check encoding and header; a missing required column or a repeated header rejects the file."""
    if not path.is_file():
        raise FileRejected(path.name, "文件不存在")
    if path.stat().st_size == 0:
        raise FileRejected(path.name, "文件为空，没有表头")
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        try:
            header = [h.strip() for h in next(csv.reader(f))]
        except StopIteration:
            raise FileRejected(path.name, "文件为空，没有表头") from None
        except csv.Error as exc:
            raise FileRejected(path.name, f"表头无法解析：{exc}") from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise FileRejected(path.name, f"表头中列名重复：{'、'.join(repeated)}")
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRejected(path.name, f"缺少必需的列：{'、'.join(missing)}")
    del known  # extra columns are allowed and ignored: departments add their own
    return CsvSource(path=path, encoding=encoding, sha256=sha256_of(path), header=header)


@dataclass(frozen=True)
class RaggedRow:
    line: int
    fields: int
    raw: str = ""  # the record as read, for a quarantine a clerk can fix it from


def iter_rows(source: CsvSource, columns: list[str]) -> Iterator[tuple[int, list[str]] | RaggedRow]:
    """Yield (line number where the record starts, values of `columns`) for each record.

    A record whose field count differs from the header yields RaggedRow so it can be reported with
    its line; blank lines are skipped.
    """
    positions = [source.header.index(c) if c in source.header else -1 for c in columns]
    width = len(source.header)
    csv.field_size_limit(MAX_FIELD_CHARS)
    with source.path.open(encoding=source.encoding, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        start = reader.line_num + 1
        try:
            for record in reader:
                if not record:
                    start = reader.line_num + 1
                    continue
                if len(record) != width:
                    yield RaggedRow(line=start, fields=len(record), raw=",".join(record)[:500])
                else:
                    yield start, [record[p].strip() if p >= 0 else "" for p in positions]
                start = reader.line_num + 1
        except csv.Error as exc:
            raise FileRejected(
                source.path.name, f"第 {start} 行起无法解析（{exc}），可能有未闭合的引号"
            ) from None
        except UnicodeDecodeError:
            raise FileRejected(
                source.path.name, f"第 {start} 行附近的内容不是 {source.encoding} 编码"
            ) from None
