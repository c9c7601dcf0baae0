"""`safetynet screen` and `safetynet warnings export|compare` as an operator runs them."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetynet.cli import app
from safetynet.screening.models import Run

pytestmark = pytest.mark.django_db
SUMMARY = re.compile(
    r"^run=(\d+) pack=v1 engine=duckdb as_of=\S+ households=3 warnings=(\d+) new=(\d+) suppressed=(\d+)"
)


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_screen_export_and_compare(screened_county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    result = runner.invoke(app, ["screen"])
    assert result.exit_code == 0, result.output
    run_id, warnings, new, suppressed = SUMMARY.match(last_line(result.output)).groups()  # type: ignore[union-attr]
    assert int(warnings) >= 2 and new == "0" and suppressed == warnings  # the fixture's run raised them first

    dry = runner.invoke(app, ["screen", "--dry-run", "--pack-version", "1"])
    assert dry.exit_code == 0, dry.output
    assert Run.objects.get(pk=int(last_line(dry.output).split()[0][4:])).dry_run

    out = tmp_path / "w.csv"
    exported = runner.invoke(app, ["warnings", "export", str(out), "--run", run_id])
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == int(warnings) and {r["run_id"] for r in rows} == {run_id}

    compared = runner.invoke(app, ["warnings", "compare", str(screened_county.pk), run_id])
    assert compared.exit_code == 0 and "child_without_guardian" in compared.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen", "--as-of", "2026-13-01"], "YYYY-MM-DD"),
        (["screen", "--as-of", "2999-01-01"], "晚于今天"),
        (["screen", "--engine", "oracle"], "未知的引擎"),
        (["screen", "--pack-version", "7"], "没有第 7 版规则包"),
        (["warnings", "export", "/tmp/x.csv", "--run", "999"], "没有编号为 999"),
        (["warnings", "compare", "1", "999"], "不存在"),
    ],
)
def test_bad_arguments_get_a_clear_message(screened_county, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_screen_before_any_import_explains_what_to_do(db, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    result = CliRunner().invoke(app, ["screen"])
    assert result.exit_code == 2 and "safetynet registry import" in result.output
