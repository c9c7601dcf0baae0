"""Benchmark: what encrypting the embedded database (SQLCipher) costs, against the same work unencrypted.

For one demo county, each round runs twice in fresh data folders, once with the database encrypted (the
default) and once with `SAFETYNET_DATABASE_ENCRYPTION=off` (the baseline), in alternating order:

- the registry import with its linkage index (`registry.services.import_registry`);
- 2,000 scoped, audited searches by whole ID number (`registry.services.search_persons`): each reads the
  person and writes an audit entry;
- 500 online identity look-ups of the county's labelled leads (`linkage.services.lookup`, top-5, audited).

    .venv/bin/python benchmarks/encryption.py --persons 100000 --rounds 3

Prints each round and the medians, and the ratios encrypted / plain. It also scans the encrypted folder's
database files for whole ID numbers and phones (there must be none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

AS_OF = dt.date(2026, 6, 30)
WHOLE_ID = re.compile(rb"(?<![0-9])\d{17}[\dXx](?![0-9])")
WHOLE_PHONE = re.compile(rb"(?<![0-9])1[3-9]\d{9}(?![0-9])")


def worker(county: Path, searches: int, lookups: int) -> dict[str, Any]:
    """One mode's measurements, in this process (its environment chose the mode)."""
    from linkage import lift_rate_limits, percentile, read_csv

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    lift_rate_limits()
    from safetynet.access.services import Actor, create_user
    from safetynet.linkage import services as linkage
    from safetynet.registry import services as registry
    from safetynet.registry.models import Person

    start = time.perf_counter()
    result = registry.import_registry(county)
    assert not result.errors, result.errors[:3]
    imported = time.perf_counter() - start
    county_code = Person.objects.values_list("household__region_code", flat=True).first()[:6] + "000000"  # type: ignore[index]
    actor = Actor(create_user("bench-county", "correct-horse-battery", "county", county_code), "benchmark")
    ids = list(Person.objects.values_list("id_number", flat=True))
    random.Random(7).shuffle(ids)
    for id_number in ids[:100]:  # warm: connections, caches, the database's pages
        registry.search_persons(actor, id_number)
    found = []
    for id_number in ids[100 : 100 + searches]:
        started = time.perf_counter()
        assert registry.search_persons(actor, id_number)
        found.append((time.perf_counter() - started) * 1000)
    leads = read_csv(county / "linkage_leads.csv")
    sample = (leads * (lookups // max(len(leads), 1) + 1))[:lookups]
    looked = []
    for raw in sample:
        started = time.perf_counter()
        linkage.lookup(actor, raw, as_of=AS_OF)
        looked.append((time.perf_counter() - started) * 1000)
    return {
        "import_s": imported,
        "search_p50_ms": statistics.median(found),
        "search_p95_ms": percentile(found, 0.95),
        "lookup_p50_ms": statistics.median(looked),
        "lookup_p95_ms": percentile(looked, 0.95),
    }


def run_mode(county: Path, encrypted: bool, searches: int, lookups: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-encryption-") as folder:
        data = Path(folder)
        env = {
            **os.environ,
            "SAFETYNET_DATA_DIR": str(data),
            "SAFETYNET_DATABASE_URL": f"sqlite:///{data}/db.sqlite3",
            "SAFETYNET_DATABASE_ENCRYPTION": "on" if encrypted else "off",
        }
        env.pop("SAFETYNET_KEYS_DIR", None)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(county), "--searches", str(searches), "--lookups", str(lookups)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        files = [p for p in data.iterdir() if p.name.startswith("db.sqlite3")]
        on_disk = b"".join(p.read_bytes() for p in files)
        result["db_mib"] = len(on_disk) / 2**20
        result["ids_in_clear"] = len(WHOLE_ID.findall(on_disk))
        result["phones_in_clear"] = len(WHOLE_PHONE.findall(on_disk))
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.searches, args.lookups)))
        return
    cache = Path(os.environ.get("SAFETYNET_BENCH_CACHE", Path(tempfile.gettempdir()) / "safetynet-bench"))
    county = cache / f"encryption-county-{args.persons}"
    if not (county / "README.txt").exists():
        subprocess.run(
            [sys.executable, "-m", "safetynet.cli", "demo-data", str(county), "--persons", str(args.persons),
             "--as-of", AS_OF.isoformat()],
            check=True, env={**os.environ, "SAFETYNET_DATA_DIR": str(cache / "generator")},
        )  # fmt: skip
    rows: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for i in range(args.rounds):
        for encrypted in (True, False) if i % 2 == 0 else (False, True):
            result = run_mode(county, encrypted, args.searches, args.lookups)
            rows[encrypted].append(result)
            print(f"round {i + 1} {'encrypted' if encrypted else 'plain    '} {json.dumps(result)}", flush=True)
    print(f"\n{args.persons:,} persons, median of {args.rounds} rounds")
    print(f"{'measure':16} {'encrypted':>10} {'plain':>10} {'ratio':>7}")
    for measure in ("import_s", "search_p50_ms", "search_p95_ms", "lookup_p50_ms", "lookup_p95_ms", "db_mib"):
        on = statistics.median(r[measure] for r in rows[True])
        off = statistics.median(r[measure] for r in rows[False])
        print(f"{measure:16} {on:10.2f} {off:10.2f} {on / off:6.2f}×")
    print(f"whole IDs / phones in clear in the encrypted files: {rows[True][-1]['ids_in_clear']} / "
          f"{rows[True][-1]['phones_in_clear']}; in the plain files: {rows[False][-1]['ids_in_clear']} / "
          f"{rows[False][-1]['phones_in_clear']}")  # fmt: skip


if __name__ == "__main__":
    main()
