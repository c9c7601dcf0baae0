"""Registry import: all or nothing, idempotent, and every bad row reported with file, line, column, reason."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.registry import services
from safetynet.registry.importer import write_error_report
from safetynet.registry.models import Application, Assistance, Household, ImportBatch, Person, Standard
from safetynet.tabular import FileRejected

pytestmark = pytest.mark.django_db


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.reader(f))


def rewrite(path: Path, table: list[list[str]], encoding: str = "utf-8") -> None:
    testing.write_csv(path, table[0], table[1:], encoding=encoding)


def nothing_loaded() -> bool:
    return not (Household.objects.exists() or Person.objects.exists() or Assistance.objects.exists())


def test_county_imports_and_second_import_is_a_no_op(county_dir: Path) -> None:
    first = services.import_registry(county_dir)
    assert first.errors == []
    assert first.counts == {
        "regions": 8,
        "households": 3,
        "persons": 5,
        "assistance": 2,
        "applications": 2,
        "standards": 8,
    }
    assert first.summary_line == f"accepted=28 rejected=0 batch={first.batch_id}"
    wang = Person.objects.get(name="王建国")
    assert wang.household_id == "H001" and wang.monthly_income == Decimal("800.00")
    assert Household.objects.get(pk="H002").head_id_number == Person.objects.get(name="张桂兰").id_number
    assert Standard.objects.get(county_code="371522", year=2025, area_type="rural").dibao_monthly == 780

    second = services.import_registry(county_dir)
    assert second.already_imported
    assert second.summary_line == f"accepted=0 rejected=0 batch={first.batch_id} already ingested"
    assert ImportBatch.objects.count() == 1


def test_changed_content_updates_in_place_without_duplicates(county_dir: Path) -> None:
    services.import_registry(county_dir)
    table = rows(county_dir / "persons.csv")
    table[1][12] = "1200"  # 王建国's income
    rewrite(county_dir / "persons.csv", table)
    result = services.import_registry(county_dir)
    assert not result.errors and not result.already_imported
    assert (
        Person.objects.count() == 5 and Assistance.objects.count() == 2 and Application.objects.count() == 2
    )
    assert Person.objects.get(name="王建国").monthly_income == Decimal("1200.00")


def test_bad_check_digit_unknown_region_duplicate_id_reported_per_row_and_nothing_lands(
    county_dir: Path,
) -> None:
    persons = rows(county_dir / "persons.csv")
    good = persons[2][0]
    persons[2][0] = good[:-1] + ("0" if good[-1] != "0" else "1")  # line 3: wrong check digit
    persons.append(list(persons[5]))  # line 7: duplicate of line 6's ID (刘强)
    persons[6][4] = "H001"
    persons[6][5] = "child"
    rewrite(county_dir / "persons.csv", persons)
    households = rows(county_dir / "households.csv")
    households[3][1] = "371522109999"  # line 4: no such village
    rewrite(county_dir / "households.csv", households)

    result = services.import_registry(county_dir)

    assert nothing_loaded()
    reasons = {(e.file, e.line, e.column.split("(")[1].rstrip(")")): e.reason for e in result.errors}
    assert "校验位错误" in reasons[("persons.csv", 3, "id_number")]
    assert "身份证号码重复（首次出现在第 6 行）" in reasons[("persons.csv", 7, "id_number")]
    assert reasons[("households.csv", 4, "region_code")] == "区划代码 371522109999 不存在"
    assert result.rejected == 3
    assert result.summary_line == f"accepted=0 rejected=3 batch={result.batch_id}"
    assert ImportBatch.objects.get(pk=result.batch_id).status == ImportBatch.Status.REJECTED


def test_gbk_file_is_detected_and_decoded(county_dir: Path) -> None:
    table = rows(county_dir / "persons.csv")
    rewrite(county_dir / "persons.csv", table, encoding="gbk")
    raw = (county_dir / "persons.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    result = services.import_registry(county_dir)
    assert not result.errors
    assert set(Person.objects.values_list("name", flat=True)) == {
        "王建国",
        "李秀英",
        "王小红",
        "张桂兰",
        "刘强",
    }
    assert ImportBatch.objects.get(pk=result.batch_id).files["persons"]["encoding"] == "gb18030-2022"


def test_gbk_file_with_a_bad_row_reports_it_in_readable_chinese(county_dir: Path) -> None:
    table = rows(county_dir / "persons.csv")
    table[4][2] = "男"  # 张桂兰's gender in Chinese instead of M/F
    rewrite(county_dir / "persons.csv", table, encoding="gbk")
    result = services.import_registry(county_dir)
    assert [(e.line, e.reason) for e in result.errors] == [(5, "取值“男”无效，应为 M、F 之一")]
    assert nothing_loaded()


def test_utf8_bom_is_accepted(county_dir: Path) -> None:
    table = rows(county_dir / "households.csv")
    rewrite(county_dir / "households.csv", table, encoding="utf-8-sig")
    assert not services.import_registry(county_dir).errors
    assert Household.objects.count() == 3


@pytest.mark.parametrize("encoding", ["utf-16", "big5"])
def test_unsupported_encoding_rejects_the_file_with_a_clear_message(county_dir: Path, encoding: str) -> None:
    table = rows(county_dir / "households.csv")
    table[1][2] = "燕店鎮東王村"  # traditional characters, so big5 can encode the row
    table[2][2] = table[3][2] = "地址"
    rewrite(county_dir / "households.csv", table, encoding=encoding)
    result = services.import_registry(county_dir)
    assert len(result.errors) == 1
    assert result.errors[0].file == "households.csv" and "无法识别文件编码" in result.errors[0].reason
    assert nothing_loaded()


def test_missing_column_rejects_the_whole_file_naming_it(county_dir: Path) -> None:
    table = [r[:12] for r in rows(county_dir / "persons.csv")]  # drop monthly_income
    rewrite(county_dir / "persons.csv", table)
    result = services.import_registry(county_dir)
    assert [(e.file, e.reason) for e in result.errors] == [("persons.csv", "缺少必需的列：monthly_income")]
    assert nothing_loaded()


def test_extra_columns_are_ignored_and_empty_optional_values_default(county_dir: Path) -> None:
    table = rows(county_dir / "persons.csv")
    for i, row in enumerate(table):
        row.append("备注" if i == 0 else "=cmd|' /C calc'!A0")
    table[1][7] = ""  # disability_level empty -> 0
    rewrite(county_dir / "persons.csv", table)
    assert not services.import_registry(county_dir).errors
    assert Person.objects.get(name="王建国").disability_level == 0


def test_ragged_rows_empty_file_and_header_only(county_dir: Path) -> None:
    (county_dir / "applications.csv").write_text("")
    table = rows(county_dir / "assistance.csv")
    rewrite(county_dir / "assistance.csv", table[:1])  # header only: a valid file with no rows
    with (county_dir / "persons.csv").open("a", encoding="utf-8") as f:
        f.write("only,three,fields\n")
    result = services.import_registry(county_dir)
    found = {(e.file, e.line): e.reason for e in result.errors}
    assert found[("applications.csv", 0)] == "文件为空，没有表头"
    assert found[("persons.csv", 7)] == "该行有 3 列，表头有 13 列"
    assert not any(e.file == "assistance.csv" for e in result.errors)
    assert nothing_loaded()


def test_id_checks_birthplace_by_year_birth_date_and_gender_agree(county_dir: Path) -> None:
    table = rows(county_dir / "persons.csv")
    # 莘县's code 371522 exists from 1997: someone born in 1980 cannot have it.
    table[1][0] = testing.make_id_number(dt.date(1958, 3, 14), 1, True, place="371522")
    table[2][3] = "1960-07-03"  # 李秀英: birth date differs from her ID
    table[3][2] = "M"  # 王小红: ID says female
    table[5][0] = table[5][0].replace("19851111", "19851131")  # no 31 November
    rewrite(county_dir / "persons.csv", table)
    result = services.import_registry(county_dir)
    by_line = {e.line: e.reason for e in result.errors if e.file == "persons.csv"}
    assert by_line[2] == "身份证号码中的出生地代码 371522 在 1958 年不是有效的县级区划"
    assert by_line[3].startswith("出生日期 1960-07-03 与身份证号码不一致（身份证为 1960-07-02）")
    assert by_line[4] == "性别 M 与身份证号码不一致（身份证第 17 位为女）"
    assert "校验位错误" in by_line[6] or "出生日期" in by_line[6]


def test_lower_case_x_is_normalised(county_dir: Path, tmp_path: Path) -> None:
    services.import_registry(county_dir)
    x_id = next(
        testing.make_id_number(dt.date(1990, 1, 1), s, True)
        for s in range(200)
        if testing.make_id_number(dt.date(1990, 1, 1), s, True).endswith("X")
    )
    testing.write_csv(
        county_dir / "persons.csv",
        testing.PERSON_HEADER,
        [
            testing.person(dt.date(1990, 1, 1), 0, True, "赵磊", "H003", "child")[:0]
            + [
                x_id.lower(),
                "赵磊",
                "M",
                "1990-01-01",
                "H003",
                "sibling",
                "",
                0,
                "",
                "full",
                "false",
                "farmer",
                0,
            ]
        ],
    )
    for name in ("regions", "households", "assistance", "applications", "standards"):
        (county_dir / f"{name}.csv").unlink()
    result = services.import_registry(county_dir)
    assert not result.errors
    assert Person.objects.filter(id_number=x_id).exists()


def test_references_to_rows_already_in_the_database_are_accepted(county_dir: Path) -> None:
    services.import_registry(county_dir)
    only_assistance = county_dir.parent / "later"
    only_assistance.mkdir()
    wang = Person.objects.get(name="王建国").id_number
    testing.write_csv(
        only_assistance / "assistance.csv",
        ["id_number", "household_id", "program", "status", "start_date", "end_date", "monthly_amount"],
        [
            [wang, "H001", "medical", "active", "2025-01-01", "", "200"],
            [wang, "H404", "medical", "active", "2025-01-01", "", "200"],
            ["11010519491231002X", "H001", "medical", "active", "2025-01-01", "", "200"],
        ],
    )
    result = services.import_registry(only_assistance)
    reasons = {e.line: e.reason for e in result.errors}
    assert reasons == {
        3: "户编号 H404 不存在（户籍文件和数据库中都没有）",
        4: "身份证号码 11010519491231002X 不在人员名册中",
    }
    assert Assistance.objects.count() == 2


def test_head_must_belong_to_the_household_and_only_one_head(county_dir: Path) -> None:
    households = rows(county_dir / "households.csv")
    households[1][4], households[2][4] = households[2][4], households[1][4]
    rewrite(county_dir / "households.csv", households)
    persons = rows(county_dir / "persons.csv")
    persons[2][5] = "head"  # a second head in H001
    rewrite(county_dir / "persons.csv", persons)
    result = services.import_registry(county_dir)
    messages = [e.reason for e in result.errors]
    assert any("登记在户 H002，不在本户" in m for m in messages)
    assert "户 H001 有多名户主（首个在第 2 行）" in messages


def test_region_tree_and_county_name_checked_against_stdnum(county_dir: Path) -> None:
    table = rows(county_dir / "regions.csv")
    table[3][1] = "莘州县"  # 莘县 misnamed
    table[5][3] = "371522101000"  # a village of 燕店镇 filed under 观城镇
    table[8][2] = "town"
    rewrite(county_dir / "regions.csv", table)
    result = services.import_registry(county_dir)
    reasons = {e.line: e.reason for e in result.errors if e.file == "regions.csv"}
    assert reasons[4] == "县级名称“莘州县”与国家行政区划代码表不符（表中为 莘县）"
    assert reasons[6] == "区划代码 371522100201 与上级区划 371522101000 的代码前缀不一致"
    assert reasons[9].startswith("取值“town”无效")


def test_money_dates_enums_and_hostile_text(county_dir: Path) -> None:
    persons = rows(county_dir / "persons.csv")
    persons[1][12] = "-5"
    persons[2][12] = "12.345"
    persons[3][1] = "'); DROP TABLE registry_person; --"
    rewrite(county_dir / "persons.csv", persons)
    apps = rows(county_dir / "applications.csv")
    apps[1][4] = "2024/02/01"
    apps[2][6] = "2025-07-01"  # a pending application with a decision date
    rewrite(county_dir / "applications.csv", apps)
    result = services.import_registry(county_dir)
    reasons = {(e.file, e.line): e.reason for e in result.errors}
    assert reasons[("persons.csv", 2)] == "金额不能为负数"
    assert reasons[("persons.csv", 3)].startswith("金额“12.345”无效")
    assert ("persons.csv", 4) not in reasons  # hostile text is just a name, stored as text
    assert reasons[("applications.csv", 2)] == "日期“2024/02/01”无效，格式应为 YYYY-MM-DD"
    assert reasons[("applications.csv", 3)] == "待审批的申请不应有审批日期"


def test_hostile_name_is_stored_literally(county_dir: Path) -> None:
    persons = rows(county_dir / "persons.csv")
    persons[3][1] = "'); DROP TABLE registry_person; --"
    rewrite(county_dir / "persons.csv", persons)
    assert not services.import_registry(county_dir).errors
    assert Person.objects.filter(name="'); DROP TABLE registry_person; --").count() == 1


def test_unclosed_quote_and_oversize_field_reject_the_file(county_dir: Path) -> None:
    with (county_dir / "households.csv").open("a", encoding="utf-8") as f:
        f.write('H009,371522100201,"never closed' + "x" * 20_000 + "\n")
    result = services.import_registry(county_dir)
    assert any(e.file == "households.csv" and "无法解析" in e.reason for e in result.errors)
    assert nothing_loaded()


def test_no_registry_files_in_directory(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="目录中没有任何登记文件"):
        services.import_registry(tmp_path)


def test_error_report_neutralises_formulas(tmp_path: Path) -> None:
    from safetynet.registry.importer import RowError

    report = tmp_path / "errors.csv"
    write_error_report([RowError("persons.csv", 3, "name", "=cmd|' /C calc'!A0")], report)
    text = report.read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and "\n=cmd" not in text
