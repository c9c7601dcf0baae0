"""Hotline calls without an ID number are resolved by the matcher, and repeat_hotline counts them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.linkage.batch import resolve_hotline
from safetynet.linkage.models import ResolvedBatch, Review

pytestmark = pytest.mark.django_db


def test_calls_resolved_by_name_place_and_a_mistyped_phone_count_for_repeat_hotline(
    county, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.lake import services as lake
    from safetynet.registry import services as registry
    from safetynet.screening import services as screening

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    today = dt.date.today()
    calls = [
        # 刘强 (H003, 观城镇南张村, 15055556666): no ID, the phone typed with one digit wrong, the village
        # said without 村; then a homophone name (柳) with +86 before the phone.
        [
            "RX1",
            f"{today - dt.timedelta(days=20)}T09:00:00",
            "刘强",
            "15055556667",
            "",
            "观城镇南张",
            "生病住院，家里没收入",
        ],
        [
            "RX2",
            f"{today - dt.timedelta(days=6)}T10:30:00",
            "柳强",
            "+86-150-5555-6666",
            "",
            "观城南张",
            "再次来电求助",
        ],
        # Someone the registry does not know.
        [
            "RX3",
            f"{today - dt.timedelta(days=3)}T11:00:00",
            "欧阳娜娜",
            "13700000000",
            "",
            "燕店镇",
            "咨询政策",
        ],
    ]
    path = testing.write_csv(
        tmp_path / "hotline.csv",
        ["call_id", "called_at", "caller_name", "caller_phone", "id_number", "region_text", "summary"],
        calls,
    )
    landed = lake.ingest("hotline", path)
    from safetynet.lake.models import Batch

    assert landed.accepted == 3, lake.read_quarantine(Batch.objects.get(pk=landed.batch_id))
    lake.snapshot_registry(registry.snapshot_tables())
    run = screening.screen()
    resolved = ResolvedBatch.objects.get()
    assert resolved.rows == 3 and resolved.matched == 2
    warning = run.warnings.get(rule_id="repeat_hotline")
    assert warning.household_id == "H003"
    evidence = {e.get("key") for e in warning.evidence if e.get("source") == "hotline"}
    assert evidence == {"RX1", "RX2"}, warning.evidence
    # Nothing changed: the next run resolves nothing again and raises no duplicate.
    assert resolve_hotline() == 0
    again = screening.screen()
    assert not again.warnings.filter(rule_id="repeat_hotline", status="open").exclude(pk=warning.pk).exists()
    assert Review.objects.count() <= 1  # only an uncertain call would wait for a person


def test_feed_rows_quarantined_for_a_mistyped_id_land_again_under_the_person(
    county, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.lake import services as lake
    from safetynet.lake.models import Batch
    from safetynet.linkage.batch import recover_quarantined_ids
    from safetynet.linkage.chinese import id_valid
    from safetynet.linkage.models import Recovery
    from safetynet.registry import services as registry
    from safetynet.registry.models import Person
    from safetynet.screening import services as screening

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    liu = Person.objects.get(name="刘强").id_number
    wrong = liu[:9] + str((int(liu[9]) + 1) % 10) + liu[10:]  # one digit keyed wrong: the check fails
    stranger = next(n for n in (wrong[:-1] + c for c in "0123456789X") if not id_valid(n) and n != wrong)
    day = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    header = [
        "claim_id",
        "id_number",
        "name",
        "settle_date",
        "inpatient",
        "total_cost",
        "fund_paid",
        "out_of_pocket",
        "diagnosis_code",
        "serious_illness",
    ]
    rows = [
        ["YB1", wrong, "刘强", day, "是", "30000", "12000", "18000", "C34.9", "是"],
        ["YB2", wrong, "刘强", day, "是", "-5", "0", "-5", "C34.9", "是"],  # also negative money: stays
        ["YB3", stranger, "查无此人", day, "否", "100", "50", "50", "J18.9", "否"],  # nobody: stays
    ]
    landed = lake.ingest("medical_claims", testing.write_csv(tmp_path / "claims.csv", header, rows))
    assert landed.accepted == 0 and landed.rejected == 3
    lake.snapshot_registry(registry.snapshot_tables())
    run = screening.screen()
    recovered = Batch.objects.get(source="medical_claims", department="linkage")
    assert recovered.accepted == 1 and recovered.rejected == 0
    assert list(Recovery.objects.values_list("line", "id_number")) == [(2, liu)]
    assert recovered.pk in run.input_batches["medical_claims"]

    from safetynet.lake import storage

    fs, root = storage.filesystem()
    table = lake.landed("medical_claims", recovered.pk).to_pylist()
    assert [(r["claim_id"], r["id_number"], r["recovered_from"]) for r in table] == [
        ("YB1", liu, f"{landed.batch_id}:2")
    ]
    assert recover_quarantined_ids() == 0  # each row once
    screening.screen()
    assert Batch.objects.filter(source="medical_claims", department="linkage").count() == 1
