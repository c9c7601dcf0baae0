"""Screening runs on a generated county: every planted event found and explained, near-misses quiet,
repeat runs quiet, changed evidence warned again, dry runs compared."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest
from django.utils import timezone

from safetynet.lake import services as lake
from safetynet.registry.models import Standard
from safetynet.screening import services
from safetynet.screening.models import RiskWarning, Run
from safetynet.screening.packs import LEVELS
from safetynet.screening.tests.conftest import AS_OF, read_csv

pytestmark = pytest.mark.django_db


def found(run: Run) -> dict[tuple[str, str], RiskWarning]:
    return {(w.household_id, w.rule_id): w for w in run.warnings.all()}


def test_default_pack_finds_every_planted_event_and_nothing_else(demo_lake: Path) -> None:
    run = services.screen(as_of=AS_OF)
    warnings = found(run)
    truth: dict[str, set[str]] = defaultdict(set)
    for row in read_csv(demo_lake / "ground_truth.csv"):
        truth[row["event"]].add(row["household_id"])
    assert len(truth) == 14, "the generator plants every rule"
    for rule_id, households in truth.items():
        hits = {h for (h, r) in warnings if r == rule_id}
        recall = len(hits & households) / len(households)
        assert recall >= 0.99, (rule_id, recall, sorted(households - hits)[:5])
        assert hits <= households, (
            rule_id,
            "fires where the contract says it must not",
            sorted(hits - households)[:5],
        )

    near = read_csv(demo_lake / "near_misses.csv")
    assert {row["kind"] for row in near} == {
        "below_threshold",
        "already_covered",
        "elderly_death_no_dependants",
        "income_at_line",
    }
    for row in near:
        assert (row["household_id"], row["rule_id"]) not in warnings, row

    batches = {b for ids in run.input_batches.values() for b in ids}
    for w in warnings.values():
        assert w.explanation and "{" not in w.explanation and "None" not in w.explanation, w.explanation
        assert w.level in LEVELS and w.score > 0 and len(w.fingerprint) == 64
        assert w.evidence[-1] == {"source": "registry", "snapshot": run.snapshot_id, "key": w.household_id}
        assert all(e["batch"] in batches for e in w.evidence if "batch" in e)
    # The values that fired a rule are on the warning, e.g. the costs and income of medical_burden.
    medical = next(w for w in warnings.values() if w.rule_id == "medical_burden")
    assert float(medical.values["h.out_of_pocket"]) >= 10000 and medical.values["h.covered"] is False
    assert any(e["source"] == "medical_claims" for e in medical.evidence)
    assert run.status == Run.Status.DONE and run.households > 0 and set(run.timings) >= {"f_persons", "fetch"}


def test_levels_follow_the_contract(demo_lake: Path) -> None:
    run = services.screen(as_of=AS_OF)
    truth = {(r["household_id"], r["event"]): r["detail"] for r in read_csv(demo_lake / "ground_truth.csv")}
    for (household, rule_id), w in found(run).items():
        detail = truth[(household, rule_id)]
        facts = dict(part.split("=", 1) for part in detail.split(";"))
        if rule_id in ("medical_burden", "elderly_alone", "rejected_then_hardship"):  # the generator's reading
            assert facts["level"] == w.level, (rule_id, w.level, detail)
        if rule_id in ("breadwinner_death", "child_without_guardian"):
            assert w.level == "red"
        if rule_id == "disaster_loss":  # red for a severe or total loss, orange for a lighter one with damage
            severe = facts["loss_level"] in ("severe", "total")
            assert w.level == ("red" if severe else "orange"), detail
            assert severe or facts["house_damaged"] == "true", detail


def test_a_second_run_is_identical_and_raises_nothing_new(demo_lake: Path) -> None:
    first = services.screen(as_of=AS_OF)
    second = services.screen(as_of=AS_OF)
    a, b = found(first), found(second)
    assert {k: (w.id_number, w.level, w.explanation, w.fingerprint) for k, w in a.items()} == {
        k: (w.id_number, w.level, w.explanation, w.fingerprint) for k, w in b.items()
    }
    assert all(w.status == RiskWarning.Status.OPEN for w in a.values())
    assert all(w.status == RiskWarning.Status.SUPPRESSED and w.previous_id == a[k].pk for k, w in b.items())
    assert sum(c["new"] for c in second.counts.values()) == 0
    assert RiskWarning.objects.filter(status=RiskWarning.Status.OPEN).count() == len(a)


def test_changed_evidence_warns_again_and_unfounded_stays_quiet_for_180_days(
    demo_lake: Path, tmp_path: Path
) -> None:
    first = found(services.screen(as_of=AS_OF))
    medical = next(w for (h, r), w in sorted(first.items()) if r == "medical_burden")
    other = next(w for (h, r), w in sorted(first.items()) if r == "medical_burden" and w.pk != medical.pk)
    # One more claim for the first household arrives in a new batch.
    path = tmp_path / "more_claims.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["claim_id", "id_number", "settle_date", "out_of_pocket"])
        writer.writerow(
            ["YB-LATE-0001", medical.id_number, (AS_OF - dt.timedelta(days=3)).isoformat(), "5000"]
        )
    assert lake.ingest("medical_claims", path).accepted == 1
    lake.snapshot_registry(__import__("safetynet.registry.services", fromlist=["x"]).snapshot_tables())
    # The other household's warning was verified: no hardship found.
    RiskWarning.objects.filter(pk=other.pk).update(
        status=RiskWarning.Status.UNFOUNDED, outcome_at=timezone.now()
    )

    again = found(services.screen(as_of=AS_OF))
    renewed = again[(medical.household_id, "medical_burden")]
    assert renewed.status == RiskWarning.Status.OPEN and renewed.previous_id == medical.pk
    assert any(e["key"] == "YB-LATE-0001" for e in renewed.evidence)
    assert RiskWarning.objects.get(pk=medical.pk).status == RiskWarning.Status.SUPERSEDED
    assert again[(other.household_id, "medical_burden")].status == RiskWarning.Status.SUPPRESSED

    # 181 days after the verdict, the same evidence is warned again.
    RiskWarning.objects.filter(pk=other.pk).update(outcome_at=timezone.now() - dt.timedelta(days=400))
    third = found(services.screen(as_of=AS_OF))
    assert third[(other.household_id, "medical_burden")].status == RiskWarning.Status.OPEN


def test_dry_run_of_an_edited_pack_compared_with_the_live_run(demo_lake: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access.services import Actor

    admin = Actor(make_user("admin", "county_admin", "371427000000"), "test")
    live = services.screen(as_of=AS_OF)
    pack = services.load(services.active_pack())
    edits = {
        r.id: services.RuleEdit(
            enabled=r.id != "repeat_hotline",
            level=r.level,
            condition=r.condition,
            params={k: str(v) for k, v in r.params.items()},
        )
        for r in pack.rules
    }
    edits["medical_burden"].params["min_out_of_pocket"] = "20000"
    version = services.save_pack(admin, services.apply_edits(pack, {}, edits), note="提高医疗阈值")
    assert version.version == 2 and version.active
    # A few verified outcomes, to report precision.
    verified = list(live.warnings.filter(rule_id="tekun_candidate")[:4])
    for w, outcome in zip(verified, ["founded", "founded", "founded", "unfounded"], strict=True):
        RiskWarning.objects.filter(pk=w.pk).update(status=outcome, outcome_at=timezone.now())

    dry = services.screen(as_of=AS_OF, dry_run=True, pack=version)
    assert set(dry.warnings.values_list("status", flat=True)) == {RiskWarning.Status.DRY_RUN}
    assert RiskWarning.objects.filter(status=RiskWarning.Status.OPEN, run=dry).count() == 0
    rows = {r.rule_id: r for r in services.compare_runs(live, dry)}
    assert (
        rows["repeat_hotline"].candidate == 0
        and rows["repeat_hotline"].dropped == rows["repeat_hotline"].base > 0
    )
    assert (
        rows["medical_burden"].added == 0 and 0 < rows["medical_burden"].dropped < rows["medical_burden"].base
    )
    assert rows["child_without_guardian"].added == rows["child_without_guardian"].dropped == 0
    assert rows["tekun_candidate"].precision == 0.75


def test_household_level_is_highest_raised_at_three_rules() -> None:
    assert services.household_level(["yellow"]) == "yellow"
    assert services.household_level(["yellow", "orange"]) == "orange"
    assert services.household_level(["yellow", "yellow", "yellow"]) == "orange"
    assert services.household_level(["orange", "yellow", "yellow"]) == "red"
    assert services.household_level(["red", "red", "red"]) == "red"
    assert services.household_level([]) is None


def test_export_writes_the_contract_csv(demo_lake: Path, tmp_path: Path) -> None:
    run = services.screen(as_of=AS_OF)
    out = tmp_path / "warnings.csv"
    rows = services.export_warnings(out, run.pk)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == services.EXPORT_COLUMNS
        exported = list(reader)
    assert len(exported) == rows == run.warnings.count()
    assert all(json.loads(r["evidence"]) and r["level"] in LEVELS for r in exported)
    with pytest.raises(services.ScreeningError):
        services.export_warnings(out, 999_999)


def test_missing_standard_is_noted_and_low_income_rules_stay_quiet(demo_lake: Path) -> None:
    Standard.objects.all().delete()
    lake.snapshot_registry(__import__("safetynet.registry.services", fromlist=["x"]).snapshot_tables())
    run = services.screen(as_of=AS_OF)
    assert run.notes and "低保标准" in run.notes[0]
    assert run.counts["serious_illness"]["hits"] == 0 and run.counts["severe_disability"]["hits"] == 0
    assert run.counts["child_without_guardian"]["hits"] > 0  # needs no income line


def test_registry_without_feeds_and_refusals(db, lake_dir: Path, county) -> None:  # type: ignore[no-untyped-def]
    run = services.screen(as_of=AS_OF)  # no snapshot yet, every feed empty: the run takes one itself
    assert run.status == Run.Status.DONE and run.households == 3
    with pytest.raises(services.ScreeningError, match="晚于今天"):
        services.screen(as_of=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(services.ScreeningError, match="未知的引擎"):
        services.screen(as_of=AS_OF, engine="oracle")


def test_a_stored_pack_that_no_longer_validates_is_refused_with_its_version(
    db, lake_dir: Path, county
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.registry import services as registry
    from safetynet.screening.models import RulePack

    lake.snapshot_registry(registry.snapshot_tables())
    broken = RulePack.objects.create(
        version=9, body=services.default_pack_text().replace("h.covered", "h.insured")
    )
    with pytest.raises(services.ScreeningError, match="第 9 版无法使用.*h.insured"):
        services.screen(as_of=AS_OF, pack=broken)
