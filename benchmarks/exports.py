"""Benchmark: the warnings list exported as an Excel workbook, 100,000 rows, against a plain CSV dump.

A demo county (20,000 persons by default) is imported into a fresh SQLite database and 100,000 open warnings
are written for its households and persons (rules and levels drawn at random). Then, each in its own
process so its peak memory is its own:

- measured: `screening.services.sheet_rows_for` through `xlsx.workbook_response`, what 导出 Excel does for a
  county user: names of heads and persons, villages, rule titles, levels in words, masking, audit;
- baseline: the same rows' stored columns written with Python's csv module from one `values_list` query, the
  least an export can do.

    .venv/bin/python benchmarks/exports.py --rows 100000

Prints seconds and peak resident memory of both, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def prepare(county: Path, rows: int) -> None:
    setup()
    from safetynet.registry import services as registry
    from safetynet.registry.models import Person
    from safetynet.screening.models import RiskWarning, Run
    from safetynet.screening.services import active_pack, load

    assert not registry.import_registry(county).errors
    people = list(Person.objects.select_related("household").values_list("id_number", "household_id", "household__region_code"))
    rules = [r.id for r in load(active_pack()).rules]
    run = Run.objects.create(pack=active_pack(), engine="duckdb", as_of="2026-06-30", status=Run.Status.DONE)
    pick = random.Random(7)
    batch = []
    for i in range(rows):
        id_number, household, region = pick.choice(people)
        batch.append(RiskWarning(
            run=run, household_id=household, region_code=region, id_number=id_number, rule_id=pick.choice(rules),
            level=pick.choice(["red", "orange", "yellow"]), score=1, explanation=f"说明 {i}", fingerprint=str(i),
            status=RiskWarning.Status.OPEN,
        ))  # fmt: skip
        if len(batch) == 10_000:
            RiskWarning.objects.bulk_create(batch)
            batch = []
    RiskWarning.objects.bulk_create(batch)


def measured(out: Path) -> int:
    setup()
    from safetynet.access.services import Actor, create_user
    from safetynet.registry.models import Household
    from safetynet.screening import services
    from safetynet.xlsx import workbook_response

    county = Household.objects.values_list("region_code", flat=True).first()[:6] + "000000"  # type: ignore[index]
    from safetynet.access.models import User

    user = User.objects.filter(username="bench-export").first()
    actor = Actor(user or create_user("bench-export", "correct-horse-battery", "county", county), "benchmark")
    filters = services.WarningFilters(run_id=None, rule_id="", level="", status="open", region="")
    counted = [0]

    def rows():  # type: ignore[no-untyped-def]
        for row in services.sheet_rows_for(actor, filters):
            counted[0] += 1
            yield row

    response = workbook_response("w.xlsx", "预警", services.SHEET_HEADERS, rows())
    with out.open("wb") as f:
        for part in response.streaming_content:
            f.write(part)  # type: ignore[arg-type]
    return counted[0]


def baseline(out: Path) -> int:
    setup()
    import csv

    from safetynet.screening.models import RiskWarning

    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        n = 0
        for row in RiskWarning.objects.filter(status="open").values_list(
            "pk", "level", "rule_id", "household_id", "id_number", "region_code", "explanation", "status"
        ).iterator(chunk_size=2000):
            writer.writerow(row)
            n += 1
    return n


def run_variant(name: str, data: Path) -> dict[str, float]:
    env = {**os.environ, "SAFETYNET_DATA_DIR": str(data), "SAFETYNET_DATABASE_URL": f"sqlite:///{data}/db.sqlite3"}
    out = data / f"{name}.out"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--variant", name, str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--variant", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant and args.variant[0] == "prepare":
        prepare(Path(args.variant[1]), args.rows)
        return
    if args.variant:
        name, out = args.variant
        start = time.perf_counter()
        rows = {"measured": measured, "baseline": baseline}[name](Path(out))
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak}))
        return
    data = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    env = {**os.environ, "SAFETYNET_DATA_DIR": str(data), "SAFETYNET_DATABASE_URL": f"sqlite:///{data}/db.sqlite3"}
    county = data / "county"
    subprocess.run([sys.executable, "-m", "safetynet.cli", "demo-data", str(county), "--persons", str(args.persons),
                    "--as-of", "2026-06-30"], env=env, check=True, capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, __file__, "--variant", "prepare", str(county), "--rows", str(args.rows)],
                   env=env, check=True)  # fmt: skip
    results = {name: run_variant(name, data) for name in ("baseline", "measured")}
    m, b = results["measured"], results["baseline"]
    print(f"{args.rows:,} warnings, {args.persons:,} persons (SQLite, encrypted)")
    print(f"baseline  csv of stored columns   {b['seconds']:6.1f} s  peak {b['peak_mib']:6.0f} MiB  rows {b['rows']:,}")
    print(f"measured  Excel for staff         {m['seconds']:6.1f} s  peak {m['peak_mib']:6.0f} MiB  rows {m['rows']:,}")
    print(f"ratio     time {m['seconds'] / b['seconds']:.1f}×, memory {m['peak_mib'] / b['peak_mib']:.2f}×")


if __name__ == "__main__":
    main()
