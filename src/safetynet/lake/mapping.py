"""Mapping files that adapt a department's own export to the canonical columns (docs/data-contract.md, "Mapping")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from safetynet.tabular import FileRejected

ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "gbk": "gb18030-2022",
    "gb2312": "gb18030-2022",
    "gb18030": "gb18030-2022",
}
MAX_MAPPING_BYTES = 1 << 20


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # their header -> canonical name
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical column -> {theirs: ours}
    encoding: str | None = None  # a Python codec name, overriding detection
    sheet: str | int | None = None  # XLSX sheet name or 1-based index
    header_row: int | None = None  # 1-based; None: detect
    name: str = ""
    digest: str = ""  # part of a batch's content hash: the same bytes mapped differently are new content

    def rename(self, header: list[str]) -> list[str]:
        return [self.columns.get(h.strip(), h.strip()) for h in header]


def load_mapping(path: Path | None) -> Mapping:
    """Read and check a mapping file; every mistake is reported in Chinese, naming the key."""
    if path is None:
        return Mapping()
    if not path.is_file():
        raise FileRejected(path.name, "映射文件不存在")
    raw = path.read_bytes()
    if len(raw) > MAX_MAPPING_BYTES:
        raise FileRejected(path.name, "映射文件过大（超过 1 MB）")
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FileRejected(path.name, f"映射文件不是有效的 UTF-8 YAML：{exc}") from None
    if not isinstance(data, dict):
        raise FileRejected(path.name, "映射文件应为键值结构（columns、values、encoding、sheet、header_row）")
    unknown = set(data) - {"columns", "values", "encoding", "sheet", "header_row", "source", "description"}
    if unknown:
        raise FileRejected(path.name, f"映射文件中有未知的键：{'、'.join(sorted(map(str, unknown)))}")
    columns = data.get("columns") or {}
    values = data.get("values") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise FileRejected(path.name, "columns 应为“原表头: 标准列名”的映射")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise FileRejected(path.name, "values 应为“标准列名: {原值: 标准值}”的映射")
    encoding = data.get("encoding")
    if encoding is not None and str(encoding).lower() not in ENCODINGS:
        raise FileRejected(path.name, f"encoding 只能是 {'、'.join(sorted(ENCODINGS))} 之一")
    header_row = data.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or not 1 <= header_row <= 100):
        raise FileRejected(path.name, "header_row 应为 1 到 100 的整数")
    return Mapping(
        columns={str(k).strip(): v.strip() for k, v in columns.items()},
        values={str(col): {_text(k): _text(v) for k, v in table.items()} for col, table in values.items()},
        encoding=ENCODINGS[str(encoding).lower()] if encoding else None,
        sheet=data.get("sheet"),
        header_row=header_row,
        name=path.name,
        digest=hashlib.sha256(raw).hexdigest(),
    )


def _text(value: object) -> str:
    """YAML reads 是/否 as strings but true/1 as bool/int: compare as the file's text would read."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def builtin_mapping(source: str) -> Path:
    """The example mapping shipped for a source (Chinese headers of a typical department export)."""
    return Path(__file__).parent / "mappings" / f"{source}.yaml"
