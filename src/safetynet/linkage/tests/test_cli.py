"""`safetynet link IN.csv OUT.csv` as the contract says, with every kind of bad input a county sends."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetynet.cli import app
from safetynet.linkage.batch import OUT_COLUMNS, link_file
from safetynet.linkage.tests.conftest import AS_OF
from safetynet.registry.models import Person
from safetynet.tabular import FileRejected

pytestmark = pytest.mark.django_db
HEADER = [
    "record_id",
    "name",
    "id_number",
    "phone",
    "birth_date",
    "age",
    "gender",
    "region_code",
    "address_text",
]


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8", header: list[str] = HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_link_command_writes_one_row_per_input_row(demo_county: Path, tmp_path: Path) -> None:
    person = Person.objects.exclude(phone="").order_by("id_number").first()
    assert person is not None
    rows = [
        ["A1", person.name, person.id_number, "", "", "", "男" if person.gender == "M" else "女", "", ""],
        ["A2", person.name, "", f"+86 {person.phone}", "", "", "", "", ""],
        ["A3", "查无此人", "", "", "1900-01-01", "", "", "", ""],
        ["A1", person.name, "", "", "", "", "", "", ""],  # a repeated record_id is linked and counted
        ["=cmd|' /C calc'!A0", "张三", "", "", "", "", "", "", ""],  # formula injection in the record id
        ["A6", "李四", "", "", "生日不详", "", "", "", ""],  # a field that cannot be read
    ]
    src = _write(tmp_path / "in.csv", rows, encoding="gb18030")  # an old department system's GBK export
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["link", str(src), str(out), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert (
        "rows=6" in result.output
        and "duplicate_record_ids=1" in result.output
        and "errors=1" in result.output
    )
    written = _read(out)
    assert list(written[0]) == OUT_COLUMNS
    assert [r["record_id"] for r in written] == ["A1", "A2", "A3", "A1", "'=cmd|' /C calc'!A0", "A6"]
    assert written[0]["decision"] == "match" and written[0]["id_number"] == person.id_number
    assert written[0]["household_id"] == person.household_id and float(written[0]["probability"]) > 0.99
    assert written[1]["id_number"] == person.id_number  # name and phone, written with +86
    assert written[2]["decision"] == "unknown" and written[2]["id_number"] == ""
    assert written[5]["decision"] == "unknown" and "出生日期" in written[5]["explanation"]
    for row in written:
        assert 0 <= float(row["probability"]) <= 1 and row["explanation"]
        assert row["decision"] in ("match", "review", "unknown")


def test_whole_file_problems_are_refused_with_a_reason(demo_county: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(FileRejected, match="为空"):
        link_file(empty, out, AS_OF)
    useless = _write(tmp_path / "useless.csv", [["1", "x"]], header=["编号", "备注"])
    with pytest.raises(FileRejected, match="没有可用于匹配的列"):
        link_file(useless, out, AS_OF)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(FileRejected, match="编码"):
        link_file(binary, out, AS_OF)
    repeated = _write(tmp_path / "repeated.csv", [["1", "a", "b"]], header=["record_id", "name", "name"])
    with pytest.raises(FileRejected, match="重复"):
        link_file(repeated, out, AS_OF)
    result = CliRunner().invoke(app, ["link", str(useless), str(out)])
    assert result.exit_code == 2 and "没有可用于匹配的列" in result.output


def test_header_only_ragged_rows_extra_columns_and_oversize_fields(demo_county: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    header_only = _write(tmp_path / "header.csv", [])
    assert link_file(header_only, out, AS_OF).rows == 0 and len(_read(out)) == 0
    src = tmp_path / "odd.csv"
    src.write_text(
        "record_id,name,phone,部门备注\n"
        "B1,王五,13800000000,额外的列被忽略\n"
        "B2,赵六\n"  # too few fields: reported, not dropped
        f"B3,{'长' * 5000},{'9' * 5000},x\n",  # oversize fields are cut, not trusted
        encoding="utf-8",
    )
    summary = link_file(src, out, AS_OF)
    written = _read(out)
    assert summary.rows == 3 and len(written) == 3
    assert written[1]["decision"] == "unknown" and "列数与表头不符" in written[1]["explanation"]
    assert written[2]["decision"] == "unknown"


def test_a_large_file_streams_in_chunks(demo_county: Path, tmp_path: Path) -> None:
    persons = list(Person.objects.values_list("name", "birth_date", "household__region_code")[:500])
    rows = [[f"R{i}", n, "", "", b.isoformat(), "", "", r, ""] for i, (n, b, r) in enumerate(persons * 10)]
    src = _write(tmp_path / "big.csv", rows)
    summary = link_file(src, tmp_path / "out.csv", AS_OF)
    assert summary.rows == 5000 and summary.decisions["match"] >= 4500
