"""The command line on a generated demo county: the contract's closing line, exit codes, idempotence."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safetynet.cli import app
from safetynet.demo.generator import generate
from safetynet.registry.models import Household, Person

pytestmark = pytest.mark.django_db
SUMMARY = re.compile(r"^accepted=(\d+) rejected=(\d+) batch=(\d+)( already ingested)?$")


@pytest.fixture(scope="module")
def demo_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "county"
    generate(out, persons=3000, seed=11, as_of=dt.date(2026, 11, 1))
    return out


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_demo_county_imports_and_reimport_changes_nothing(demo_county: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["registry", "import", str(demo_county)])
    assert first.exit_code == 0, first.output
    accepted, rejected, batch, noop = SUMMARY.match(last_line(first.output)).groups()  # type: ignore[union-attr]
    assert int(accepted) > 3000 and rejected == "0" and noop is None
    persons = {p.id_number: p.monthly_income for p in Person.objects.all()}
    assert len(persons) == 3000 and Household.objects.count() > 900

    second = runner.invoke(app, ["registry", "import", str(demo_county)])
    assert second.exit_code == 0
    assert last_line(second.output) == f"accepted=0 rejected=0 batch={batch} already ingested"
    assert {p.id_number: p.monthly_income for p in Person.objects.all()} == persons


def test_bad_rows_exit_non_zero_and_write_a_report(demo_county: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("regions", "households", "persons"):
        text = (demo_county / f"{name}.csv").read_text(encoding="utf-8")
        if name == "persons":
            lines = text.splitlines()
            lines[5] = (
                lines[5].replace(",M,", ",F,", 1) if ",M," in lines[5] else lines[5].replace(",F,", ",M,", 1)
            )
            text = "\n".join(lines) + "\n"
        (bad / f"{name}.csv").write_text(text, encoding="utf-8")
    report = tmp_path / "errors.csv"
    result = CliRunner().invoke(app, ["registry", "import", str(bad), "--report", str(report)])
    assert result.exit_code == 1
    assert SUMMARY.match(last_line(result.output)).group(2) == "1"  # type: ignore[union-attr]
    assert "性别" in report.read_text(encoding="utf-8-sig")
    assert not Person.objects.exists()


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["registry", "import", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "没有任何登记文件" in result.output
