"""Benchmark: a small push to a keyed source that already holds many batches, against a read per batch.

A keyed source (`medical_claims`, key `claim_id`) quarantines a row whose key an earlier batch landed, so
every push looks at the keys of every batch landed before it. The soak found the old way (one Parquet read
and one DuckDB insert per earlier batch, about 2.5 ms each) made a department that pushes often slower
with every push. Now one DuckDB scan reads the earlier batches' keys, kept to the keys the file holds.

Baseline: the old per-batch reading (kept below as `per_batch_keys`), patched in for half the pushes.
Measured: the current `FeedIngest._load_existing_keys`. Both land real pushes in the same fresh lake, in
interleaved rounds, and each push repeats three claim ids of earlier batches, which both must quarantine.

    .venv/bin/python benchmarks/keyed_pushes.py --batches 1000 --rounds 7

Prints the median whole-push and key-reading milliseconds of each, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def claims(path: Path, batch: int, rows: int, repeats: list[str]) -> Path:
    """`rows` claims of batch `batch`; the first len(repeats) claim ids are earlier batches' ones."""
    from safetynet import testing

    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            claim_id = repeats[i] if i < len(repeats) else f"C{batch:06d}-{i:04d}"
            born = testing.FROZEN_NOW.date().replace(year=1940 + i % 60, day=1 + i % 28)
            row = {
                "claim_id": claim_id, "id_number": testing.make_id_number(born, i, i % 2 == 0),
                "name": "王秀英", "settle_date": "2026-10-15", "out_of_pocket": f"{100 + i}.50",
            }  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def per_batch_keys(self, db, fs, root: str) -> None:  # type: ignore[no-untyped-def]
    """The old `_load_existing_keys`: one Parquet read and one insert per earlier done batch."""
    import pyarrow.parquet as pq

    from safetynet.lake import storage
    from safetynet.lake.ingest import key_expr
    from safetynet.lake.models import Batch

    for batch_id in Batch.objects.filter(source=self.spec.source, status=Batch.Status.DONE).values_list(
        "pk", flat=True
    ):
        path = storage.batch_dir(root, self.spec.source, batch_id)
        if not fs.exists(path):
            continue
        keys = pq.read_table(path, columns=list(self.spec.key), filesystem=fs)
        db.register("_old", keys)
        db.execute(f"INSERT INTO _seen SELECT {key_expr(self.spec.key)}, {int(batch_id)} FROM _old")
        db.unregister("_old")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=1000, help="batches landed before measuring")
    parser.add_argument("--rows", type=int, default=100, help="rows a push")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keyed-pushes-"))
    os.environ["SAFETYNET_DATA_DIR"] = str(work)
    os.environ["SAFETYNET_DATABASE_URL"] = f"sqlite:///{work}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    from safetynet.cli import setup

    setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from safetynet.lake import ingest, services

    current = ingest.FeedIngest._load_existing_keys
    rng = random.Random(1)
    start = time.perf_counter()
    for batch in range(args.batches):
        result = services.ingest("medical_claims", claims(work / "feed.jsonl", batch, args.rows, []))
        assert result.accepted == args.rows, result
    print(
        f"{args.batches:,} batches of {args.rows} claims landed in {time.perf_counter() - start:.1f} s",
        flush=True,
    )

    timings: dict[str, dict[str, list[float]]] = {
        "per batch": {"push": [], "keys": []},
        "one scan": {"push": [], "keys": []},
    }
    batch = args.batches
    for _ in range(args.rounds):
        for label, method in (("per batch", per_batch_keys), ("one scan", current)):
            spent: list[float] = []

            def timed(self, db, fs, root, method=method, spent=spent) -> None:  # type: ignore[no-untyped-def]
                began = time.perf_counter()
                method(self, db, fs, root)
                spent.append(time.perf_counter() - began)

            ingest.FeedIngest._load_existing_keys = timed  # type: ignore[method-assign]
            repeats = [
                f"C{rng.randrange(args.batches):06d}-{rng.randrange(3, args.rows):04d}" for _ in range(3)
            ]
            path = claims(work / "feed.jsonl", batch, args.rows, repeats)
            began = time.perf_counter()
            result = services.ingest("medical_claims", path)
            timings[label]["push"].append(time.perf_counter() - began)
            timings[label]["keys"].append(spent[0])
            assert (result.accepted, result.rejected) == (args.rows - 3, 3), (label, result)
            batch += 1
    ingest.FeedIngest._load_existing_keys = current  # type: ignore[method-assign]

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print(
        f"medians of {args.rounds} interleaved rounds, {args.rows}-row pushes, {args.batches:,}+ batches held:"
    )
    for label, found in timings.items():
        print(
            f"  {label:>9}: push {ms(found['push']):8.1f} ms, of which earlier keys {ms(found['keys']):8.1f} ms"
        )
    old, new = timings["per batch"], timings["one scan"]
    print(
        f"ratio (per batch / one scan): push {ms(old['push']) / ms(new['push']):.1f}×, "
        f"earlier keys {ms(old['keys']) / ms(new['keys']):.1f}×; both quarantined the 3 repeats every round"
    )


if __name__ == "__main__":
    main()
