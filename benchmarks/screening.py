"""Benchmark: a screening run of the default rule pack, against a hand-written query and a pandas script.

Four (five) ways to compute the same warnings over the same lake in Parquet, each in a fresh process so
its peak memory is its own:

- engine:     our DuckDB engine, `Plan(default_pack(), as_of).run(DuckDBEngine())` after `register_lake`:
              every feature step, each rule with its chosen person, values and evidence lists, fetched as
              Arrow.
- floor:      one hand-written DuckDB query (benchmarks/screening_floor.sql) computing only the decisions,
              which (household, rule, level) fire: thresholds inlined, no person, no evidence, no
              explanations.
- floor_full: one hand-written DuckDB query (benchmarks/screening_floor_full.sql) computing the warnings
              as the engine gives them: per (household, rule) the level, the person the rule names
              (id_number) and the sorted `source:batch:key` references of its evidence; thresholds inlined,
              no explanations and no other values. The fastest thing an expert would write for the
              engine's output; the engine's time over it is the price of its generality.
- pandas:     a straightforward pandas script (read the Parquet, merges and groupbys), what a clerk would
              write; decisions only.
- spark:      with --spark-at N, also the Spark engine (local mode) at that size.

All of them must produce the identical set of (household_id, rule_id, level); the engine (and Spark) must
also name the same person as floor_full and give the same evidence references (compared as sorted
lists, NULL as empty). The benchmark stops with the differences otherwise. The floor and pandas
versions are written from the data contract (docs/data-contract.md), independently of the engine's feature SQL, so they double as
a check of the engine's decisions; floor_full, from the pack's rank: and evidence: lists, checks the
person each warning names and the rows its evidence lists (which row a reference names, where several
could be, follows the engine's features.py).

Floor, floor_full and engine run --repeat rounds (default 5), interleaved, and the median is reported: on
a shared two-core machine single runs of the same variant spread by ±20 %. Seconds are wall time inside
the fresh process, from after its imports to the warnings in memory (the
engine and Spark include creating their engine, the Spark session's JVM start included). Peak MiB is
the process's peak resident memory (VmHWM, Python and its imports included), plus Spark's JVM.

Input: a demo county from `safetynet.demo.generator` (about 0.5 claims per person), converted to a lake
layout with DuckDB (registry snapshot 1, each feed in batch 1), plus synthetic small outpatient claims
in medical_claims batch 2 to reach --claims-per-person. Generated data is cached in --out
(bench-out/screening, git-ignored) and reused by later runs. With synthetic claims the demo's
ground_truth.csv no longer holds for medical_burden, so it is only compared when none were added
(e.g. --claims-per-person 0).

The run for docs/benchmarks.md (on an idle machine; pandas is skipped above 2,000,000 persons; add
`--spark-at 1000000` to include Spark at that size):

    .venv/bin/python benchmarks/screening.py --persons 100000 1000000 10000000

A quick check while developing:

    .venv/bin/python benchmarks/screening.py --persons 20000 --claims-per-person 2

Spark's driver memory comes from SAFETYNET_SPARK_MEMORY (default 4g); its master is local[--threads].
"""

# Benchmark-only dependency, not one of safetynet's runtime ones: pandas (`pip install -e '.[bench]'`).

from __future__ import annotations

import argparse
import calendar
import codecs
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

FLOOR_SQL = Path(__file__).with_name("screening_floor.sql")
FLOOR_FULL_SQL = Path(__file__).with_name("screening_floor_full.sql")
AS_OF = dt.date(2026, 6, 15)
SEED = 20260615
REGISTRY_TABLES = ("households", "persons", "assistance", "applications", "standards")
# Rule order for reports: the generator's reference reading of the pack, like the floors independent of the engine.
from safetynet.demo.rules import RULE_IDS  # noqa: E402 - after the sys.path line above

VARIANTS = ("engine", "floor", "floor_full", "pandas", "spark")

# The default pack's windows (docs/rules.md), written out here rather than read from the pack so the
# floor and pandas versions stay independent of it: placeholder -> (unit, length).
WINDOWS = {
    "medical_since": ("months", 12),
    "serious_since": ("months", 6),
    "death_since": ("days", 90),
    "unemployment_since": ("months", 6),
    "disaster_since": ("days", 30),
    "dropout_since": ("months", 6),
    "housing_since": ("months", 12),
    "rejection_since": ("months", 12),
    "hotline_since": ("days", 90),
}


def window_dates(as_of: dt.date) -> dict[str, dt.date]:
    """as_of and the first day inside each window: windows include both ends, so 12 months before
    2026-06-15 starts on 2025-06-15 (on the month's last day where the month is shorter)."""
    dates = {"as_of": as_of}
    for name, (unit, length) in WINDOWS.items():
        if unit == "days":
            dates[name] = as_of - dt.timedelta(days=length)
        else:
            year, month = divmod(as_of.year * 12 + as_of.month - 1 - length, 12)
            last = calendar.monthrange(year, month + 1)[1]
            dates[name] = dt.date(year, month + 1, min(as_of.day, last))
    return dates


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- input data -------------------------------------------------------------------------------------------


