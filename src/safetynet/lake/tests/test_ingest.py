"""Feed ingest: every input path, good and bad, with what lands in the lake and what goes to quarantine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from safetynet import testing
from safetynet.lake import pseudonyms, services, storage
from safetynet.lake.mapping import builtin_mapping
from safetynet.lake.models import Batch
from safetynet.lake.sources import FEEDS
from safetynet.tabular import FileRejected

pytestmark = pytest.mark.django_db
HEADER = FEEDS["medical_claims"].names
CHINESE = [
    "结算单号",
    "身份证号码",
    "姓名",
    "结算日期",
    "是否住院",
    "医疗总费用",
    "统筹基金支付",
    "个人自付金额",
    "诊断编码",
    "是否重特大疾病",
]


@pytest.fixture(autouse=True)
def lake(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    return tmp_path / "lake"


def claims(n: int, start: int = 0) -> list[list[str]]:
    rows = []
    for i in range(start, start + n):
        person = testing.make_id_number(dt.date(1950 + i % 60, 1 + i % 12, 1 + i % 28), i % 400, i % 2 == 0)
        rows.append(
            [
                f"C{i:08d}",
                person,
                "王秀英" if i % 2 else "李建国",
                f"2026-{1 + i % 10:02d}-15",
                "true" if i % 5 == 0 else "false",
                f"{1000 + i % 900}.50",
                "600.00",
                f"{400 + i % 900}.50",
                "C34.9",
                "false",
            ]
        )
    return rows


def write(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return testing.write_csv(path, header, rows, encoding=encoding)


def landed(batch_id: int, source: str = "medical_claims"):  # type: ignore[no-untyped-def]
    return services.landed(source, batch_id)


def quarantined(batch_id: int, source: str = "medical_claims") -> list[dict]:
    fs, root = storage.filesystem()
    path = f"{storage.batch_dir(root, source, batch_id, quarantine=True)}/part-0.parquet"
    rows = pq.read_table(path, filesystem=fs).to_pylist() if fs.exists(path) else []
    return [
        {**r, "reason": pseudonyms.open_text(r["reason"]), "raw": pseudonyms.open_text(r["raw"])}
        for r in rows
    ]


def test_every_demo_feed_lands_and_reingest_is_a_no_op(tmp_path: Path) -> None:
    from safetynet.demo.generator import generate

    county = tmp_path / "county"
    generate(county, persons=2000, seed=5, as_of=dt.date.today())
    for source in FEEDS:
        result = services.ingest(source, county / f"{source}.csv")
        assert not result.whole_file_rejected, (source, result.message)
        assert result.accepted > 0, source
        again = services.ingest(source, county / f"{source}.csv")
        assert again.already_ingested and again.batch_id == result.batch_id
        assert again.summary_line == f"accepted=0 rejected=0 batch={result.batch_id} already ingested"
    assert Batch.objects.filter(status=Batch.Status.DONE).count() == len(FEEDS)


def test_gbk_csv_xlsx_with_chinese_headers_and_jsonl_give_identical_parquet(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    rows = claims(50)
    gbk = write(tmp_path / "claims.csv", rows, encoding="gbk")

    book = Workbook()
    sheet = book.active
    sheet.append(["2026年医保结算明细"])  # a merged title row above the header
    sheet.merge_cells("A1:J1")
    sheet.append(CHINESE)
    for row in rows:
        sheet.append(
            [{"true": "是", "false": "否"}.get(v, v) if i in (4, 9) else v for i, v in enumerate(row)]
        )
    book.save(tmp_path / "claims.xlsx")

    with (tmp_path / "claims.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(dict(zip(HEADER, row, strict=True)), ensure_ascii=False) + "\n")

    tables = []
    for i, (path, mapping) in enumerate(
        [
            (gbk, None),
            (tmp_path / "claims.xlsx", builtin_mapping("medical_claims")),
            (tmp_path / "claims.jsonl", None),
        ]
    ):
        settings.SAFETYNET_LAKE_URL = str(tmp_path / f"lake{i}")
        result = services.ingest("medical_claims", path, mapping)
        assert (result.accepted, result.rejected) == (50, 0), result.message
        tables.append(landed(result.batch_id))
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])
    assert tables[0].column("name").to_pylist()[:2] == ["李建国", "王秀英"]
    assert str(tables[0].schema.field("out_of_pocket").type) == "decimal128(14, 2)"


def test_declared_encoding_that_is_wrong_rejects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "claims.csv", claims(5), encoding="gbk")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("encoding: utf-8\n", encoding="utf-8")
    result = services.ingest("medical_claims", path, mapping)
    assert result.whole_file_rejected and "不是 utf-8-sig 编码" in result.message
    assert Batch.objects.get(pk=result.batch_id).status == Batch.Status.REJECTED


def test_undeclared_unknown_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\nC1,\xff\xfe\x00\x81\xff,x,2026-01-01,,,,1,,\n")
    result = services.ingest("medical_claims", path)
    assert result.whole_file_rejected and "无法识别文件编码" in result.message


def test_missing_column_rejects_the_whole_file_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv", [r[:7] + r[8:] for r in claims(3)], [h for h in HEADER if h != "out_of_pocket"]
    )
    result = services.ingest("medical_claims", path)
    assert result.whole_file_rejected and result.message == "缺少必需的列：out_of_pocket"
    fs, root = storage.filesystem()
    assert not fs.exists(f"{root}/medical_claims/batch={result.batch_id}")


def test_extra_columns_are_kept_in_the_lake(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [r + ["备注内容"] for r in claims(3)], HEADER + ["经办机构备注"])
    result = services.ingest("medical_claims", path)
    assert result.accepted == 3
    assert landed(result.batch_id).column("经办机构备注").to_pylist() == ["备注内容"] * 3


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert services.ingest("medical_claims", empty).message == "文件为空，没有表头"
    header_only = write(tmp_path / "h.csv", [])
    result = services.ingest("medical_claims", header_only)
    assert (result.accepted, result.rejected, result.whole_file_rejected) == (0, 0, True)
    assert result.message == "文件只有表头，没有数据行"
    # The source is not blocked: the next file of it lands, and the header-only one may be sent again.
    good = services.ingest("medical_claims", write(tmp_path / "c.csv", claims(3)))
    assert (good.accepted, good.rejected) == (3, 0) and landed(good.batch_id).num_rows == 3
    assert services.ingest("medical_claims", header_only).whole_file_rejected


def test_one_bad_row_among_100000(tmp_path: Path) -> None:
    rows = claims(100_000)
    rows[76_542][7] = "-12.00"  # line 76,544: negative out-of-pocket
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows))
    assert (result.accepted, result.rejected) == (99_999, 1)
    [bad] = quarantined(result.batch_id)
    assert (bad["line"], bad["column"], bad["reason"]) == (76_544, "out_of_pocket", "金额不能为负数")
    assert json.loads(bad["raw"])["claim_id"] == "C00076542"


def test_all_rows_bad_rejects_the_file_but_keeps_every_row_in_quarantine(tmp_path: Path) -> None:
    rows = claims(20)
    for row in rows:
        row[1] = row[1][:-1] + ("0" if row[1][-1] != "0" else "1")
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows))
    assert result.whole_file_rejected and (result.accepted, result.rejected) == (0, 20)
    assert len(quarantined(result.batch_id)) == 20
    assert all("校验位错误" in q["reason"] for q in quarantined(result.batch_id))


def test_duplicate_claim_ids_within_and_across_batches(tmp_path: Path) -> None:
    rows = claims(10)
    rows.append(list(rows[3]))  # line 12 repeats line 5's claim
    first = services.ingest("medical_claims", write(tmp_path / "a.csv", rows))
    assert (first.accepted, first.rejected) == (10, 1)
    assert quarantined(first.batch_id)[0]["reason"] == "claim_id 重复（首次出现在第 5 行）"
    second = services.ingest(
        "medical_claims", write(tmp_path / "b.csv", claims(3, start=9) + claims(1, start=100))
    )
    assert (second.accepted, second.rejected) == (3, 1)  # C00000009 landed in the first batch
    assert quarantined(second.batch_id)[0]["reason"] == f"claim_id 重复（已在批次 {first.batch_id} 中）"


def test_future_dates_negative_money_and_bad_values(tmp_path: Path) -> None:
    rows = claims(4)
    rows[0][3] = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    rows[1][5] = "-1"
    rows[2][3] = "2026/03/01"
    rows[3][4] = "maybe"
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows))
    reasons = {(q["line"], q["column"]): q["reason"] for q in quarantined(result.batch_id)}
    assert reasons[(2, "settle_date")].endswith("晚于今天")
    assert reasons[(3, "total_cost")] == "金额不能为负数"
    assert reasons[(4, "settle_date")] == "日期“2026/03/01”无效，格式应为 YYYY-MM-DD"
    assert reasons[(5, "inpatient")].startswith("取值“maybe”无效")


def test_booleans_land_whatever_their_spelling(tmp_path: Path) -> None:
    """The exact spellings are compared first and lower() is left for the rest: both must give the same."""
    spellings = {"是": True, "否": False, "true": True, "TRUE": True, "Yes": True, "Y": True, "1": True}
    spellings |= {"False": False, "NO": False, "n": False, "0": False, "FaLsE": False}
    rows = claims(len(spellings) + 2)
    for row, spelling in zip(rows, spellings, strict=False):
        row[4] = spelling
    rows[-2][4], rows[-1][4] = "ture", "是的"
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows))
    assert (result.accepted, result.rejected) == (len(spellings), 2)
    assert landed(result.batch_id).sort_by("_record").column("inpatient").to_pylist() == list(
        spellings.values()
    )
    assert [q["raw"] and json.loads(q["raw"])["inpatient"] for q in quarantined(result.batch_id)] == [
        "ture",
        "是的",
    ]


def test_id_numbers_land_upper_cased_with_or_without_a_lowercase_x(tmp_path: Path) -> None:
    """A batch whose ID numbers hold no lowercase x skips upper(); one that does must still land 'X'."""
    rows = claims(40)
    with_x = [r[1] for r in rows if r[1].endswith("X")]
    assert with_x  # claims() makes some IDs whose check character is X
    lowered = [[*r[:1], r[1].lower(), *r[2:]] for r in rows]
    first = services.ingest("medical_claims", write(tmp_path / "upper.csv", rows))
    second = services.ingest(
        "medical_claims", write(tmp_path / "lower.csv", [[f"L{r[0]}", *r[1:]] for r in lowered])
    )
    for result in (first, second):
        assert (result.accepted, result.rejected) == (40, 0)
        ids = landed(result.batch_id).sort_by("_record").column("id_number").to_pylist()
        assert ids == [r[1] for r in rows]


def test_formula_injection_is_kept_as_plain_text(tmp_path: Path) -> None:
    rows = claims(2)
    rows[0][2] = "=cmd|' /C calc'!A0"
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows))
    assert result.accepted == 2
    assert landed(result.batch_id).column("name").to_pylist()[0] == "=cmd|' /C calc'!A0"


def test_hostile_header_names_cannot_break_the_queries(tmp_path: Path) -> None:
    header = HEADER + ['x"); DROP TABLE _chk; --', "it's"]
    result = services.ingest(
        "medical_claims", write(tmp_path / "c.csv", [r + ["a", "b"] for r in claims(2)], header)
    )
    assert result.accepted == 2
    assert landed(result.batch_id).column('x"); DROP TABLE _chk; --').to_pylist() == ["a", "a"]


def test_blank_lines_and_quoted_line_breaks_keep_exact_line_numbers(tmp_path: Path) -> None:
    rows = claims(6)
    rows[1][2] = "王\n秀英"  # a line break inside a quoted value: record 2 spans lines 3-4
    rows[4][7] = "abc"  # record 5: on line 7 of the file, and line 8 once the blank line below is added
    path = write(tmp_path / "c.csv", rows)
    text = path.read_text(encoding="utf-8").replace("\n", "\n\n", 1)  # a blank line after the header
    path.write_text(text, encoding="utf-8")
    result = services.ingest("medical_claims", path)
    assert (result.accepted, result.rejected) == (5, 1)
    assert [(q["line"], q["column"]) for q in quarantined(result.batch_id)] == [(8, "out_of_pocket")]
    assert landed(result.batch_id).column("name").to_pylist()[1] == "王\n秀英"


def test_ragged_rows_go_to_quarantine_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", claims(3))
    with path.open("a", encoding="utf-8") as f:
        f.write("C9,only,three\n")
    result = services.ingest("medical_claims", path)
    assert (result.accepted, result.rejected) == (3, 1)
    assert quarantined(result.batch_id)[0]["reason"] == "该行有 3 列，表头有 10 列"
    assert quarantined(result.batch_id)[0]["line"] == 5


def test_mapping_recodes_values_and_bad_mappings_are_explained(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.csv",
        [
            [
                testing.make_id_number(dt.date(1970, 5, 5), 3, True),
                "张三",
                "肢体",
                "二级",
                "2020-01-01",
                "有效",
            ]
        ],
        ["身份证号码", "姓名", "残疾类别", "残疾等级", "发证日期", "证件状态"],
    )
    result = services.ingest("disability", path, builtin_mapping("disability"))
    assert result.accepted == 1
    table = landed(result.batch_id, "disability")
    assert (table.column("level").to_pylist(), table.column("status").to_pylist()) == ([2], ["valid"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [a, b]\n", encoding="utf-8")
    with pytest.raises(FileRejected, match="columns 应为"):
        services.ingest("disability", path, bad)
    with pytest.raises(ValueError, match="未知的数据来源"):
        services.ingest("weather", path)


def test_disasters_need_an_id_number_or_a_region(tmp_path: Path) -> None:
    header = [
        "event_id",
        "event_name",
        "id_number",
        "region_code",
        "occurred_on",
        "loss_level",
        "house_damaged",
    ]
    rows = [
        ["E1", "暴雨", "", "371427101201", "2026-07-01", "severe", "true"],
        ["E1", "暴雨", "", "", "2026-07-01", "severe", "true"],
    ]
    result = services.ingest("disasters", write(tmp_path / "z.csv", rows, header))
    assert (result.accepted, result.rejected) == (1, 1)
    assert quarantined(result.batch_id, "disasters")[0]["reason"] == "身份证号码和区划代码至少要填一项"


def test_registry_snapshot_is_written_as_parquet(county) -> None:  # type: ignore[no-untyped-def]
    from safetynet.registry import services as registry

    snapshot = services.snapshot_registry(registry.snapshot_tables())
    assert snapshot.rows == {
        "households": 3,
        "persons": 5,
        "assistance": 2,
        "applications": 2,
        "standards": 8,
        "verified_incomes": 0,
    }
    fs, _ = storage.filesystem()
    persons = pq.read_table(f"{snapshot.path}/persons.parquet", filesystem=fs)
    assert sorted(persons.column("name").to_pylist()) == sorted(
        ["王建国", "李秀英", "王小红", "张桂兰", "刘强"]
    )
    assert duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{snapshot.path}/households.parquet')"
    ).fetchall() == [(3,)]


def test_a_key_holding_an_id_number_repeats_across_batches_whichever_path_read_it(tmp_path: Path) -> None:
    """Disasters are keyed by event, ID number and place; ID numbers land as pseudonyms. A repeat of an
    earlier batch is found whether the keys were read back from landed rows (a CSV) or computed from the
    rows as sent (JSON Lines), and whatever the case of the check digit's X."""
    header = ["event_id", "event_name", "id_number", "region_code", "occurred_on", "loss_level", "house_damaged"]
    person = testing.make_id_number(dt.date(1980, 1, 1), 2, False)
    with_x = next(
        testing.make_id_number(dt.date(1980, 1, d), s, True) for d in range(1, 28) for s in range(1, 99)
        if testing.make_id_number(dt.date(1980, 1, d), s, True).endswith("X")
    )  # fmt: skip
    first = services.ingest(
        "disasters",
        write(tmp_path / "a.csv", [["E1", "暴雨", person, "", "2026-07-01", "severe", "true"],
                                   ["E1", "暴雨", with_x, "", "2026-07-01", "severe", "true"]], header),
    )  # fmt: skip
    assert (first.accepted, first.rejected) == (2, 0)
    again = tmp_path / "b.jsonl"
    again.write_text(
        "\n".join(
            json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False)
            for row in [["E1", "暴雨", person, "", "2026-07-01", "severe", "true"],
                        ["E1", "暴雨", with_x.lower(), "", "2026-07-01", "severe", "true"],
                        ["E2", "冰雹", person, "", "2026-07-02", "total", "false"]]
        ),  # fmt: skip
        encoding="utf-8",
    )
    second = services.ingest("disasters", again)
    assert (second.accepted, second.rejected) == (1, 2)
    reasons = {r["reason"] for r in quarantined(second.batch_id, "disasters")}
    assert reasons == {f"event_id、id_number、region_code 重复（已在批次 {first.batch_id} 中）"}
    assert [r["id_number"] for r in landed(second.batch_id, "disasters").to_pylist()] == [person]
    third = services.ingest(
        "disasters", write(tmp_path / "c.csv", [["E2", "冰雹", person, "", "2026-07-02", "total", "false"]], header)
    )
    assert (third.accepted, third.rejected) == (0, 1)  # the JSON Lines batch's row, found from a CSV


