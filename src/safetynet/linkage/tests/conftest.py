"""A generated county big enough for namesakes, homophones and the labelled leads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

AS_OF = dt.date(2026, 6, 30)
PERSONS = 4000


@pytest.fixture(scope="session")
def generated_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from safetynet.demo.generator import generate

    out = tmp_path_factory.mktemp("linkage") / "county"
    generate(out, persons=PERSONS, seed=5, as_of=AS_OF, workers=1)
    return out


@pytest.fixture
def demo_county(db, generated_county: Path) -> Path:  # type: ignore[no-untyped-def]
    """The county imported; the import rebuilds the blocking index."""
    from safetynet.registry import services

    result = services.import_registry(generated_county)
    assert not result.errors, result.errors[:3]
    return generated_county
