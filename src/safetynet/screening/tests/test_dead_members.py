"""The contract: a dead person counts as a member for nothing but breadwinner_death. A disaster row, a
hotline call or a housing rating naming a member who has died does not reach the household."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.lake import services as lake
from safetynet.registry import services as registry
from safetynet.registry.models import Person
from safetynet.screening import services as screening

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _screen(tmp_path: Path, named: str, dead: bool) -> set[str]:
    """Rules fired for H001 (three members) when a severe disaster, two hotline calls and a D housing
    rating name `named`, one of its members."""
    day = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    if dead:
        deaths = testing.write_csv(tmp_path / "deaths.csv", ["id_number", "death_date"], [[named, day]])
        assert lake.ingest("deaths", deaths).accepted == 1
    feeds = {
        "disasters": (
            ["event_id", "event_name", "id_number", "region_code", "occurred_on", "loss_level", "house_damaged"],
            [["ZH-1", "暴雨", named, "", day, "severe", "true"]],
        ),
        "hotline": (
            ["call_id", "called_at", "caller_name", "caller_phone", "id_number", "region_text", "summary"],
            [[f"R{i}", f"{day}T10:0{i}:00+08:00", "", "", named, "", "求助"] for i in range(2)],
        ),
        "housing_safety": (["id_number", "region_code", "rating", "assessed_on"], [[named, "", "D", day]]),
    }
    for source, (header, rows) in feeds.items():
        assert lake.ingest(source, testing.write_csv(tmp_path / f"{source}.csv", header, rows)).accepted == len(rows)
    lake.snapshot_registry(registry.snapshot_tables())
    run = screening.screen()
    return {w.rule_id for w in run.warnings.filter(household_id="H001")}


def test_rows_naming_a_living_member_reach_the_household(county, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    spouse = Person.objects.get(household_id="H001", relation="spouse").id_number
    assert {"disaster_loss", "repeat_hotline"} <= _screen(tmp_path, spouse, dead=False)


def test_rows_naming_a_dead_member_do_not(county, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    spouse = Person.objects.get(household_id="H001", relation="spouse").id_number
    fired = _screen(tmp_path, spouse, dead=True)  # the head and a grandchild live on
    assert not fired & {"disaster_loss", "repeat_hotline", "dangerous_housing"}, fired
