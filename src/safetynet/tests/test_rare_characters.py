"""Rare characters (生僻字) end to end: names with characters outside GBK (CJK extensions A–G, several of
them 4-byte GB18030 sequences and outside Unicode's Basic Multilingual Plane) go in through every input
path, in GB18030 and UTF-8 files, and come out unchanged on pages, in exports and in the letter PDF.

The corpus is written here by hand from the Unicode blocks, not by the demo generator: real rare name
characters (𠮷 of 吉野家's founder, 㐂, 堃, 喆, 燊 …) and one character from each extension block."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

import openpyxl
import pytest
from django.test import Client
from pypdf import PdfReader

from safetynet import testing
from safetynet.lake import services as lake
from safetynet.lake.sources import FEEDS, FeedSpec
from safetynet.tabular import FileRejected, detect_encoding

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# One character of each block, with its code point: the test fails loudly if an editor "fixes" one.
BLOCKS = {
    "A": ("㐂", 0x3402),
    "B": ("𠮷", 0x20BB7),
    "C": ("𪜀", 0x2A700),
    "D": ("𫝀", 0x2B740),
    "E": ("𫠠", 0x2B820),
    "F": ("𬺰", 0x2CEB0),
    "G": ("𰻞", 0x30EDE),
}
GBK_RARE = "堃喆燊龘"  # in GBK, outside GB2312: old systems' 2-byte rare characters
RARE_NAMES, RARE_ADDRESS = testing.RARE_NAMES, testing.RARE_ADDRESS
ID_1950 = testing.make_id_number(dt.date(1950, 3, 1), 7, True)


@pytest.fixture
def county_dir(tmp_path: Path) -> Path:
    """Overrides the suite's county: every test here (and the fixtures built on it) has the rare names."""
    return testing.write_rare_county(tmp_path / "county")


