"""Why the online lookup does not go through Splink: one new record against the registry, timed.

Splink 5 (`pip install splink`, not a dependency of safetynet) with the simplest settings that could serve a
hotline form (exact name, birth year, phone, gender; blocking on name and birth year, or phone), answering
one record at a time with `linker.inference.predict_between`, as an online lookup must. The registry is the
demo county's persons.csv of --persons (generate it first with benchmarks/screening.py or linkage.py).

    .venv/bin/pip install splink
    .venv/bin/python benchmarks/linkage_splink.py --persons 1000000

Compare with `online` of benchmarks/linkage.py (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=60)
    args = parser.parse_args()
    persons = Path(f"bench-out/screening/county-{args.persons}/persons.csv")
    columns = ["id_number", "name", "gender", "birth_date", "phone"]
    df = pd.read_csv(persons, dtype=str, usecols=columns).rename(columns={"id_number": "unique_id"})
    df["birth_year"] = df["birth_date"].str[:4]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ExactMatch("name"),
            cl.ExactMatch("birth_year"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("gender"),
        ],
        blocking_rules_to_generate_predictions=[block_on("name", "birth_year"), block_on("phone")],
    )
    db_api = DuckDBAPI()
    existing = db_api.register(df)
    linker = Linker(existing, settings)
    times = []
    for _, row in df.sample(args.lookups + 10, random_state=1).iterrows():
        record = {**row.to_dict(), "unique_id": "new"}
        start = time.perf_counter()
        new = db_api.register(pd.DataFrame([record]))
        linker.inference.predict_between(
            existing, new, threshold_match_weight=-4, warning_mode="never"
        ).as_pandas_dataframe()
        times.append((time.perf_counter() - start) * 1000)
    times = times[10:]  # warm
    p95 = sorted(times)[int(0.95 * len(times))]
    print(
        f"splink predict_between, {args.persons:,} persons: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"
    )


if __name__ == "__main__":
    main()
