"""A long batch reads the next chunk's candidates on a second connection: the same results as in turn."""

from __future__ import annotations

import csv
import gc
import threading
from pathlib import Path

import pytest
from django.db import transaction

from safetynet.linkage import services
from safetynet.linkage.services import Linker
from safetynet.linkage.tests.conftest import AS_OF
from safetynet.registry.models import Person


@pytest.fixture
def committed_county(transactional_db, generated_county: Path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The county imported and committed (the reader's connection sees only committed rows), with 1,300
    ID-less leads: three chunks and a part."""
    from safetynet.demo.leads import write_labelled_leads
    from safetynet.registry import services as registry

    result = registry.import_registry(generated_county)
    assert not result.errors, result.errors[:3]
    write_labelled_leads(
        generated_county,
        13,
        AS_OF,
        1300,
        with_ids=False,
        leads_name="ahead.csv",
        truth_name="ahead_truth.csv",
    )
    with (generated_county / "ahead.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _summary(results: list[services.Result]) -> list[tuple[str, list[tuple[str, float]]]]:
    return [(r.decision, [(c.id_number, round(c.probability, 12)) for c in r.candidates]) for r in results]


def test_reading_ahead_gives_what_reading_in_turn_gives(committed_county, monkeypatch, make_user) -> None:  # type: ignore[no-untyped-def]
    leads = committed_county
    assert len(leads) > services.QUERY_CHUNK * (services.READ_AHEAD_CHUNKS - 1)
    # A record a person has decided, and one that cannot be read: both must come out in their place.
    person = Person.objects.order_by("id_number").first()
    assert person is not None
    decided = {"name": person.name, "age": "30"}
    leads = [*leads[:700], decided, {"name": "王五", "birth_date": "1950-13-45"}, *leads[700:]]
    services.Decision.objects.create(
        fingerprint=services.fingerprint(services.clean(decided)),
        id_number=person.id_number,
        same=True,
        decided_by=make_user("clerk", "county", person.household.region_code[:6] + "000000"),
    )
    # A small cache: the reader forgets and reads again part way through, as at a million persons.
    monkeypatch.setattr(services, "MAX_PERSONS", 500)
    read_ahead: list[int] = []
    original = Linker._link_reading_ahead
    monkeypatch.setattr(
        Linker,
        "_link_reading_ahead",
        lambda self, chunks: read_ahead.append(len(chunks)) or original(self, chunks),
    )

    ahead = Linker(as_of=AS_OF).link_many(leads)
    with transaction.atomic():  # inside a transaction the linker reads in turn, on this connection
        in_turn = Linker(as_of=AS_OF).link_many(leads)

    assert read_ahead == [3]  # only the first batch read ahead
    assert _summary(ahead) == _summary(in_turn)
    assert ahead[700].best is not None and ahead[700].best.decided_by_person
    assert ahead[700].best.id_number == person.id_number
    assert ahead[701].error and ahead[701].decision == services.DecisionKind.UNKNOWN
    assert sum(r.decision == services.DecisionKind.MATCH for r in ahead) > len(leads) * 0.5
    assert gc.isenabled()  # paused for the batch only
    # The reader's thread is gone once the batch is done.
    assert not [t for t in threading.enumerate() if t.name.startswith("linkage-read")]
