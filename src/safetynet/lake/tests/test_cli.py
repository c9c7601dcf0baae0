"""`safetynet ingest`, `safetynet lake token create` and `safetynet lake snapshot` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetynet import testing
from safetynet.cli import app
from safetynet.lake import services
from safetynet.lake.models import DepartmentToken

pytestmark = pytest.mark.django_db
SUMMARY = re.compile(r"^accepted=(\d+) rejected=(\d+) batch=(\d+)( already ingested)?$")


@pytest.fixture(autouse=True)
def lake(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")


def deaths(tmp_path: Path, rows: list[list[str]]) -> Path:
    return testing.write_csv(tmp_path / "deaths.csv", ["id_number", "name", "death_date"], rows)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_ingest_prints_the_contract_line_and_is_idempotent(tmp_path: Path) -> None:
    person = testing.make_id_number(dt.date(1966, 4, 2), 7, True)
    path = deaths(tmp_path, [[person, "赵大山", "2026-10-01"], ["12345", "错号", "2026-10-02"]])
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", "deaths", str(path)])
    assert first.exit_code == 0, first.output
    assert SUMMARY.match(last_line(first.output)).groups()[:2] == ("1", "1")  # type: ignore[union-attr]
    again = runner.invoke(app, ["ingest", "deaths", str(path)])
    assert again.exit_code == 0 and last_line(again.output).endswith("already ingested")


def test_exit_codes_for_whole_file_rejections(tmp_path: Path) -> None:
    runner = CliRunner()
    all_bad = deaths(tmp_path, [["12345", "错号", "2026-10-02"]])
    assert runner.invoke(app, ["ingest", "deaths", str(all_bad)]).exit_code == 1
    no_column = testing.write_csv(tmp_path / "x.csv", ["id_number", "name"], [["1", "a"]])
    result = runner.invoke(app, ["ingest", "deaths", str(no_column)])
    assert result.exit_code == 1 and "缺少必需的列：death_date" in result.output
    unknown = runner.invoke(app, ["ingest", "weather", str(no_column)])
    assert unknown.exit_code == 2 and "未知的数据来源" in unknown.output


def test_token_is_printed_once_and_stored_hashed() -> None:
    result = CliRunner().invoke(
        app, ["lake", "token", "create", "--department", "县医保局", "--source", "medical_claims"]
    )
    assert result.exit_code == 0
    token = last_line(result.output)
    stored = DepartmentToken.objects.get()
    assert token.startswith("sn_") and token not in stored.token_hash and stored.sources == ["medical_claims"]
    assert services.authenticate_token(token) == stored
    assert services.authenticate_token(token + "x") is None
    bad = CliRunner().invoke(app, ["lake", "token", "create", "--department", "x", "--source", "weather"])
    assert bad.exit_code == 2


def test_snapshot_command(county) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["lake", "snapshot"])
    assert result.exit_code == 0 and "persons: 5" in result.output


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", "deaths", str(tmp_path / "无此文件.csv")])
    assert result.exit_code == 2 and "文件不存在" in result.output
