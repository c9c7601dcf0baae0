"""Benchmark: `safetynet ingest medical_claims` with full validation, against DuckDB's plain CSV-to-Parquet COPY.

Baseline: DuckDB reading the same CSV (type inference, no validation at all) and writing it to Parquet,
`COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)`, in its own process with the same two threads.
Measured: the `safetynet ingest` command in a fresh data folder: encoding and header checks, every column
check of the contract (ID check digit, birth date, birthplace by year, dates, money, enums), duplicate
claim_ids, quarantine with line numbers, typed Parquet, the batch record. Both run in this one run.

    .venv/bin/python benchmarks/ingest.py --rows 10000000

Prints rows per second for both, the ratio, and each process's peak memory. With `--repeat N` the two
run in N interleaved rounds and the medians are reported (single runs on a two-core machine spread by
about ±10 %), with the load average before and after. `--previous DIR` also runs the ingest of another
checkout's `src` folder (e.g. a `git worktree` of an earlier commit) in the same rounds, to compare code
against code rather than against a day's baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
PYTHON = str(ROOT / ".venv/bin/python")
SAFETYNET = str(ROOT / ".venv/bin/safetynet")

BASELINE = """
import duckdb, sys
con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB"})
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet)")
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB (GNU time) and the last line of output of one command."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{cmd} failed:\n{done.stdout}\n{done.stderr}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return elapsed, peak_kib / 1024, (done.stdout.strip().splitlines() or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out")
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "gbk"])
    parser.add_argument(
        "--repeat", type=int, default=1, help="interleaved rounds of both; medians are reported"
    )
    parser.add_argument(
        "--previous", type=Path, help="the src folder of another checkout, run in the same rounds"
    )
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs GNU time: apt-get install time")

    feed = args.work / f"medical_claims-{args.rows}-{args.encoding}.csv"
    if not feed.exists():
        from safetynet.demo.bigfeed import generate_feed

        print(f"generating {args.rows:,} medical_claims rows into {feed} …", flush=True)
        args.work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        generate_feed(
            feed, "medical_claims", args.rows, seed=1, as_of=dt.date(2026, 11, 1), encoding=args.encoding
        )
        print(
            f"  generated in {time.perf_counter() - start:.0f} s ({feed.stat().st_size / 1e9:.2f} GB)",
            flush=True,
        )

    out = args.work / "baseline.parquet"
    data = args.work / "ingest-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    env.update(SAFETYNET_DATA_DIR=str(data), SAFETYNET_DATABASE_URL=f"sqlite:///{data}/db.sqlite3")
    utf8 = args.encoding == "utf-8"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rounds: list[tuple[float, float, float, float]] = []  # baseline s, MiB, ingest s, MiB
    previous: list[float] = []
    line = ""
    for _ in range(args.repeat):  # interleaved, so a noisy neighbour hits both sides alike
        t_base = m_base = 0.0
        if utf8:
            t_base, m_base, _ = timed([PYTHON, "-c", BASELINE, str(feed), str(out)])
            out.unlink()
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
        t_ours, m_ours, line = timed([SAFETYNET, "ingest", "medical_claims", str(feed)], env=env)
        rounds.append((t_base, m_base, t_ours, m_ours))
        then = ""
        if args.previous:
            shutil.rmtree(data, ignore_errors=True)
            old = {**env, "PYTHONPATH": str(args.previous.resolve())}  # ahead of the editable install
            subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=old, check=True)
            previous.append(timed([SAFETYNET, "ingest", "medical_claims", str(feed)], env=old)[0])
            then = f", previous code {previous[-1]:5.1f} s"
        if args.repeat > 1:
            ratio = f"  ratio {t_ours / t_base:.2f} ×" if utf8 else ""
            print(f"  round: baseline {t_base:5.1f} s, ingest {t_ours:5.1f} s{ratio}{then}", flush=True)
    shutil.rmtree(data, ignore_errors=True)

    rows = args.rows
    t_base, m_base = statistics.median(r[0] for r in rounds), max(r[1] for r in rounds)
    t_ours, m_ours = statistics.median(r[2] for r in rounds), max(r[3] for r in rounds)
    median = f" (median of {args.repeat}, peak memory the highest)" if args.repeat > 1 else ""
    print(
        f"\nfile: {rows:,} medical_claims rows, {feed.stat().st_size / 1e9:.2f} GB, {args.encoding}{median}"
    )
    if utf8:
        print(
            f"baseline  DuckDB CSV→Parquet COPY (no validation)  {t_base:6.1f} s  {rows / t_base:12,.0f} rows/s  peak {m_base:5.0f} MiB"
        )
    print(
        f"safetynet ingest (full validation)                 {t_ours:6.1f} s  {rows / t_ours:12,.0f} rows/s  peak {m_ours:5.0f} MiB"
    )
    if utf8:
        ratios = sorted(r[2] / r[0] for r in rounds)
        spread = f"   (rounds {ratios[0]:.2f}–{ratios[-1]:.2f} ×)" if len(ratios) > 1 else ""
        print(
            f"ratio ingest / COPY                                {t_ours / t_base:6.2f} ×   (target ≤ 2×, peak < 2 GiB){spread}"
        )
    if previous:
        t_old = statistics.median(previous)
        print(
            f"previous code ({args.previous})  {t_old:6.1f} s  {rows / t_old:12,.0f} rows/s   "
            f"this code takes {t_ours / t_old:.2f} × its time"
        )
    print(f"ingest output: {line}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
