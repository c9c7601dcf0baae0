"""Reading CSV files from other systems: encoding detection, header checks and exact line numbers."""

from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    encoding: str  # a Python codec name: utf-8-sig or gb18030-2022
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


# GB18030-2022 gives 18 characters their standard code points where GB18030-2005 (Python's codec) has
# private-use ones: ten vertical forms and eight CJK ideographs. Decoding through "gb18030-2022" maps them,
# so a name written under the 2022 standard never turns into an unreadable private-use character.
GB18030_2022 = {
    **{0xE78D + i: 0xFE10 + i for i in range(10)},
    **{pua: 0x9FB4 + i for i, pua in enumerate((0xE81E, 0xE826, 0xE82B, 0xE82C, 0xE832, 0xE843, 0xE854, 0xE864))},
}
GB18030_2022_BACK = {v: chr(k) for k, v in GB18030_2022.items()}
GB18030 = "gb18030-2022"  # the codec every GB file is read with


class _Gb2022Decoder(codecs.IncrementalDecoder):
    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._inner = codecs.getincrementaldecoder("gb18030")(errors)

    def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
        return self._inner.decode(data, final).translate(GB18030_2022)

    def reset(self) -> None:
        self._inner.reset()


class _Gb2022Encoder(codecs.IncrementalEncoder):
    def encode(self, text: str, final: bool = False) -> bytes:  # type: ignore[override]
        return text.translate(GB18030_2022_BACK).encode("gb18030", self.errors)


def _gb2022_decode(data: Any, errors: str = "strict") -> tuple[str, int]:
    return bytes(data).decode("gb18030", errors).translate(GB18030_2022), len(data)


def _gb2022_encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    return text.translate(GB18030_2022_BACK).encode("gb18030", errors), len(text)


def _gb2022_search(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != "gb18030_2022":
        return None
    inner = codecs.lookup("gb18030")
    return codecs.CodecInfo(
        _gb2022_encode,
        _gb2022_decode,
        streamreader=inner.streamreader,
        streamwriter=inner.streamwriter,
        incrementalencoder=_Gb2022Encoder,
        incrementaldecoder=_Gb2022Decoder,
        name="gb18030-2022",
    )


codecs.register(_gb2022_search)


def looks_like_chinese(sample: bytes) -> bool:
    """Whether bytes read as GB18030 give Chinese text rather than another encoding's bytes misread.

    Names and addresses use mostly common characters (GB2312); rare name characters (生僻字) are either
    in GBK's wider set or 4-byte GB18030 sequences. Bytes of Big5, Shift-JIS and the like also decode,
    but to characters spread over all of GBK, including its symbol and user-defined (private-use) areas,
    which Chinese text almost never uses. So: at least 40 % common or 4-byte ideographs, and at most 1 %
    of characters that are neither ideographs nor punctuation."""
    text = sample.decode("gb18030", errors="ignore").translate(GB18030_2022)
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    common = stray = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            common += 1
            continue
        except UnicodeEncodeError:
            pass
        ideograph = "CJK" in unicodedata.name(ch, "")
        if ideograph and (ord(ch) > 0xFFFF or 0x3400 <= ord(ch) <= 0x4DBF):
            common += 1  # a 4-byte sequence: random bytes almost never form one
        elif not ideograph and unicodedata.category(ch)[0] not in "PZS":
            stray += 1
    return common / len(wide) >= 0.4 and stray / len(wide) <= 0.01


def _utf8_line(sample: bytes) -> int:
    """The third line (numbered from 1) that reads as UTF-8 with two or more Chinese characters, or 0. In a
    file that is not UTF-8 as a whole, such lines were written in another encoding than the rest (two
    exports joined). A GBK line forms two valid 3-byte UTF-8 sequences about once in 300,000 lines of
    random characters, so one or two such lines prove nothing; three in one sample do."""
    found = 0
    for number, line in enumerate(sample.split(b"\n"), 1):
        if max(line, default=0) < 0x80:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if sum(1 for ch in text if ord(ch) >= 0x3400) >= 2:
            found += 1
            if found == 3:
                return number
    return 0


def detect_encoding(path: Path, utf8: bool | None = None) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8; else GB18030 (read as GB18030-2022,
    4-byte sequences included) when the whole file decodes and the text reads as Chinese; else a clear
    refusal: never a silent wrong guess, and never half of a file read in one encoding and half in another."""
    if utf8 if utf8 is not None else is_utf8(path):
        return "utf-8-sig"
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    best = from_bytes(sample).best()
    guessed = best.encoding.lower() if best else "unknown"
    offset = 0
    try:
        with path.open("rb") as f:
            gb_decoder = codecs.getincrementaldecoder("gb18030")()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                gb_decoder.decode(chunk)
                offset += len(chunk)
            gb_decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        offset += exc.start
        raise FileRejected(
            path.name,
            f"无法识别文件编码（检测为 {guessed}；按 GB18030 读到第 {offset + 1} 字节附近出错，"
            "文件可能混用了多种编码），请另存为 UTF-8 或 GB18030/GBK 编码的 CSV",
        ) from None
    utf8_line = _utf8_line(sample)
    if utf8_line:
        raise FileRejected(
            path.name,
            f"文件混用了多种编码：到第 {utf8_line} 行已有 3 行是 UTF-8，其余不是。请整个文件另存为 UTF-8 或 GB18030/GBK 编码的 CSV",
        )
    if guessed in CHINESE_ENCODINGS or looks_like_chinese(sample):
        return GB18030
    raise FileRejected(
        path.name,
        f"无法识别文件编码（检测为 {guessed}，按 GB18030 读出的不像中文），请另存为 UTF-8 或 GB18030/GBK 编码的 CSV",
    )


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
