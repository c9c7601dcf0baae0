"""The ingest command as a real process: killed mid-write, and fed a 2 GB file.

These run `safetynet ingest` in a subprocess against its own data folder (a fresh SQLite database and
lake), exactly as an operator would, so a kill is a real SIGKILL and memory is the process's own. They
need no test database, so the test script runs them once, not once per database (marker `processes`).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from safetynet import sqlcipher, testing

SAFETYNET = str(Path(sys.executable).parent / "safetynet")


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    return {**env, "SAFETYNET_DATA_DIR": str(data), "SAFETYNET_DATABASE_URL": f"sqlite:///{data}/db.sqlite3"}


def write_claims(path: Path, n: int) -> None:
    people = [
        testing.make_id_number(dt.date(1940 + i % 70, 1 + i % 12, 1 + i % 28), i, i % 2 == 0)
        for i in range(997)
    ]
    with path.open("w", encoding="utf-8") as f:
        f.write(
            "claim_id,id_number,name,settle_date,inpatient,total_cost,fund_paid,out_of_pocket,diagnosis_code,serious_illness\n"
        )
        for start in range(0, n, 100_000):
            f.write(
                "".join(
                    f"C{i:09d},{people[i % 997]},王秀英,2026-0{1 + i % 9}-1{i % 10},false,1200.50,800.00,400.50,I10,false\n"
                    for i in range(start, min(n, start + 100_000))
                )
            )


def batches(data: Path) -> list[tuple[int, str, int]]:
    with sqlcipher.connect(data / "db.sqlite3", keys_dir=data / "keys") as db:
        return db.execute("SELECT id, status, accepted FROM lake_batch ORDER BY id").fetchall()


@pytest.mark.slow
@pytest.mark.processes
def test_a_killed_ingest_leaves_nothing_half_done_and_the_next_run_completes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    feed = tmp_path / "claims.csv"
    write_claims(feed, 1_500_000)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env_for(data), check=True)
    staging = data / "lake" / "medical_claims" / "_staging" / "batch=1"

    proc = subprocess.Popen(
        [SAFETYNET, "ingest", "medical_claims", str(feed)],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while len(list(staging.glob("part-*.parquet"))) < 2:  # a second part written: the ingest is mid-way
        assert proc.poll() is None, "the ingest ended before it could be interrupted: use a larger file"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert batches(data) == [(1, "running", 0)]
    assert not (data / "lake" / "medical_claims" / "batch=1").exists()  # nothing half-published

    done = subprocess.run(
        [SAFETYNET, "ingest", "medical_claims", str(feed)],
        env=env_for(data),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "accepted=1500000 rejected=0 batch=2"
    assert batches(data) == [(1, "failed", 0), (2, "done", 1_500_000)]
    assert not (data / "lake" / "medical_claims" / "_staging" / "batch=1").exists()
    published = sorted(
        p.name for p in (data / "lake" / "medical_claims").iterdir() if p.name.startswith("batch=")
    )
    assert published == ["batch=2"]
    table = pq.read_table(data / "lake" / "medical_claims" / "batch=2", columns=["claim_id"])
    assert table.num_rows == 1_500_000 and len(set(table.column("claim_id").to_pylist())) == 1_500_000


@pytest.mark.slow
@pytest.mark.processes
def test_a_2_gb_file_lands_in_bounded_memory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    feed = tmp_path / "businesses.csv"
    people = [testing.make_id_number(dt.date(1960 + i % 40, 3, 1 + i % 28), i, True) for i in range(1000)]
    note = "经营范围：农产品收购、销售；农业机械租赁服务；" * 24  # about 1 KB of text an export may carry
    block = "".join(
        f"{people[i]},夏津县{i}号农资经营部,2015-06-01,active,{note}\n" for i in range(1000)
    ).encode()
    rows = 0
    with feed.open("wb") as f:
        f.write("id_number,business_name,registered_on,status,经营范围\n".encode())
        while f.tell() < 2 * 1024**3:
            f.write(block)
            rows += 1000
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [SAFETYNET, "ingest", "businesses", str(feed)],
        env=env_for(data),
        capture_output=True,
        text=True,
        check=True,
    )
    peak_mib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    feed.unlink()
    accepted = int(done.stdout.strip().splitlines()[-1].split()[0].removeprefix("accepted="))
    assert accepted == rows
    assert peak_mib < 2048, f"peak memory {peak_mib:.0f} MiB"
