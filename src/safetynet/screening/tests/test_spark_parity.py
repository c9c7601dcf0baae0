"""DuckDB and Spark run the same plan: on the same inputs they must give identical warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from safetynet.screening import services
from safetynet.screening.tests.conftest import AS_OF

# Spark in local mode starts a JVM and runs ~40 small jobs: the process-level pass runs it (PostgreSQL).
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def warnings_of(run) -> dict:  # type: ignore[no-untyped-def]
    return {
        (w.household_id, w.rule_id): (
            w.id_number,
            w.level,
            str(w.score),
            w.explanation,
            w.values,
            w.evidence,
            w.fingerprint,
        )
        for w in run.warnings.all()
    }


def test_duckdb_and_spark_give_identical_warnings(demo_lake: Path) -> None:
    duck = services.screen(as_of=AS_OF, engine="duckdb", dry_run=True)
    spark = services.screen(as_of=AS_OF, engine="spark", dry_run=True)
    a, b = warnings_of(duck), warnings_of(spark)
    assert len(a) > 200
    assert a.keys() == b.keys()
    different = [k for k in a if a[k] != b[k]]
    assert not different, [(k, a[k], b[k]) for k in different[:3]]
    assert duck.households == spark.households and duck.counts == spark.counts