def county_dir(out: Path, persons: int) -> Path:
    """The demo county's CSV files, generated once per size."""
    from safetynet.demo.generator import generate

    folder = out / f"county-{persons}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating a demo county of {persons:,} persons into {folder} …", flush=True)
    start = time.perf_counter()
    generate(folder, persons=persons, seed=SEED, as_of=AS_OF, workers=2)
    (folder / ".complete").touch()
    print(f"  generated in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


def utf8_copy(source: Path, target: Path) -> Path:
    """A UTF-8 copy of a GBK (GB18030) file, re-encoded in blocks: DuckDB's CSV reader has no GB18030."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    with source.open("rb") as f, target.open("wb") as g:
        while block := f.read(1 << 24):
            g.write(decoder.decode(block).encode("utf-8"))
        g.write(decoder.decode(b"", final=True).encode("utf-8"))
    return target


ID_COLUMNS, PHONE_COLUMNS = ("id_number", "head_id_number"), ("phone", "caller_phone")


def typed_column(name: str, sql_type: str) -> str:
    """A CSV column (read as text) as the lake stores it: empty is NULL, ID numbers and phones as the
    lake's pseudonyms (`safetynet.lake.pseudonyms`, as ingest and the registry snapshot write them)."""
    value = f"NULLIF(TRIM({name}), '')"
    if name in ID_COLUMNS:
        return f"sn_id_pseudonym({value}) AS {name}"
    if name in PHONE_COLUMNS:
        return f"sn_phone_pseudonym({value}) AS {name}"
    if sql_type == "VARCHAR":
        return f"{value} AS {name}"
    if sql_type == "BOOLEAN":
        return (
            f"CASE WHEN lower({value}) IN ('true', '1', '是') THEN TRUE "
            f"WHEN lower({value}) IN ('false', '0', '否') THEN FALSE END AS {name}"
        )
    return f"TRY_CAST({value} AS {sql_type}) AS {name}"


def convert_csv(
    con: Any,
    csv: Path,
    target: Path,
    columns: list[tuple[str, str]],
    where: str = "TRUE",
    key: tuple[str, ...] = (),
    extra: str = "",
    record: bool = False,
) -> None:
    """One CSV file to one typed Parquet file; `record` adds `_record`, the row's number in the file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    typed = ", ".join(typed_column(name, sql_type) for name, sql_type in columns)
    numbered = f"SELECT *, row_number() OVER () AS _record FROM read_csv({sql_text(str(csv))}, all_varchar = true, header = true)"
    select = f"SELECT {typed}{', _record' if record else ''}{extra} FROM ({numbered})"
    dedupe = f" QUALIFY row_number() OVER (PARTITION BY {', '.join(key)} ORDER BY _record) = 1" if key else ""
    con.execute(
        f"COPY (SELECT * FROM ({select}) WHERE {where}{dedupe}) TO {sql_text(str(target))} (FORMAT parquet)"
    )


def parquet_rows(con: Any, pattern: str) -> int:
    return con.execute(f"SELECT COUNT(*) FROM read_parquet({sql_text(pattern)})").fetchone()[0]


def build_lake(out: Path, persons: int, claims_per_person: int, memory_limit: str, threads: int) -> Path:
    """The lake for one size, built once: registry snapshot 1, every feed in batch 1, synthetic claims in
    medical_claims batch 2. `manifest.json` (written last) holds its row counts."""
    import duckdb

    from safetynet.demo.formats import GBK_FILES, REGISTRY_COLUMNS
    from safetynet.lake.sources import FEEDS
    from safetynet.screening.inputs import FEED_INPUTS, REGISTRY_INPUTS

    lake = out / f"lake-v3-{persons}-{claims_per_person}"  # v3: ID numbers and phones as pseudonyms of letters
    if (lake / "manifest.json").exists():
        return lake
    county = county_dir(out, persons)
    shutil.rmtree(lake, ignore_errors=True)
    scratch = lake / "_scratch"
    scratch.mkdir(parents=True)
    print(f"converting it to a Parquet lake in {lake} …", flush=True)
    start = time.perf_counter()
    con = duckdb.connect(
        config={"threads": threads, "memory_limit": memory_limit, "temp_directory": str(scratch / "spill")}
    )
    os.environ.setdefault("SAFETYNET_DATA_DIR", str(out / "data"))  # its keys folder holds the lake key
    from safetynet.lake import pseudonyms

    for name, make in (("sn_id_pseudonym", pseudonyms.id_numbers), ("sn_phone_pseudonym", pseudonyms.phones)):
        con.create_function(name, pseudonyms.of_one_argument(make), ["VARCHAR"], "VARCHAR", type="arrow")

    # Registry: the columns the engine reads typed as it reads them, the rest of the file as text.
    for table in REGISTRY_INPUTS:
        types = dict(table.columns)
        if f"{table.source}.csv" not in REGISTRY_COLUMNS:  # kept by the service, not imported (visits)
            target = lake / "registry/snapshot=1" / f"{table.source}.parquet"
            empty = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in table.columns)
            con.execute(f"COPY (SELECT {empty} WHERE FALSE) TO {sql_text(str(target))} (FORMAT parquet)")
            continue
        columns = [(c, types.get(c, "VARCHAR")) for c in REGISTRY_COLUMNS[f"{table.source}.csv"]]
        extra = (
            ", CAST(NULL AS DATE) AS death_date"
            if "death_date" not in dict(columns) and "death_date" in types
            else ""
        )
        convert_csv(
            con,
            county / f"{table.source}.csv",
            lake / "registry/snapshot=1" / f"{table.source}.parquet",
            columns,
            extra=extra,
        )

    # Feeds, cleaned as ingest would for what matters here: ID numbers of 18 characters (upper-cased),
    # no negative amounts, a key's repeats dropped.
    for table in FEED_INPUTS:
        spec = FEEDS[table.source]
        csv = county / f"{table.source}.csv"
        if csv.name in GBK_FILES:
            csv = utf8_copy(csv, scratch / csv.name)
        columns = [(c, t) for c, t in table.columns if c not in ("batch", "_record")]
        id_column = spec.column("id_number")
        checks = []
        if id_column is not None:
            optional = "" if id_column.required else "id_number IS NULL OR "
            checks.append(f"({optional}starts_with(id_number, 'I'))")  # a pseudonym: 18 characters
        checks += [f"({c} IS NULL OR {c} >= 0)" for c, t in columns if t.startswith("DECIMAL")]
        convert_csv(
            con,
            csv,
            lake / table.source / "batch=1/part-00000.parquet",
            columns,
            where=" AND ".join(checks) or "TRUE",
            key=spec.key,
            record=True,
        )
        if csv.parent == scratch:
            csv.unlink()

    claims = lake / "medical_claims"
    generated = parquet_rows(con, f"{claims}/batch=1/*.parquet")
    synthetic = max(0, claims_per_person * persons - generated)
    if synthetic:
        # Small outpatient claims for registry persons drawn at random (with replacement), settled over the
        # three years before as-of: volume for the claims steps, rarely enough to tip medical_burden.
        (claims / "batch=2").mkdir()
        con.execute(f"""
            COPY (
                WITH people AS (
                    SELECT id_number, row_number() OVER (ORDER BY id_number) - 1 AS i
                    FROM read_parquet({sql_text(str(lake / "registry/snapshot=1/persons.parquet"))})
                ),
                draws AS (
                    SELECT r, hash(r, 'person') % (SELECT COUNT(*) FROM people) AS i,
                           CAST((1000 + hash(r, 'amount') % 79001) / 100.0 AS DECIMAL(14, 2)) AS out_of_pocket
                    FROM range({synthetic}) t(r)
                )
                SELECT 'BX' || lpad(CAST(r AS VARCHAR), 12, '0') AS claim_id, p.id_number,
                       CAST(NULL AS VARCHAR) AS name,
                       DATE '{AS_OF.isoformat()}' - CAST(hash(r, 'day') % 1095 AS INTEGER) AS settle_date,
                       FALSE AS inpatient,
                       CAST(d.out_of_pocket * 2.5 AS DECIMAL(14, 2)) AS total_cost,
                       CAST(d.out_of_pocket * 1.5 AS DECIMAL(14, 2)) AS fund_paid,
                       d.out_of_pocket,
                       ['J06.9', 'K29.7', 'I10', 'E11.9', 'M54.5', 'H52.1'][1 + CAST(hash(r, 'dx') % 6 AS INTEGER)]
                           AS diagnosis_code,
                       FALSE AS serious_illness,
                       r + 1 AS _record
                FROM draws d JOIN people p USING (i)
            ) TO {sql_text(str(claims / "batch=2/part-00000.parquet"))} (FORMAT parquet)
        """)
    registry = lake / "registry/snapshot=1"
    manifest = {
        "persons": parquet_rows(con, str(registry / "persons.parquet")),
        "households": parquet_rows(con, str(registry / "households.parquet")),
        "claims": parquet_rows(con, f"{claims}/*/*.parquet"),
        "generated_claims": generated,
        "synthetic_claims": synthetic,
        "county": str(county),
        "seed": SEED,
        "as_of": AS_OF.isoformat(),
    }
    con.close()
    shutil.rmtree(scratch)
    (lake / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"  converted in {time.perf_counter() - start:.0f} s", flush=True)
    return lake


# -- the variants, each run in its own process ------------------------------------------------------------


def setup_django(out: Path, memory_limit: str, threads: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    os.environ.setdefault("SAFETYNET_DATA_DIR", str(out / "data"))
    os.environ["SAFETYNET_DUCKDB_MEMORY"] = memory_limit
    os.environ["SAFETYNET_SPARK_MASTER"] = f"local[{threads}]"
    django.setup()


def lake_inputs(lake: Path) -> Any:
    from safetynet.lake.services import LakeInputs
    from safetynet.lake.sources import FEEDS

    return LakeInputs(
        snapshot_id=1,
        registry={t: str(lake / "registry/snapshot=1" / f"{t}.parquet") for t in REGISTRY_TABLES},
        feeds={
            source: [(int(d.name.split("=")[1]), str(d)) for d in sorted((lake / source).glob("batch=*"))]
            for source in FEEDS
        },
        base={source: str(lake / source) for source in FEEDS},
        protocol="file",
    )


def plan_warnings(engine: Any, lake: Path) -> tuple[Any, dict[str, float]]:
    """Run the default pack's plan on `engine`: (household_id, rule_id, level, id_number, refs) and the step
    timings. `refs` is the rule's evidence features' lists one after the other (NULL for a rule without
    evidence), unsorted, as the engine gives them."""
    import pyarrow as pa

    from safetynet.screening.packs import default_pack
    from safetynet.screening.plan import Plan, value_column

    engine.register_lake(lake_inputs(lake))
    result = Plan(default_pack(), AS_OF).run(engine)
    columns = ["household_id", "rule_id", "level", "id_number"]
    schema = pa.schema([*((c, pa.string()) for c in columns), ("refs", pa.list_(pa.string()))])
    tables = []
    for r in result.results:
        rows, evidence = r.rows, [value_column(name) for name in r.rule.evidence]
        if len(evidence) == 1:
            refs = rows.column(evidence[0]).cast(pa.list_(pa.string()))
        elif not evidence:
            refs = pa.nulls(rows.num_rows, pa.list_(pa.string()))
        else:  # several lists, one after the other (not in the default pack)
            lists = zip(*(rows.column(c).to_pylist() for c in evidence), strict=True)
            refs = pa.array([[x for refs in row for x in refs or []] for row in lists], pa.list_(pa.string()))
        tables.append(pa.table([*(rows.column(c).cast(pa.string()) for c in columns), refs], schema=schema))
    return pa.concat_tables(tables), result.timings


def run_engine(lake: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    setup_django(args.out, args.memory_limit, args.threads)
    from safetynet.screening.engines.duckdb import DuckDBEngine

    start = time.perf_counter()
    engine = DuckDBEngine()
    engine.db.execute(f"SET threads = {int(args.threads)}")
    warnings, timings = plan_warnings(engine, lake)
    engine.close()
    return warnings, {"seconds": time.perf_counter() - start, "steps": timings}


def run_spark(lake: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    setup_django(args.out, args.memory_limit, args.threads)
    from safetynet.screening.engines.spark import SparkEngine

    start = time.perf_counter()
    engine = SparkEngine()
    session = time.perf_counter() - start
    warnings, timings = plan_warnings(engine, lake)
    seconds = time.perf_counter() - start
    peak = peak_mib()  # while the JVM still runs
    engine.close()
    engine.spark.stop()
    return warnings, {
        "seconds": seconds,
        "peak_mib": peak,
        "steps": {"session": round(session, 3), **timings},
    }


def floor_sql(lake: Path, path: Path = FLOOR_SQL) -> str:
    """A floor's SQL file with its :placeholders replaced by literals (comments dropped)."""
    from safetynet.lake.sources import FEEDS

    values = {name: f"DATE '{day.isoformat()}'" for name, day in window_dates(AS_OF).items()}
    values |= {t: sql_text(str(lake / "registry/snapshot=1" / f"{t}.parquet")) for t in REGISTRY_TABLES}
    values |= {source: sql_text(f"{lake}/{source}/batch=*/*.parquet") for source in FEEDS}
    text = re.sub(r"--[^\n]*", "", path.read_text())
    return re.sub(r"(?<![:\w]):([a-z_]+)", lambda m: values[m.group(1)], text)


def run_floor(lake: Path, args: argparse.Namespace, path: Path = FLOOR_SQL) -> tuple[Any, dict[str, Any]]:
    import duckdb

    sql = floor_sql(lake, path)
    spill = args.out / "data" / "floor-spill"
    start = time.perf_counter()
    con = duckdb.connect(
        config={
            "threads": args.threads,
            "memory_limit": args.memory_limit,
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        }
    )
    warnings = con.sql(sql).to_arrow_table()
    con.close()
    seconds = time.perf_counter() - start
    shutil.rmtree(spill, ignore_errors=True)
    return warnings, {"seconds": seconds}


def run_floor_full(lake: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    return run_floor(lake, args, FLOOR_FULL_SQL)


def pandas_warnings(lake: Path, threads: int) -> Any:
    """The default pack's warnings the way a clerk's pandas script computes them: read, filter, merge, group.

    Money becomes whole cents (int64) as it is read, so thresholds compare exactly.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    pa.set_cpu_count(threads)
    d = window_dates(AS_OF)
    as_of = d["as_of"]
    registry = lake / "registry/snapshot=1"

    def read(path: Path, columns: list[str]) -> pd.DataFrame:
        frame = pd.read_parquet(path, columns=columns, dtype_backend="pyarrow")
        if "batch" in frame:  # the batch=<id> folder, read as a category
            frame["batch"] = frame["batch"].astype("int64")
        return frame

    def cents(money: pd.Series, scale: int = 100) -> pd.Series:
        return (money.astype("float64[pyarrow]") * scale).round().astype("int64[pyarrow]")

    def yes(condition: pd.Series) -> pd.Series:
        """A condition with unknowns (NULL) as plain booleans: unknown is false."""
        return condition.fillna(False).astype(bool)

    def latest(frame: pd.DataFrame, order: str) -> pd.DataFrame:
        """Each person's latest row by `order` (missing dates first), then batch, then row."""
        ordered = frame.sort_values([order, "batch", "_record"], na_position="first")
        return ordered.drop_duplicates("id_number", keep="last")

    # Persons, their deaths and ages.
    everyone = read(
        registry / "persons.parquet",
        [
            "id_number",
            "household_id",
            "birth_date",
            "phone",
            "disability_level",
            "self_care",
            "monthly_income",
            "death_date",
        ],
    )
    deaths = read(lake / "deaths", ["id_number", "death_date"])
    deaths = pd.concat(
        [
            deaths[yes(deaths.id_number.notna() & (deaths.death_date <= as_of))],
            everyone.loc[yes(everyone.death_date <= as_of), ["id_number", "death_date"]],
        ]
    )
    died_on = deaths.groupby("id_number").death_date.min()

    people = everyone[yes(everyone.birth_date <= as_of)].copy()
    people["died_on"] = people.id_number.map(died_on)
    people["alive"] = people.died_on.isna()
    birth_md = people.birth_date.dt.month * 100 + people.birth_date.dt.day
    people["age"] = (
        as_of.year - people.birth_date.dt.year - (birth_md > as_of.month * 100 + as_of.day).astype(int)
    )
    death_md = people.died_on.dt.month * 100 + people.died_on.dt.day
    age_at_death = (
        people.died_on.dt.year - people.birth_date.dt.year - (birth_md > death_md).astype("int64[pyarrow]")
    )
    people["breadwinner_died"] = yes((people.died_on >= d["death_since"]) & age_at_death.between(18, 59))
    people["severely_disabled"] = yes(people.disability_level.between(1, 2))
    people["no_self_care"] = yes(people.self_care == "none")

    # Income: the registry's monthly income plus the latest pension.
    pensions = read(lake / "pensions", ["id_number", "monthly_amount", "as_of", "batch", "_record"])
    pensions = latest(pensions[yes(pensions.id_number.notna() & (pensions.as_of <= as_of))], "as_of")
    pension = people.id_number.map(pensions.set_index("id_number").monthly_amount)
    people["income"] = cents(people.monthly_income).fillna(0) + cents(pension).fillna(0)

    # Medical claims in the last 12 months, serious ones in the last 6.
    claims = read(lake / "medical_claims", ["id_number", "settle_date", "out_of_pocket", "serious_illness"])
    claims = claims[yes(claims.id_number.notna() & claims.settle_date.between(d["medical_since"], as_of))]
    claims["out_of_pocket"] = cents(claims.out_of_pocket)
    people["out_of_pocket"] = people.id_number.map(claims.groupby("id_number").out_of_pocket.sum()).fillna(0)
    serious = claims[yes(claims.serious_illness & (claims.settle_date >= d["serious_since"]))]
    people["serious_claim"] = people.id_number.isin(serious.id_number)

    # The latest disability card of each person, if valid and of level 1 or 2.
    cards = read(lake / "disability", ["id_number", "level", "issued_on", "status", "batch", "_record"])
    cards = latest(
        cards[yes(cards.id_number.notna() & (cards.issued_on.isna() | (cards.issued_on <= as_of)))],
        "issued_on",
    )
    severe = cards[yes((cards.status == "valid") & cards.level.between(1, 2))]
    people["severe_card"] = people.id_number.isin(severe.id_number)

    # Registered unemployed in the last 6 months, unless that registration is marked reemployed.
    jobless = read(lake / "unemployment", ["id_number", "registered_on", "status"])
    jobless = jobless[
        yes(jobless.id_number.notna() & jobless.registered_on.between(d["unemployment_since"], as_of))
    ]
    status = jobless.groupby(["id_number", "registered_on"]).status.min()
    people["unemployed"] = people.id_number.isin(
        status[yes(status == "registered")].index.get_level_values(0)
    )

    students = read(lake / "students", ["id_number", "status", "as_of"])
    dropouts = students[
        yes(
            students.id_number.notna()
            & (students.status == "dropped_out")
            & students.as_of.between(d["dropout_since"], as_of)
        )
    ]
    people["dropped_out"] = people.id_number.isin(dropouts.id_number)

    monitoring = read(lake / "relapse_monitoring", ["id_number", "status", "as_of", "batch", "_record"])
    monitoring = latest(monitoring[yes(monitoring.id_number.notna() & (monitoring.as_of <= as_of))], "as_of")
    people["monitored"] = people.id_number.isin(monitoring.id_number[yes(monitoring.status == "monitoring")])

    # Households of living members.
    living = people[people.alive]
    living = living.assign(
        minor=living.age < 18,
        elderly=living.age >= 60,
        dependant=(living.age < 18) | (living.age >= 60) | living.severely_disabled,
        able=living.age.between(18, 59) & ~living.severely_disabled,
        aged_80=living.age >= 80,
        frail_60=(living.age >= 60) & living.no_self_care,
    )
    members = living.groupby("household_id").agg(
        members=("id_number", "size"),
        income=("income", "sum"),
        out_of_pocket=("out_of_pocket", "sum"),
        youngest_age=("age", "min"),
        has_minor=("minor", "any"),
        has_elderly=("elderly", "any"),
        has_dependant=("dependant", "any"),
        able_adults=("able", "sum"),
        has_80=("aged_80", "any"),
        has_60_no_self_care=("frail_60", "any"),
        serious_claim=("serious_claim", "any"),
        severe_card=("severe_card", "any"),
        unemployed=("unemployed", "any"),
        dropped_out=("dropped_out", "any"),
        monitored=("monitored", "any"),
    )
    households = read(registry / "households.parquet", ["household_id", "region_code", "area_type"])
    h = households.merge(members, left_on="household_id", right_index=True)
    h["county_code"] = h.region_code.str.slice(0, 6)
    standards = read(
        registry / "standards.parquet",
        ["county_code", "year", "area_type", "dibao_monthly", "edge_multiplier"],
    )
    standards = standards[yes(standards.year == as_of.year)]
    h = h.merge(standards, on=["county_code", "area_type"], how="left")
    dibao = cents(h.dibao_monthly)
    h["low_income"] = yes(h.income * 10_000 < dibao * cents(h.edge_multiplier, 10_000) * h.members)
    h["below_dibao"] = yes(h.income < dibao * h.members)
    dead = people[~people.alive & people.breadwinner_died]
    h["breadwinner_died"] = h.household_id.isin(dead.household_id)

    # Coverage: a living member's assistance running on the as-of date.
    assistance = read(registry / "assistance.parquet", ["id_number", "program", "start_date", "end_date"])
    running = assistance[
        yes((assistance.start_date <= as_of) & (assistance.end_date.isna() | (assistance.end_date >= as_of)))
    ]
    running = running.merge(living[["id_number", "household_id"]], on="id_number")
    h["covered"] = h.household_id.isin(running.household_id[running.program.isin(["dibao", "tekun"])])
    h["tekun"] = h.household_id.isin(running.household_id[running.program == "tekun"])
    h["housing_assistance"] = h.household_id.isin(running.household_id[running.program == "housing"])

    # Disasters in the last 30 days, by ID number or by village, township or county code.
    disasters = read(
        lake / "disasters", ["id_number", "region_code", "occurred_on", "loss_level", "house_damaged"]
    )
    disasters = disasters[yes(disasters.occurred_on.between(d["disaster_since"], as_of))]
    worst = yes(disasters.loss_level.isin(["severe", "total"]))
    disasters["severity"] = np.where(worst, 2, np.where(yes(disasters.house_damaged), 1, 0))
    disasters = disasters[disasters.severity > 0]
    hits = [
        disasters.merge(everyone[["id_number", "household_id"]], on="id_number")[["household_id", "severity"]]
    ]
    regional = disasters[disasters.id_number.isna() & disasters.region_code.notna()].copy()
    code = regional.region_code
    regional["length"] = np.where(
        code.str.slice(9, 12) != "000", 12, np.where(code.str.slice(6, 9) != "000", 9, 6)
    )
    for length in (6, 9, 12):
        area = regional[regional.length == length].assign(
            prefix=lambda r, n=length: r.region_code.str.slice(0, n)
        )
        reached = households.assign(prefix=households.region_code.str.slice(0, length)).merge(
            area, on="prefix"
        )
        hits.append(reached[["household_id", "severity"]])
    severity = pd.concat(hits).groupby("household_id").severity.max()
    h["disaster_severity"] = h.household_id.map(severity).fillna(0)

    housing = read(lake / "housing_safety", ["id_number", "rating", "assessed_on"])
    housing = housing[
        yes(housing.rating.isin(["C", "D"]) & housing.assessed_on.between(d["housing_since"], as_of))
    ]
    housing = housing.merge(everyone[["id_number", "household_id"]], on="id_number")
    h["dangerous_house"] = h.household_id.isin(housing.household_id)

    # Hotline calls in the last 90 days: by ID number, else by a phone only one registered person has.
    calls = read(lake / "hotline", ["id_number", "caller_phone", "called_at"])
    calls = calls[yes(calls.called_at.dt.date.between(d["hotline_since"], as_of))]
    # the lake's phones are normalised (digits, no 86) before they become pseudonyms: compared as they are
    digits = calls.caller_phone
    phones = everyone[everyone.phone.notna()].groupby("phone").id_number.agg(["size", "min"])
    unique_phone = phones.loc[phones["size"] == 1, "min"]
    caller = calls.id_number.fillna(digits.map(unique_phone))
    callers = pd.DataFrame({"id_number": caller}).merge(
        everyone[["id_number", "household_id"]], on="id_number"
    )
    h["calls"] = h.household_id.map(callers.household_id.value_counts()).fillna(0)

    applications = read(registry / "applications.parquet", ["household_id", "decision", "decided_on"])
    rejected = applications[
        yes(
            applications.decision.isin(["rejected", "withdrawn"])
            & applications.decided_on.between(d["rejection_since"], as_of)
        )
    ]
    h["rejected"] = h.household_id.isin(rejected.household_id)

    # The rules: which households fire, and at which level.
    low, covered = h.low_income, h.covered
    burden = (h.out_of_pocket >= 1_000_000) & (2 * h.out_of_pocket >= 12 * h.income) & ~covered
    fired = {
        "medical_burden": (burden, np.where(h.out_of_pocket >= 12 * h.income, "red", "orange")),
        "serious_illness": (h.serious_claim & low & ~covered, "orange"),
        "breadwinner_death": (h.breadwinner_died & h.has_dependant & ~h.tekun, "red"),
        "severe_disability": (h.severe_card & low & ~covered, "orange"),
        "elderly_alone": (
            (h.youngest_age >= 60) & (h.has_80 | h.has_60_no_self_care) & low & ~covered,
            np.where(h.has_60_no_self_care, "red", "yellow"),
        ),
        "unemployment_dependents": (h.unemployed & (h.has_minor | h.has_elderly) & low & ~covered, "yellow"),
        "disaster_loss": (h.disaster_severity >= 1, np.where(h.disaster_severity >= 2, "red", "orange")),
        "relapse_risk": (h.monitored & ~covered, "yellow"),
        "child_without_guardian": (h.has_minor & (h.able_adults == 0), "red"),
        "tekun_candidate": ((h.members == 1) & h.has_dependant & h.below_dibao & ~h.tekun, "orange"),
        "student_dropout": (h.dropped_out & low, "yellow"),
        "dangerous_housing": (h.dangerous_house & low & ~h.housing_assistance, "yellow"),
    }
    hardship_rules = np.sum([yes(mask) for mask, _ in fired.values()], axis=0)
    fired["rejected_then_hardship"] = (
        h.rejected & (hardship_rules >= 1),
        np.where(hardship_rules >= 3, "red", "orange"),
    )
    fired["repeat_hotline"] = (h.calls >= 2, "yellow")
    frames = []
    for rule_id, (mask, level) in fired.items():
        mask = yes(mask)
        levels = pd.Series(level, index=h.index)
        frames.append(
            pd.DataFrame({"household_id": h.household_id[mask], "rule_id": rule_id, "level": levels[mask]})
        )
    return pd.concat(frames, ignore_index=True)


def run_pandas(lake: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    import pyarrow as pa

    start = time.perf_counter()
    warnings = pandas_warnings(lake, args.threads)
    seconds = time.perf_counter() - start
    return pa.Table.from_pandas(warnings, preserve_index=False), {"seconds": seconds}


RUNNERS = {
    "engine": run_engine,
    "floor": run_floor,
    "floor_full": run_floor_full,
    "pandas": run_pandas,
    "spark": run_spark,
}


def peak_mib() -> float:
    """Peak resident memory (VmHWM) of this process and its live descendants (Spark's JVM), in MiB."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    kib = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return kib / 1024


def child(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process: print its JSON on the last line of output."""
    import pyarrow.parquet as pq

    warnings, report = RUNNERS[args.only](args.lake, args)
    report.setdefault("peak_mib", peak_mib())
    report["rows"] = warnings.num_rows
    pq.write_table(warnings, args.result)
    print(json.dumps(report))


# -- the parent: data, measurements, comparison, the table ------------------------------------------------


def measure(variant: str, lake: Path, result: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--only",
        variant,
        "--lake",
        str(lake),
        "--result",
        str(result),
        "--out",
        str(args.out),
        "--threads",
        str(args.threads),
        "--memory-limit",
        args.memory_limit,
    ]
    print(f"  {variant:<10}", end="", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"\n{variant} failed:\n{done.stdout}\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{report['seconds']:8.1f} s {report['peak_mib']:8.0f} MiB  {report['rows']:,} warnings", flush=True
    )
    if args.verbose and report.get("steps"):
        slowest = sorted(report["steps"].items(), key=lambda kv: -kv[1])[:8]
        print("             slowest steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in slowest))
    return report


def median_report(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, with the highest peak memory of all runs and every run's seconds."""
    ordered = sorted(reports, key=lambda r: r["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["peak_mib"] = max(r["peak_mib"] for r in reports)
    chosen["all_seconds"] = [round(r["seconds"], 2) for r in reports]
    return chosen


def compare(results: dict[str, Path]) -> list[str]:
    """Differences between each variant and the floors: missing, extra or other-level warnings against the
    floor; for the variants that name a person and evidence (engine, spark), other persons or other
    evidence references against floor_full."""
    import duckdb

    con = duckdb.connect()
    problems = []
    floor = sql_text(str(results["floor"]))
    for variant, path in results.items():
        table = sql_text(str(path))
        total, distinct = con.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT (household_id, rule_id)) FROM read_parquet({table})"
        ).fetchone()
        if total != distinct:
            problems.append(f"{variant}: {total - distinct} repeated (household_id, rule_id) rows")
        if variant == "floor":
            continue
        diff = con.execute(f"""
            SELECT rule_id, household_id, f.level AS floor, v.level AS {variant}
            FROM read_parquet({floor}) f FULL OUTER JOIN read_parquet({table}) v USING (household_id, rule_id)
            WHERE f.level IS DISTINCT FROM v.level ORDER BY rule_id, household_id
        """).fetchall()
        if diff:
            by_rule: dict[str, int] = {}
            for rule, *_ in diff:
                by_rule[rule] = by_rule.get(rule, 0) + 1
            summary = ", ".join(f"{rule} {n:,}" for rule, n in by_rule.items())
            problems.append(
                f"{variant} differs from floor on {len(diff):,} (household_id, rule_id): {summary}"
            )
            problems += [
                f"    {rule} {household}: floor={a} {variant}={b}" for rule, household, a, b in diff[:20]
            ]
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({table})").fetchall()}
        if variant != "floor_full" and "floor_full" in results and {"id_number", "refs"} <= columns:
            problems += compare_full(con, results["floor_full"], variant, path)
    return problems


def compare_full(con: Any, floor_full: Path, variant: str, path: Path) -> list[str]:
    """Differences between a variant and floor_full on (household_id, rule_id) -> (level, id_number, refs),
    the evidence references compared as sorted lists (NULL as empty)."""

    def rows(table: Path) -> str:
        return (
            "SELECT household_id, rule_id, level, id_number, "
            "list_sort(COALESCE(refs, CAST([] AS VARCHAR[]))) AS refs "
            f"FROM read_parquet({sql_text(str(table))})"
        )

    differs = (
        "f.level IS DISTINCT FROM v.level OR f.id_number IS DISTINCT FROM v.id_number "
        "OR f.refs IS DISTINCT FROM v.refs"
    )
    joined = f"({rows(floor_full)}) f FULL OUTER JOIN ({rows(path)}) v USING (household_id, rule_id)"
    counts = con.execute(f"""
        SELECT rule_id, COUNT(*) FILTER (WHERE f.level IS DISTINCT FROM v.level),
               COUNT(*) FILTER (WHERE f.id_number IS DISTINCT FROM v.id_number),
               COUNT(*) FILTER (WHERE f.refs IS DISTINCT FROM v.refs)
        FROM {joined} WHERE {differs} GROUP BY rule_id ORDER BY rule_id
    """).fetchall()
    if not counts:
        return []
    total = con.execute(f"SELECT COUNT(*) FROM {joined} WHERE {differs}").fetchone()[0]
    fields = ("level", "id_number", "refs")
    summary = ", ".join(
        rule + " " + " ".join(f"{n:,} {what}" for n, what in zip(ns, fields, strict=True) if n)
        for rule, *ns in counts
    )
    problems = [
        f"{variant} differs from floor_full on {total:,} (household_id, rule_id) "
        f"in level, id_number or evidence: {summary}"
    ]
    first = con.execute(f"""
        SELECT rule_id, household_id, f.level, v.level, f.id_number, v.id_number, f.refs, v.refs
        FROM {joined} WHERE {differs} ORDER BY rule_id, household_id LIMIT 20
    """).fetchall()

    def shown(refs: list[str]) -> str:
        return "[" + ", ".join(refs[:4]) + (f", … {len(refs) - 4} more" if len(refs) > 4 else "") + "]"

    for rule, household, level_f, level_v, id_f, id_v, refs_f, refs_v in first:
        parts = []
        if level_f != level_v:
            parts.append(f"level floor_full={level_f} {variant}={level_v}")
        if id_f != id_v:
            parts.append(f"id_number floor_full={id_f} {variant}={id_v}")
        if refs_f != refs_v:
            only_f, only_v = list(refs_f or []), list(refs_v or [])
            for ref in refs_f or []:
                if ref in only_v:
                    only_f.remove(ref)
                    only_v.remove(ref)
            parts.append(f"refs only in floor_full {shown(only_f)}, only in {variant} {shown(only_v)}")
        problems.append(f"    {rule} {household}: " + "; ".join(parts))
    return problems


def rule_counts(path: Path) -> str:
    import duckdb

    rows = duckdb.sql(
        f"SELECT rule_id, COUNT(*) FROM read_parquet({sql_text(str(path))}) GROUP BY rule_id"
    ).fetchall()
    counts = dict(rows)
    return ", ".join(f"{r} {counts.get(r, 0):,}" for r in RULE_IDS)


def ground_truth_check(county: Path, path: Path) -> str:
    """Agreement of a result with the demo's ground_truth.csv (meaningful without synthetic claims)."""
    import duckdb

    truth = sql_text(str(county / "ground_truth.csv"))
    found, missed, extra = duckdb.sql(f"""
        WITH t AS (SELECT DISTINCT household_id, event AS rule_id FROM read_csv({truth}, all_varchar = true)),
             r AS (SELECT household_id, rule_id FROM read_parquet({sql_text(str(path))}))
        SELECT (SELECT COUNT(*) FROM (SELECT * FROM t INTERSECT SELECT * FROM r)),
               (SELECT COUNT(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM r)),
               (SELECT COUNT(*) FROM (SELECT * FROM r EXCEPT SELECT * FROM t))
    """).fetchall()[0]
    return f"ground truth: {found:,} of {found + missed:,} planted warnings found, {extra:,} not planted"


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    return f"{a['seconds'] / b['seconds']:.1f}×" if a and b else "—"


def markdown(rows: list[dict[str, Any]], spark: bool) -> str:
    def cell(report: dict[str, Any] | None, key: str) -> str:
        if not report:
            return "—"
        return f"{report[key]:,.1f}" if key == "seconds" else f"{report[key]:,.0f}"

    variants = ("engine", "floor", "floor_full", "pandas", *(("spark",) if spark else ()))
    head = ["persons", "households", "claims"]
    for variant in variants:
        head += [f"{variant} s", f"{variant} MiB"]
    head += ["engine / floor", "engine / floor_full", "pandas / floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for row in rows:
        m, r = row["manifest"], row["reports"]
        cells = [f"{m['persons']:,}", f"{m['households']:,}", f"{m['claims']:,}"]
        for variant in variants:
            cells += [cell(r.get(variant), "seconds"), cell(r.get(variant), "peak_mib")]
        cells += [
            ratio(r.get("engine"), r.get("floor")),
            ratio(r.get("engine"), r.get("floor_full")),
            ratio(r.get("pandas"), r.get("floor")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--persons",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000, 10_000_000],
        help="county sizes to measure (default: 100000 1000000 10000000)",
    )
    parser.add_argument(
        "--claims-per-person",
        type=int,
        default=10,
        help="medical claims per person, synthetic ones added to the generated (default 10)",
    )
    parser.add_argument(
        "--skip-pandas-above",
        type=int,
        default=2_000_000,
        help="no pandas run for more persons than this (default 2000000)",
    )
    parser.add_argument(
        "--spark-at", type=int, default=None, help="also run the Spark engine at this size (one of --persons)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench-out/screening",
        help="cache of generated data and results (default bench-out/screening)",
    )
    parser.add_argument(
        "--memory-limit",
        default="8GB",
        help="DuckDB memory limit for the engine and the floors (default 8GB); beyond it they spill",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for DuckDB, pyarrow and Spark (default 2)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="rounds of floor, floor_full and engine, interleaved; the median is reported (default 5)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print the engine's slowest steps")
    # One measurement, in a child process started by the parent.
    parser.add_argument("--only", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out = args.out.resolve()
    if args.spark_at is not None and args.spark_at not in args.persons:
        parser.error("--spark-at must be one of the --persons sizes")
    return args


def main() -> None:
    args = parse_args()
    if args.only:
        child(args)
        return
    import duckdb
    import pandas

    args.out.mkdir(parents=True, exist_ok=True)
    results_dir = args.out / "results"
    results_dir.mkdir(exist_ok=True)
    print(
        f"screening benchmark: as of {AS_OF}, {args.threads} threads, DuckDB {duckdb.__version__} "
        f"(memory limit {args.memory_limit}), pandas {pandas.__version__}, {os.cpu_count()} CPUs",
        flush=True,
    )
    rows, failures = [], []
    for persons in args.persons:
        lake = build_lake(args.out, persons, args.claims_per_person, args.memory_limit, args.threads)
        manifest = json.loads((lake / "manifest.json").read_text())
        print(
            f"\n{manifest['persons']:,} persons, {manifest['households']:,} households, "
            f"{manifest['claims']:,} claims ({manifest['synthetic_claims']:,} synthetic)",
            flush=True,
        )
        variants = ["floor", "floor_full", "engine"]
        if persons <= args.skip_pandas_above:
            variants.append("pandas")
        if persons == args.spark_at:
            variants.append("spark")
        results = {variant: results_dir / f"{lake.name}-{variant}.parquet" for variant in variants}
        runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
        # Rounds interleave the variants so drift on a shared machine hits them alike; the slow
        # clerk's script and Spark run once.
        for round_number in range(args.repeat):
            if args.repeat > 1:
                print(f"  round {round_number + 1} of {args.repeat}", flush=True)
            for variant in variants:
                if round_number == 0 or variant in ("floor", "floor_full", "engine"):
                    runs[variant].append(measure(variant, lake, results[variant], args))
        reports = {variant: median_report(found) for variant, found in runs.items()}
        print(
            f"  engine / floor {ratio(reports['engine'], reports['floor'])}, "
            f"engine / floor_full {ratio(reports['engine'], reports['floor_full'])} (medians; seconds of each "
            f"round: engine {reports['engine']['all_seconds']}, floor_full {reports['floor_full']['all_seconds']}, "
            f"floor {reports['floor']['all_seconds']})",
            flush=True,
        )
        print("  warnings per rule: " + rule_counts(results["floor"]))
        if not manifest["synthetic_claims"]:
            print("  " + ground_truth_check(Path(manifest["county"]), results["engine"]))
        problems = compare(results)
        if problems:
            failures.append(persons)
            print("  DISAGREEMENT\n  " + "\n  ".join(problems), flush=True)
        else:
            full = [v for v in variants if v in ("engine", "spark")]
            print(
                f"  all {len(variants)} agree on every (household_id, rule_id, level); "
                f"{' and '.join(full)} and floor_full also on every id_number and evidence list",
                flush=True,
            )
        rows.append({"manifest": manifest, "reports": reports})

    print(
        f"\nScreening, default rule pack, as of {AS_OF}; {args.claims_per_person} claims per person; "
        f"{args.threads} threads; DuckDB memory limit {args.memory_limit}. Seconds are wall time, "
        "MiB peak resident memory, ratios of seconds.\n"
    )
    print(markdown(rows, spark=args.spark_at is not None))
    if failures:
        raise SystemExit(
            f"\nthe variants disagree at {', '.join(f'{p:,}' for p in failures)} persons (see above)"
        )


if __name__ == "__main__":
    main()