@pytest.fixture(autouse=True)
def lake_here(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SAFETYNET_LAKE_URL", raising=False)
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")


def test_the_corpus_is_what_it_says() -> None:
    for block, (char, code) in BLOCKS.items():
        assert ord(char) == code, block
        assert len(char.encode("gb18030")) == 4, block  # outside GBK: a 4-byte GB18030 sequence
    assert all(len(c.encode("gb18030")) == 2 for c in GBK_RARE)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_registry_import_keeps_rare_names(tmp_path: Path, encoding: str) -> None:
    from safetynet.registry import services
    from safetynet.registry.models import Household, ImportBatch, Person

    result = services.import_registry(testing.write_rare_county(tmp_path / "c", encoding))
    assert not result.errors, result.errors
    assert set(Person.objects.values_list("name", flat=True)) == set(RARE_NAMES.values())
    assert Household.objects.get(pk="H001").address == RARE_ADDRESS
    detected = ImportBatch.objects.get(pk=result.batch_id).files["persons"]["encoding"]
    assert detected == ("gb18030-2022" if encoding == "gb18030" else "utf-8-sig")


def _value(spec: FeedSpec, name: str, kind: str, row: int, text: str) -> str:
    """A valid value of a feed column; text columns carry the rare characters."""
    column = spec.column(name)
    assert column is not None
    if kind == "text":
        value = f"{text}{row}"
        return value[: column.max_length] if column.max_length else value
    return {
        "id_number": testing.make_id_number(dt.date(1950 + row, 3, 1), row + 1, row % 2 == 0),
        "region_code": "371522100201",
        "date": "2026-05-01",
        "timestamp": "2026-05-01T10:00:00+08:00",
        "money": "120.50",
        "int": str(column.low if column.low is not None else 1),
        "bool": "true",
        "enum": column.choices[0] if column.choices else "",
        "phone": "13812345678",
    }[kind]


def _feed_rows(spec: FeedSpec, rows: int = 3) -> list[dict[str, str]]:
    text = "".join(c for c, _ in BLOCKS.values()) + GBK_RARE
    return [{c.name: _value(spec, c.name, c.kind, i, text) for c in spec.columns} for i in range(rows)]


def _landed(source: str, batch_id: int) -> list[dict[str, object]]:
    return lake.landed(source, batch_id).to_pylist()


@pytest.mark.parametrize("source", sorted(FEEDS))
@pytest.mark.parametrize("form", ["gb18030 csv", "utf-8 jsonl", "xlsx"])
def test_every_feed_lands_rare_text_unchanged(tmp_path: Path, source: str, form: str) -> None:
    spec = FEEDS[source]
    rows = _feed_rows(spec)
    if form == "gb18030 csv":
        path = tmp_path / f"{source}.csv"
        testing.write_csv(path, spec.names, [list(r.values()) for r in rows], encoding="gb18030")
    elif form == "xlsx":  # an Excel export, with a merged title above the header as bureaus make them
        path = tmp_path / f"{source}.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append([f"{spec.department}导出明细"])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(spec.names))
        sheet.append(spec.names)
        for row in rows:
            sheet.append(list(row.values()))
        book.save(path)
    else:
        path = tmp_path / f"{source}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = lake.ingest(source, path)
    assert (result.accepted, result.rejected) == (3, 0), (source, result)
    landed = _landed(source, result.batch_id)
    # every text column holds the rare characters; a feed without one (pensions) is checked by its IDs
    texts = [c.name for c in spec.columns if c.kind == "text"] or ["id_number"]
    for sent, got in zip(rows, sorted(landed, key=lambda r: r["_record"]), strict=True):
        assert {t: got[t] for t in texts} == {t: sent[t] for t in texts}, source


def test_the_push_api_takes_a_gb18030_file(tmp_path: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    token = lake.create_token("医保局", ["medical_claims"])
    rows = _feed_rows(FEEDS["medical_claims"])
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(FEEDS["medical_claims"].names)
    writer.writerows(list(r.values()) for r in rows)
    upload = SimpleUploadedFile("claims.csv", body.getvalue().encode("gb18030"), "text/csv")
    answer = Client().post(
        "/api/lake/medical_claims/batches", {"file": upload}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201 and answer.json()["accepted"] == 3, answer.content
    names = sorted(r["name"] for r in _landed("medical_claims", answer.json()["batch_id"]))
    assert names == sorted(r["name"] for r in rows)


def test_lengths_count_characters_not_bytes(tmp_path: Path) -> None:
    """A name column holds 50 characters: 50 four-byte characters (200 bytes of UTF-8) fit, 51 do not."""
    header = ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"]
    path = testing.write_csv(
        tmp_path / "claims.csv",
        header,
        [["C1", ID_1950, "𠮷" * 50, "2026-05-01", "10"], ["C2", ID_1950, "𠮷" * 51, "2026-05-01", "10"]],
    )
    result = lake.ingest("medical_claims", path)
    assert (result.accepted, result.rejected) == (1, 1)
    assert [r["name"] for r in _landed("medical_claims", result.batch_id)] == ["𠮷" * 50]


def test_a_feed_row_without_an_id_number_lands_for_identity_resolution(tmp_path: Path) -> None:
    path = testing.write_csv(
        tmp_path / "deaths.csv",
        ["id_number", "name", "death_date"],
        [
            ["", "王𠮷", "2026-05-01"],
            [ID_1950, "李㐂", "2026-05-02"],
            ["37152219500301007X", "坏号", "2026-05-03"],
        ],
    )
    result = lake.ingest("deaths", path)
    assert (result.accepted, result.rejected) == (2, 1)  # the empty one lands; a wrong number does not
    landed = {r["name"]: r["id_number"] for r in _landed("deaths", result.batch_id)}
    assert landed["王𠮷"] in ("", None) and landed["李㐂"] == ID_1950


def _corpus_files(tmp_path: Path) -> dict[str, Path]:
    rng = random.Random(5)
    names = [f"{rng.choice('王李张刘陈')}{rng.choice(list(RARE_NAMES.values()))[1:]}" for _ in range(200)]
    traditional = "臺灣省台北市中正區重慶南路陳美鳳林淑芬張志豪黃國華醫療費用報銷單據"
    japanese = "東京都新宿区西新宿丁目番号山田太郎鈴木花子佐藤医療費の領収書です"
    files = {
        "big5": (
            "id,name\n" + "".join(f"{i},{''.join(rng.sample(traditional, 6))}\n" for i in range(300)),
            "big5",
        ),
        "shift_jis": (
            "id,name\n" + "".join(f"{i},{''.join(rng.sample(japanese, 6))}\n" for i in range(300)),
            "shift_jis",
        ),
    }
    out = {}
    for name, (text, encoding) in files.items():
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_bytes(text.encode(encoding))
    out["random"] = tmp_path / "random.csv"
    out["random"].write_bytes(bytes(rng.randrange(256) for _ in range(20_000)))
    # Half UTF-8, half GB18030: each half alone decodes, the whole file in neither.
    rows = "".join(f"C{i},{ID_1950},{n},2026-05-01,10\n" for i, n in enumerate(names))
    out["mixed"] = tmp_path / "mixed.csv"
    out["mixed"].write_bytes(
        b"claim_id,id_number,name,settle_date,out_of_pocket\n"
        + rows[: len(rows) // 2].encode()
        + rows[len(rows) // 2 :].encode("gb18030")
    )
    out["gb18030"] = tmp_path / "gb18030.csv"
    out["gb18030"].write_bytes(
        ("claim_id,id_number,name,settle_date,out_of_pocket\n" + rows).encode("gb18030")
    )
    return out


def test_gb18030_with_rare_names_is_detected_and_garbage_is_still_refused(tmp_path: Path) -> None:
    files = _corpus_files(tmp_path)
    assert detect_encoding(files["gb18030"]) == "gb18030-2022"
    for name in ("big5", "shift_jis", "random", "mixed"):
        with pytest.raises(FileRejected) as refused:
            detect_encoding(files[name])
        assert "无法识别文件编码" in refused.value.reason, name
    # UTF-8 lines whose bytes happen to decode as GB18030 too (王秀 in UTF-8 reads as three GBK characters):
    # the file decodes, but its lines disagree on their encoding.
    joined = tmp_path / "joined.csv"
    joined.write_bytes(
        b"claim_id,id_number,name,settle_date,out_of_pocket\n"
        + "".join(f"G{i},{ID_1950},王𠮷,2026-05-01,10\n" for i in range(10)).encode("gb18030")
        + "".join(f"U{i},{ID_1950},王秀,2026-05-01,10\n" for i in range(10)).encode()
    )
    joined.read_bytes().decode("gb18030")  # no decoding error to catch it
    with pytest.raises(FileRejected) as refused:
        detect_encoding(joined)
    assert "混用" in refused.value.reason and "第 14 行" in refused.value.reason
    mixed = lake.ingest("medical_claims", files["mixed"])
    assert mixed.whole_file_rejected and "无法识别文件编码" in mixed.message, mixed


def test_gb18030_2022_maps_the_characters_2005_left_in_private_use(tmp_path: Path) -> None:
    """GB18030-2022 gives 0xFE59 (U+9FB4) and 0xA6D9 (U+FE10) their standard code points; Python's codec
    (GB18030-2005) decodes them to private-use characters, which no font shows."""
    path = tmp_path / "claims.csv"
    path.write_bytes(
        b"claim_id,id_number,name,settle_date,out_of_pocket\n"
        + f"C1,{ID_1950},王".encode("gb18030")
        + bytes.fromhex("fe59")
        + b",2026-05-01,10\n"
        + f"C2,{ID_1950},李".encode("gb18030")
        + "𠮷".encode("gb18030")
        + b",2026-05-01,10\n"
    )
    result = lake.ingest("medical_claims", path)
    assert result.accepted == 2
    assert sorted(r["name"] for r in _landed("medical_claims", result.batch_id)) == ["李𠮷", "王\u9fb4"]


def test_a_form_a_page_search_by_text_and_by_reading(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.leads.models import Lead

    hotline = Client()
    hotline.force_login(make_user("hotline", "hotline", "371522000000"))
    hotline.post(
        "/leads/new/",
        {"channel": "hotline", "summary": "王𠮷家老人生病，𪜀村", "name": "王𠮷", "phone": "13812345678"},
    )
    lead = Lead.objects.get()
    assert lead.details["name"] == "王𠮷" and "𪜀" in lead.summary
    by_api = hotline.post(
        "/api/leads", {"channel": "hotline", "summary": "张𰻞老人独居", "name": "张𰻞"}, content_type="application/json"
    )
    assert by_api.status_code == 201 and Lead.objects.get(pk=by_api.json()["lead_id"]).details["name"] == "张𰻞"
    staff = Client()
    staff.force_login(make_user("town", "township", "371522100000"))
    assert "王𠮷" in staff.get(f"/leads/{lead.pk}/").content.decode()

    page = staff.get("/registry/households/H001/").content.decode()
    assert "王𠮷" in page and "李㐂䲜" in page and "𪜀𫠠𬺰" in page
    exact = staff.get("/api/registry/persons", {"q": "王𠮷"}).json()
    assert [p["name"] for p in exact] == ["王𠮷"]
    # A clerk who cannot type 𠮷 types its reading's usual character: found by reading, after text hits.
    by_reading = staff.get("/api/registry/persons", {"q": "王吉"}).json()
    assert [p["name"] for p in by_reading] == ["王𠮷"]
    # A character with no known reading stands for itself: 𫝀 is found only as 𫝀 (H003: another township).
    staff = Client()
    staff.force_login(make_user("county", "county", "371522000000"))
    assert [p["name"] for p in staff.get("/api/registry/persons", {"q": "刘喆𫝀"}).json()] == ["刘喆𫝀"]
    assert staff.get("/api/registry/persons", {"q": "刘喆"}).json()[0]["name"] == "刘喆𫝀"  # by text prefix
    assert staff.get("/api/registry/persons", {"q": "刘哲"}).json() == []  # 𫝀 is not a blank


def test_linkage_reads_rare_names(county) -> None:  # type: ignore[no-untyped-def]
    from safetynet.linkage.chinese import char_readings, spellings
    from safetynet.linkage.services import Linker
    from safetynet.registry.models import Person

    head = Person.objects.get(name="王𠮷")
    assert char_readings("𠮷") == ("ji",) and char_readings("𫝀") == ("𫝀",)
    assert spellings("刘喆𫝀") != spellings("刘喆")
    result = Linker().link({"name": "王𠮷", "birth_date": head.birth_date.isoformat(), "phone": head.phone})
    assert result.best is not None and result.best.id_number == head.id_number
    homophone = Linker().link(
        {"name": "王吉", "birth_date": head.birth_date.isoformat(), "phone": head.phone}
    )
    assert homophone.best is not None and homophone.best.id_number == head.id_number


def test_quarantine_workbook_and_warnings_csv_keep_rare_text(county, make_user, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from safetynet.registry.models import Household

    # A rejected row with a rare name goes to the quarantine workbook as it was sent.
    bad = testing.write_csv(
        tmp_path / "claims.csv",
        ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"],
        [["C1", ID_1950, "赵𰻞𫠠", "2026-13-01", "10"]],
        encoding="gb18030",
    )
    batch = lake.ingest("medical_claims", bad).batch_id
    admin = Client()
    admin.force_login(make_user("admin", "county_admin", "371522000000"))
    book = openpyxl.load_workbook(io.BytesIO(admin.get(f"/lake/batches/{batch}/quarantine.xlsx").getvalue()))
    assert any("赵𰻞𫠠" in str(c.value) for row in book.active.iter_rows() for c in row)

    # A disaster whose name holds rare characters: its warning's explanation, in the warnings CSV.
    head = Household.objects.get(pk="H001").head_id_number
    disaster = testing.write_csv(
        tmp_path / "disasters.csv",
        ["event_id", "event_name", "id_number", "region_code", "occurred_on", "loss_level", "house_damaged"],
        [["E1", "𪜀𫠠村洪涝灾害", head, "", "2026-06-10", "severe", "true"]],
        encoding="gb18030",
    )
    assert lake.ingest("disasters", disaster).accepted == 1
    testing.compute_facts()
    staff = Client()
    staff.force_login(make_user("county", "county", "371522000000"))
    exported = staff.get("/screening/warnings/export.csv")
    text = (
        b"".join(exported.streaming_content).decode("utf-8-sig")
        if exported.streaming
        else exported.content.decode("utf-8-sig")
    )
    assert "𪜀𫠠村洪涝灾害" in text


def test_the_letter_embeds_its_fonts_and_keeps_rare_names(county, household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from safetynet.cases.models import Case
    from safetynet.policies import services

    if not all(Path(p).is_file() for p in settings.SAFETYNET_LETTER_FONTS):
        pytest.fail("the letter fonts are missing: apt-get install fonts-hanazono fonts-babelstone-han")
    services.seed_catalog("371522")
    case = Case.objects.create(household_id="H001", region_code="371522100201")
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    data = town.get(f"/cases/{case.pk}/letter/").content
    assert data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\n", "")
    assert "王𠮷" in text and "𪜀𫠠𬺰" in text  # extracted back out as it went in
    assert data.count(b"/FontFile2") >= 2  # the base font and the one holding the extension characters
    assert b"STSong-Light" not in data