def test_a_file_cannot_supply_the_services_own_columns(tmp_path: Path) -> None:
    """Columns named like the service's own (the pseudonym of an ID number, a fact, the line) are dropped
    from a department's file: the ID number that lands is the one checked, not one smuggled beside it."""
    person = testing.make_id_number(dt.date(1980, 1, 1), 2, False)
    other = testing.make_id_number(dt.date(1990, 5, 5), 3, True)
    header = [*HEADER, "_id_number_pseudonym", "_id_number_shape_ok", "_line", "_record"]
    rows = [["C1", person, "王建国", "2026-05-01", "false", "100", "60", "40", "J06.9", "false", other, "x", "9", "9"]]
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", rows, header))
    assert (result.accepted, result.rejected) == (1, 0), quarantined(result.batch_id)
    [row] = landed(result.batch_id).to_pylist()
    assert row["id_number"] == person and not any(k.startswith("_id_number") for k in row)


def test_a_value_that_only_looks_like_a_pseudonym_is_kept_as_it_is(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A department's own key may be 33 letters of a pseudonym's alphabet, the shape of a pseudonym:
    it lands, repeats are found, it is read back, and a key rotation leaves it alone."""
    from safetynet.lake import pseudonyms

    monkeypatch.setenv("SAFETYNET_KEYS_DIR", str(tmp_path / "keys"))  # the rotation is this test's own

    claim = "P" + "ABCDEFGHJKLMNPQR" * 2
    person = testing.make_id_number(dt.date(1980, 1, 1), 2, False)
    row = [claim, person, "王建国", "2026-05-01", "false", "100", "60", "40", "J06.9", "false"]
    result = services.ingest("medical_claims", write(tmp_path / "c.csv", [row, row]))
    assert (result.accepted, result.rejected) == (1, 1)  # the repeat, moved to quarantine
    assert [(r["claim_id"], r["id_number"]) for r in landed(result.batch_id).to_pylist()] == [(claim, person)]
    assert json.loads(quarantined(result.batch_id)[0]["raw"])["claim_id"] == claim
    fs, root = storage.filesystem()
    pseudonyms.rotate(fs, root)
    assert [(r["claim_id"], r["id_number"]) for r in landed(result.batch_id).to_pylist()] == [(claim, person)]
