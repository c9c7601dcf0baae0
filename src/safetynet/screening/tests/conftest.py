"""A generated demo county landed in a fresh lake: registry imported, every feed ingested, snapshot taken."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

AS_OF = dt.date(2026, 6, 15)
PERSONS = 6000
SEED = 4242


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once per test session: the files never change, only what tests load from them."""
    from safetynet.demo.generator import generate

    folder = tmp_path_factory.mktemp("demo") / "county"
    generate(folder, persons=PERSONS, seed=SEED, as_of=AS_OF)
    return folder


@pytest.fixture
def lake_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    return tmp_path / "lake"


@pytest.fixture
def demo_lake(db, lake_dir: Path, demo_files: Path) -> Path:  # type: ignore[no-untyped-def]
    """The demo county in the registry and the lake, as `safetynet demo` loads it."""
    from safetynet.lake import services as lake
    from safetynet.lake.sources import FEEDS
    from safetynet.registry import services as registry

    result = registry.import_registry(demo_files)
    assert not result.errors, result.errors[:3]
    for source in FEEDS:
        landed = lake.ingest(source, demo_files / f"{source}.csv", submitted_by="test")
        assert not landed.whole_file_rejected, landed.message
    lake.snapshot_registry(registry.snapshot_tables())
    return demo_files


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))
