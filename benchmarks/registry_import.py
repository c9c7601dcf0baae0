"""Benchmark: `safetynet registry import` of a demo county into PostgreSQL against PostgreSQL's own COPY.

Baseline: the same six registry files streamed with COPY ... FROM STDIN straight into the same, empty,
migrated tables (keys and foreign keys in place, no validation at all): the floor for loading these rows.
Measured: the full import, run as the CLI in a subprocess (validation of every row, references, upsert,
batch record), into the same emptied tables. Both run in this one process run, on the same machine.

    .venv/bin/python benchmarks/registry_import.py --persons 1000000

Prints persons per second for both, the ratio, the CLI's peak memory, and the no-op re-import time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

SERVER = os.environ.get("SAFETYNET_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "safetynet_bench"
TABLES = [  # file, table, COPY column list, columns that are text and may be empty
    ("regions.csv", "regions_region", "code, name, level, parent_id", ["name"]),
    (
        "households.csv",
        "registry_household",
        "household_id, region_code, address, area_type, head_id_number",
        ["address"],
    ),
    (
        "persons.csv",
        "registry_person",
        "id_number, name, gender, birth_date, household_id, relation, phone, disability_level, disability_type, "
        "self_care, serious_illness, employment, monthly_income",
        ["phone", "disability_type"],
    ),
    (
        "assistance.csv",
        "registry_assistance",
        "id_number, household_id, program, status, start_date, end_date, monthly_amount",
        [],
    ),
    (
        "applications.csv",
        "registry_application",
        "application_id, household_id, id_number, program, applied_on, decision, decided_on, reason",
        ["reason"],
    ),
    (
        "standards.csv",
        "registry_standard",
        "county_code, year, area_type, dibao_monthly, tekun_monthly, edge_multiplier, rigid_expense_ratio",
        [],
    ),
]


def env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SAFETYNET_DATA_DIR": str(data_dir),
        "SAFETYNET_DATABASE_URL": f"{SERVER}/{DATABASE}",
    }


def cli(data_dir: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/safetynet"), *args],
        env=env(data_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"safetynet {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, (done.stdout.strip().splitlines() or [""])[-1]


def recreate_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def empty_tables(conn: psycopg.Connection) -> None:
    conn.execute(
        "TRUNCATE registry_assistance, registry_application, registry_person, registry_household, "
        "registry_standard, registry_importbatch, regions_region CASCADE"
    )
    conn.commit()


def copy_baseline(conn: psycopg.Connection, county: Path) -> float:
    start = time.perf_counter()
    with conn.cursor() as cur:
        for file, table, columns, text_columns in TABLES:
            # Empty fields: NULL for dates, '' for text columns that are NOT NULL.
            force = f", FORCE_NOT_NULL ({', '.join(text_columns)})" if text_columns else ""
            with (
                (county / file).open("rb") as f,
                cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, HEADER true{force})") as copy,
            ):
                while data := f.read(1 << 20):
                    copy.write(data)
    conn.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out")
    args = parser.parse_args()

    county = args.work / f"county-{args.persons}-{args.seed}"
    if not (county / "README.txt").exists():
        from safetynet.demo.generator import generate

        print(f"generating a {args.persons:,}-person county into {county} …", flush=True)
        start = time.perf_counter()
        generate(county, persons=args.persons, seed=args.seed, as_of=dt.date(2026, 11, 1))
        print(f"  generated in {time.perf_counter() - start:.1f} s", flush=True)
    persons = sum(1 for _ in (county / "persons.csv").open(encoding="utf-8")) - 1
    rows = sum(sum(1 for _ in (county / t[0]).open(encoding="utf-8")) - 1 for t in TABLES)

    data_dir = args.work / "data"
    recreate_database()
    cli(data_dir, "manage", "migrate", "--verbosity", "0")
    with psycopg.connect(f"{SERVER}/{DATABASE}") as conn:
        empty_tables(conn)
        t_copy = copy_baseline(conn, county)
        empty_tables(conn)
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # both runs start from the same clean, empty tables

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t_import, line = cli(data_dir, "registry", "import", str(county))
    peak_mib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    t_noop, noop_line = cli(data_dir, "registry", "import", str(county))

    print(f"\ncounty: {persons:,} persons, {rows:,} rows in six files")
    print(f"baseline  PostgreSQL COPY (no validation)  {t_copy:7.1f} s  {persons / t_copy:10,.0f} persons/s")
    print(
        f"safetynet registry import (validated)      {t_import:7.1f} s  {persons / t_import:10,.0f} persons/s"
    )
    print(f"ratio import / COPY                        {t_import / t_copy:7.2f} ×   (target ≤ 3×)")
    print(f"import peak memory (CLI process)           {peak_mib:7.0f} MiB")
    print(f"re-import of the same files (no-op)        {t_noop:7.1f} s   {noop_line}")
    print(f"import output: {line}")


if __name__ == "__main__":
    main()
