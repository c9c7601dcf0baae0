"""A large CSV is read in byte ranges by several threads: the result must be the one of a single reader.

The files here are small, so the tests lower the size from which a file is split and the block size, to
get several ranges of several batches each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from safetynet import testing
from safetynet.lake import ingest, readers, services
from safetynet.lake.models import Batch
from safetynet.lake.tests.test_ingest import HEADER, claims, landed, quarantined, write
from safetynet.tabular import FileRejected

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    monkeypatch.setattr(readers, "BLOCK_BYTES", 16 << 10)
    monkeypatch.setattr(ingest, "GROUP_BYTES", 40 << 10)


def ingest_with(
    monkeypatch: pytest.MonkeyPatch, path: Path, streams: int
) -> tuple[services.IngestResult, pa.Table, list[dict]]:
    monkeypatch.setattr(readers, "SPLIT_BYTES", 0 if streams > 1 else 1 << 40)
    monkeypatch.setattr(readers, "STREAMS", streams)
    result = services.ingest("medical_claims", path)
    table, rejects = landed(result.batch_id), quarantined(result.batch_id)
    # forget the batch, so the same content can be ingested again, with no earlier keys
    Batch.objects.filter(pk=result.batch_id).update(status=Batch.Status.FAILED)
    return result, table, rejects


def messy_claims(n: int) -> list[list[str]]:
    rng = random.Random(11)
    rows = claims(n)
    for i in rng.sample(range(n), 40):
        column, value = rng.choice(
            [(1, "110105194912310021"), (3, "2026/01/01"), (5, "-3"), (7, ""), (4, "maybe"), (0, "")]
        )
        rows[i][column] = value
    for i in rng.sample(range(1, n), 15):  # repeats, near and far, across the ranges
        rows[i][0] = rows[rng.randrange(0, i)][0]
    rows[n // 2][2] = "  王 秀英　"  # spaces to trim, ASCII and full-width
    rows[n // 3][2] = '王"秀"英, 等'  # quotes and a comma, on one line
    return rows


@pytest.mark.parametrize(("streams", "hashed"), [(2, True), (3, True), (2, False)])
def test_ranges_read_in_parallel_give_what_one_reader_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streams: int, hashed: bool
) -> None:
    path = write(
        tmp_path / "c.csv", [r + [f"备注{i}"] for i, r in enumerate(messy_claims(3000))], [*HEADER, "备注"]
    )
    one, one_table, one_rejects = ingest_with(monkeypatch, path, 1)
    scanned = readers.scan(path, streams)
    assert len(scanned.cuts) == streams - 1
    if not hashed:  # repeats found by DuckDB grouping every key, as for very large files
        monkeypatch.setattr(ingest, "HASHED_KEYS_MAX", 0)
    many, many_table, many_rejects = ingest_with(monkeypatch, path, streams)
    assert (many.accepted, many.rejected) == (one.accepted, one.rejected)
    assert one.rejected > 40
    assert many_table.equals(one_table)
    assert many_table.column("_record").to_pylist() == sorted(many_table.column("_record").to_pylist())
    assert many_rejects == one_rejects
    assert sum("claim_id 重复（首次出现在第" in q["reason"] for q in many_rejects) >= 10
    assert [q["line"] for q in many_rejects if "重复" not in q["reason"]] == sorted(
        q["line"] for q in many_rejects if "重复" not in q["reason"]
    )


def test_a_line_break_inside_quotes_sends_the_file_the_exact_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = claims(2000)
    rows[300][2] = "王\n秀英"  # record 301 spans lines 302-303: no blank line, but lines are not records
    rows[1500][7] = "abc"  # record 1501, on line 1503
    path = write(tmp_path / "c.csv", rows)
    for streams in (1, 2):
        result, table, rejects = ingest_with(monkeypatch, path, streams)
        assert (result.accepted, result.rejected) == (1999, 1)
        assert [(q["line"], q["record"], q["column"]) for q in rejects] == [(1503, 1501, "out_of_pocket")]
        assert table.column("name").to_pylist()[300] == "王\n秀英"


def test_a_cut_inside_a_quoted_value_spanning_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [r + [""] for r in claims(400)]
    rows[200][10] = "x" + "\n" * 3000 + "y"  # the file's middle lies inside this value
    rows[399][7] = "abc"
    path = write(tmp_path / "c.csv", rows, [*HEADER, "备注"])
    size = path.stat().st_size
    text = path.read_bytes()
    assert text.index(b"x\n") < size // 2 < text.index(b"\ny")
    result, table, rejects = ingest_with(monkeypatch, path, 2)
    assert (result.accepted, result.rejected) == (399, 1)
    assert [(q["line"], q["record"]) for q in rejects] == [(3401, 400)]
    assert table.column("备注").to_pylist()[200] == "x" + "\n" * 3000 + "y"


def test_scan_finds_blank_lines_and_cuts_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "SCAN_BYTES", 7)
    rng = random.Random(5)
    path = tmp_path / "f.csv"
    for _ in range(400):
        data = bytes(rng.choice(b"ab\r\n\n,") for _ in range(rng.randint(1, 60)))
        path.write_bytes(data)
        parts = rng.randint(1, 4)
        scanned = readers.scan(path, parts)
        assert scanned.blank == (b"\n\n" in data or b"\n\r\n" in data), data
        assert scanned.newlines == data.count(b"\n")
        assert scanned.ends_with_newline == data.endswith(b"\n")
        for offset, newlines in scanned.cuts:
            assert 0 < offset < len(data) and data[offset - 1 : offset] == b"\n"
            assert newlines == data[:offset].count(b"\n")
        wanted = sorted(
            {
                data.index(b"\n", len(data) * k // parts) + 1
                for k in range(1, parts)
                if b"\n" in data[len(data) * k // parts :]
            }
            - {len(data)}
        )
        assert [offset for offset, _ in scanned.cuts] == wanted, (data, parts)
    assert readers.scan(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_scan_started_ahead_is_the_scan_the_ingest_would_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "SPLIT_BYTES", 0)
    monkeypatch.setattr(readers, "STREAMS", 3)
    path = write(tmp_path / "c.csv", claims(500))
    ahead = readers.scan_ahead(path).result(timeout=30)
    assert ahead == readers.scan(path, readers.parts_for(path, "csv")) and len(ahead.cuts) == 2
    result = services.ingest("medical_claims", path, scanned=readers.scan_ahead(path))
    assert (result.accepted, result.rejected) == (500, 0)
    missing = readers.scan_ahead(tmp_path / "gone.csv")
    with pytest.raises(FileNotFoundError):
        missing.result(timeout=30)
    with pytest.raises(FileRejected, match="文件不存在"):  # named before the future is asked
        services.ingest("medical_claims", tmp_path / "gone.csv", scanned=missing)


def test_trimmed_is_arrows_trim_and_leaves_clean_columns_alone() -> None:
    """Columns are trimmed only when their bytes may hold whitespace: the result must be the trim's on every
    column, including those let through untouched, and a clean column must not be copied."""
    rng = random.Random(3)
    spaces = [
        " ",
        "\t",
        "\n",
        "\r",
        "\x0b",
        "\x0c",
        "\x1c",
        "\u3000",
        "\xa0",
        "\x85",
        "\u1680",
        "\u2003",
        "\u205f",
    ]
    others = ["a", "1", "王", "花", "是", "“", "é", "\U00020000", "\u3001", "-", "."]
    untouched = 0
    for _ in range(5000):
        alphabet = others + spaces[: rng.choice([0, 0, 1, len(spaces)])]
        values = [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(rng.randint(1, 4))
        ]
        column = pa.array(values, pa.string())
        got = readers.trimmed(column)
        untouched += got is column
        assert got.to_pylist() == pc.utf8_trim_whitespace(column).to_pylist(), values
    assert untouched > 1000  # clean columns do pass through as they are
    ids = pa.array(["372423195406093046", "  372423198004187166　"])
    assert readers.trimmed(ids).to_pylist() == ["372423195406093046", "372423198004187166"]
    assert readers.trimmed(pa.array(["", ""], pa.string())).to_pylist() == ["", ""]


def test_a_batch_leaves_out_only_the_checks_none_of_its_rows_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Checks are dropped per batch when Arrow's lengths or the numpy facts prove no row fails them: the
    clean batches must run fewer, and every bad row, each in a batch of its own, must still be caught."""
    rows = claims(3000)
    wrong_check = rows[2100][1][:-1] + ("1" if rows[2100][1][-1] != "1" else "2")
    bad = {
        100: (0, "", "claim_id"),
        900: (2, "名" * 51, "name"),
        1500: (1, "12345", "id_number"),
        2100: (1, wrong_check, "id_number"),
        2400: (1, testing.make_id_number(dt.date(1990, 1, 1), 3, True, place="379999"), "id_number"),
        2700: (3, "2026-02-30", "settle_date"),
    }
    for i, (column, value, _) in bad.items():
        rows[i][column] = value
    kept: list[int] = []
    any_bad_for = ingest._Plan.any_bad_for

    def counted(plan: ingest._Plan, batch: pa.Table) -> str:
        sql = any_bad_for(plan, batch)
        kept.append(sql.count("COALESCE("))
        return sql

    monkeypatch.setattr(ingest._Plan, "any_bad_for", counted)
    result, _, rejects = ingest_with(monkeypatch, write(tmp_path / "c.csv", rows), streams=1)
    assert (result.accepted, result.rejected) == (3000 - len(bad), len(bad))
    assert sorted((q["line"], q["column"]) for q in rejects) == [(i + 2, c) for i, (_, _, c) in bad.items()]
    assert len(kept) >= 5 and min(kept) < max(kept)  # clean batches ran fewer checks than the bad ones
