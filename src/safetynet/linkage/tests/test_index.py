"""The blocking index follows the registry: an import re-files only the persons it added or changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.linkage import services
from safetynet.linkage.models import IndexedPerson, PersonKey
from safetynet.linkage.services import Linker
from safetynet.registry import services as registry
from safetynet.registry.models import Person
from safetynet.registry.specs import SPECS

pytestmark = pytest.mark.django_db


def test_an_import_refiles_only_whom_it_added_or_changed(county, county_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert IndexedPerson.objects.count() == Person.objects.count() == 5  # the first import built it whole
    wang = Person.objects.get(name="王建国")
    # his household's keys hold his phone too (a relative's number finds them): all of H001 is re-filed
    h001 = Person.objects.filter(household_id="H001").values_list("id_number", flat=True)
    untouched = set(PersonKey.objects.exclude(id_number__in=list(h001)).values_list("pk", flat=True))
    assert PersonKey.objects.filter(key="h:13812345678").count() == 2  # 李秀英 and 王小红, by his number
    assert PersonKey.objects.filter(key="p:13812345678").exists()

    # The next month's registry: 王建国 has a new phone, and a grandson was born into H003.
    files = testing.write_county(county_dir)
    headers = {spec.name: [c.name for c in spec.columns] for spec in SPECS}
    persons = [list(row) for row in files["persons"]]
    phone = headers["persons"].index("phone")
    for row in persons:
        if row[0] == wang.id_number:
            row[phone] = "13912345678"
    baby = testing.person(dt.date(2026, 1, 5), 9, True, "刘小宝", "H003", "grandchild", "", "0")
    persons.append(baby)
    testing.write_csv(county_dir / "persons.csv", headers["persons"], persons)
    result = registry.import_registry(county_dir)
    assert not result.errors, result.errors

    assert services.update_index() == services.IndexUpdate(0, 0, False)  # the import already did it
    assert not PersonKey.objects.filter(key="p:13812345678").exists()  # the old phone finds no one
    assert PersonKey.objects.filter(key="p:13912345678", id_number=wang.id_number).exists()
    assert (
        PersonKey.objects.filter(key="h:13912345678").count() == 2
        and not PersonKey.objects.filter(key="h:13812345678").exists()
    )
    assert PersonKey.objects.filter(id_number=baby[0]).exists()
    # nobody else's keys were touched: the same rows, not rewritten
    assert untouched <= set(PersonKey.objects.values_list("pk", flat=True))
    found = Linker(as_of=testing.FROZEN_NOW.date()).link({"name": "刘小宝", "address_text": "观城镇南张村"})
    assert found.best is not None and found.best.id_number == baby[0]
    # and the incremental index is the index a rebuild makes
    incremental = set(PersonKey.objects.values_list("key", "id_number", "region_code"))
    services.rebuild_index()
    assert set(PersonKey.objects.values_list("key", "id_number", "region_code")) == incremental


def test_most_of_the_registry_changed_rebuilds_whole(county, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(services, "REBUILD_MIN", 0)
    IndexedPerson.objects.update(digest="stale")
    assert services.update_index().rebuilt
    assert services.update_index() == services.IndexUpdate(0, 0, False)


def test_an_id_tail_is_read_under_the_surname_and_an_index_filed_before_still_finds_it(county) -> None:  # type: ignore[no-untyped-def]
    """A masked ID's last four digits are read under the surname (at a million persons a tail alone is a
    hundred people to compare). An index filed before that (plain tails only, until the next import or
    `safetynet linkage index`) is read by its plain tails, and still finds the person."""
    wang = Person.objects.get(name="王建国")
    masked = {"name": "王建国", "id_number": wang.id_number[:4] + "*" * 10 + wang.id_number[-4:]}
    linker = Linker(as_of=dt.date(2026, 6, 30))
    keys = linker.schema.lookup_keys(linker.prepare(masked))
    assert (
        f"u:wan|{wang.id_number[-4:]}" in keys
    )  # fuzzy pinyin: wang → wan and not [k for k in keys if k.startswith("t:")]
    # Nameless, the tail is read alone.
    nameless = linker.schema.lookup_keys(linker.prepare({"id_number": masked["id_number"]}))
    assert f"t:{wang.id_number[-4:]}" in nameless
    assert linker.link(masked).best.id_number == wang.id_number  # type: ignore[union-attr]

    PersonKey.objects.filter(key__startswith="u:").delete()  # as an index filed by keys version 2
    old = Linker(as_of=dt.date(2026, 6, 30))
    keys = old.schema.lookup_keys(old.prepare(masked))
    assert f"t:{wang.id_number[-4:]}" in keys and not [k for k in keys if k.startswith("u:")]
    assert old.link(masked).best.id_number == wang.id_number  # type: ignore[union-attr]
