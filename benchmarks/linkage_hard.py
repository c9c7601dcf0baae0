"""Benchmark: identity resolution on the hard labelled county of benchmarks/hard_county.py, beside Splink.

The county and its leads are written from the issue's description of a real county, not from the matcher
(clan villages, cohort names, a son's phone, 虚岁, aliases, homophone villages, villages of one name in two
townships). This imports its registry into PostgreSQL (--database, created if missing, reused), trains the
model on the leads themselves without labels (as Splink is trained), links every lead with
`Linker.link_many` and scores against the truth file:

- automatic decisions (`match`): precision, recall over the leads about registered people, and recall
  over those a careful person could identify (the truth file flags the deliberately underspecified ones);
- not-registered leads decided `match` to anyone (the aim: at most 0.5 %);
- F1 at the county's match threshold and the best F1 over every threshold on the best candidate's
  probability, to set beside Splink's (benchmarks/hard_county_splink.py, run on the same files);
- throughput in records per second, beside the same leads read in turn (no second connection).

    .venv/bin/python benchmarks/hard_county.py --persons 200000 --leads 5000 --out /tmp/hard200k
    .venv/bin/python benchmarks/linkage_hard.py --dir /tmp/hard200k [--aliases] [--splink]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from linkage import read_csv, setup  # noqa: E402 - shared setup: the database, rate limits

AS_OF = dt.date(2026, 12, 1)  # the generator counts ages to this day


def load(folder: Path) -> float:
    from safetynet.registry import services
    from safetynet.registry.models import Person

    if Person.objects.exists():
        return 0.0
    start = time.perf_counter()
    result = services.import_registry(folder)
    assert not result.errors, result.errors[:5]
    return time.perf_counter() - start


def aliases(folder: Path, use: bool) -> int:
    from safetynet.linkage import services

    rows = read_csv(folder / "village_aliases.csv") if use else []
    return services.replace_aliases([(r["alias"], r["region_code"]) for r in rows], by="benchmark")


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(
    leads: list[dict[str, str]], truth: dict[str, dict[str, str]], results: list[Any]
) -> dict[str, Any]:
    from safetynet.linkage.batch import curve
    from safetynet.linkage.services import DecisionKind

    registered = [lead for lead in leads if truth[lead["record_id"]]["true_id_number"]]
    careful = [lead for lead in registered if truth[lead["record_id"]]["underspecified"] == "0"]
    outsiders = len(leads) - len(registered)
    auto = right = right_careful = outsiders_matched = 0
    scored: list[tuple[float, bool]] = []
    misses: Counter[str] = Counter()
    for lead, result in zip(leads, results, strict=True):
        expected = truth[lead["record_id"]]["true_id_number"]
        best = result.best
        if best is not None:
            scored.append((best.probability, bool(expected) and best.id_number == expected))
        if result.decision == DecisionKind.MATCH and best is not None:
            auto += 1
            right += best.id_number == expected
            right_careful += best.id_number == expected and truth[lead["record_id"]]["underspecified"] == "0"
            outsiders_matched += not expected
            if best.id_number != expected:
                misses[f"wrong:{truth[lead['record_id']]['how']}"] += 1
        elif expected and truth[lead["record_id"]]["underspecified"] == "0":
            found = best is not None and best.id_number == expected
            misses[f"{result.decision}:{'best' if found else 'other'}"] += 1
    precision = right / auto if auto else 1.0
    recall = right / len(registered)
    points = curve(scored, len(registered))
    best_f1, at = max(((f1(p, r), t) for t, p, r in points), default=(0.0, 0.0))
    return {
        "leads": len(leads),
        "registered": len(registered),
        "careful": len(careful),
        "not_registered": outsiders,
        "decisions": Counter(r.decision for r in results),
        "auto_precision": round(precision, 4),
        "auto_recall": round(recall, 4),
        "auto_recall_careful": round(right_careful / len(careful), 4) if careful else 1.0,
        "f1_at_threshold": round(f1(precision, recall), 4),
        "best_f1": round(best_f1, 4),
        "best_f1_threshold": at,
        "not_registered_matched": round(outsiders_matched / outsiders, 4) if outsiders else 0.0,
        "misses": misses.most_common(12),
    }


def picks(results: list[Any]) -> list[tuple[str, str]]:
    return [(r.decision, r.best.id_number if r.best else "") for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--database", default="")
    parser.add_argument("--aliases", action="store_true", help="give the matcher the county's alias table")
    parser.add_argument("--splink", action="store_true", help="also run Splink on the same files")
    parser.add_argument("--no-train", action="store_true", help="link with the model as it is")
    parser.add_argument("--no-baseline", action="store_true", help="skip linking again in turn")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each (best taken)")
    args = parser.parse_args()
    database = args.database or f"postgresql://postgres@127.0.0.1:5432/safetynet_hard_{args.dir.name}"
    setup(database, Path("bench-out") / f"hard-{args.dir.name}")
    from safetynet.linkage.services import Linker, train

    report: dict[str, Any] = {
        "import_s": round(load(args.dir), 1),
        "aliases": aliases(args.dir, args.aliases),
    }
    leads = read_csv(args.dir / "leads.csv")
    truth = {r["record_id"]: r for r in read_csv(args.dir / "leads_truth.csv")}
    if not args.no_train:
        start = time.perf_counter()
        train(leads, as_of=AS_OF, note="hard county benchmark")
        report["train_s"] = round(time.perf_counter() - start, 1)
    from safetynet.linkage import services

    # Reading ahead (the next chunk's candidates read on a second connection while this one is compared)
    # against reading in turn, on the same leads in the same run: alternated, best of each, so that
    # neither gets the warmer caches.
    results: list[Any] = []
    ahead_s: list[float] = []
    in_turn_s: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        results = Linker(as_of=AS_OF).link_many(leads)
        ahead_s.append(time.perf_counter() - start)
        if not args.no_baseline:
            services.READ_AHEAD_CHUNKS, kept = sys.maxsize, services.READ_AHEAD_CHUNKS
            start = time.perf_counter()
            in_turn = Linker(as_of=AS_OF).link_many(leads)
            in_turn_s.append(time.perf_counter() - start)
            services.READ_AHEAD_CHUNKS = kept
            report["same_decisions_in_turn"] = picks(results) == picks(in_turn)
    report["records_per_s"] = round(len(leads) / min(ahead_s), 1)
    if in_turn_s:
        report["in_turn_records_per_s"] = round(len(leads) / min(in_turn_s), 1)
        report["read_ahead_speedup"] = round(min(in_turn_s) / min(ahead_s), 2)
    report.update(score(leads, truth, results))
    with (args.dir / "ours_best.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["record_id", "decision", "probability", "candidate", "true_id_number", "how"])
        for lead, r in zip(leads, results, strict=True):
            t = truth[lead["record_id"]]
            out.writerow([lead["record_id"], r.decision, r.best.probability if r.best else 0,
                          r.best.id_number if r.best else "", t["true_id_number"], t["how"]])  # fmt: skip
    print(json.dumps(report, ensure_ascii=False, default=str))
    if args.splink:
        here = Path(__file__).parent
        cmd = [sys.executable, str(here / "hard_county_splink.py"), "--dir", str(args.dir)]
        done = subprocess.run(
            [*cmd, *([] if args.aliases else ["--no-aliases"])], capture_output=True, text=True
        )
        print("splink:", done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])


if __name__ == "__main__":
    main()
