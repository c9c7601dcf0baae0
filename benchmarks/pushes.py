"""Benchmark: a 1 GiB department push to the served application, answered 202 at once and landed later.

Starts `safetynet serve` (waitress and its worker, the embedded SQLite default, a data folder of its own),
issues a department token and pushes one JSON Lines file of medical claims just under 1 GiB (waitress's
own ceiling for a request body) over loopback, streamed from disk.

Measured in one run:

- **accepted**: from the first byte sent to the 202 answer (the client's view: sending 1 GiB over
  loopback included), and the server's own time for the request (its request log: reading the body off
  waitress's buffer to disk, the batch, the job);
- **landed**: from the 202 to the batch's status `done` read back over the API (the worker validating,
  quarantining and writing Parquet) — what a sender waited for before pushes became jobs (the baseline);
- **transfer only** (a baseline from the same run): the same bytes posted to a feed that does not exist,
  answered 404 once waitress has read the body — the part of "accepted" that is the wire, not the service;
- the ratio of landed to accepted.

    .venv/bin/python benchmarks/pushes.py                 # ~1 GiB, about 4.3 million claims
    .venv/bin/python benchmarks/pushes.py --bytes 100000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "src"))
WAITRESS_MAX_BODY = 1 << 30  # waitress refuses a larger body (max_request_body_size)


def id_number(born: dt.date, seq: int) -> str:
    """An 18-digit resident ID of 夏津县 with a valid ISO 7064 MOD 11-2 check digit."""
    body = f"371427{born:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def claims_file(path: Path, size: int) -> int:
    """JSON Lines claims until `size` bytes; returns the number of rows."""
    # born since 1995: the birthplace code 371427 is 夏津县's only from the 1990s (validated per birth year)
    people = [id_number(dt.date(1995 + i % 15, 1 + i % 12, 1 + i % 28), i) for i in range(997)]
    written = rows = 0
    with path.open("w", encoding="utf-8") as f:
        while True:
            line = json.dumps(
                {
                    "claim_id": f"G{rows:09d}", "id_number": people[rows % 997], "name": "王秀英",
                    "settle_date": f"2026-0{1 + rows % 9}-1{rows % 10}", "inpatient": "false",
                    "total_cost": "1200.50", "fund_paid": "800.00", "out_of_pocket": "400.50",
                    "diagnosis_code": "I10", "serious_illness": "false",
                },
                ensure_ascii=False,
            ) + "\n"  # fmt: skip
            size_of = len(line.encode())
            if written + size_of > size:
                return rows
            f.write(line)
            written += size_of
            rows += 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "safetynet"), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def request(port: int, method: str, path: str, token: str, body=None, headers=None):  # type: ignore[no-untyped-def]
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    con.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", **(headers or {})})
    response = con.getresponse()
    answer = response.status, json.loads(response.read() or b"{}")
    con.close()
    return answer


def server_ms(log: Path, path: str) -> float | None:
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("{") and f'"path": "{path}"' in line and '"method": "POST"' in line:
            return float(json.loads(line)["ms"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", type=int, default=WAITRESS_MAX_BODY - (1 << 20))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pushes-bench-"))
    data = work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    env.update(SAFETYNET_DATA_DIR=str(data), SAFETYNET_DATABASE_URL=f"sqlite:///{data}/db.sqlite3")
    started = time.perf_counter()
    body = work / "claims.jsonl"
    rows = claims_file(body, args.bytes)
    size = body.stat().st_size
    print(f"file: {size:,} bytes, {rows:,} claims, written in {time.perf_counter() - started:.0f} s", flush=True)
    run("manage", "migrate", "-v", "0", env=env)
    token = run("lake", "token", "create", "--department", "县医保局", "--source", "medical_claims", env=env).split()[-1]
    port = free_port()
    log = work / "server.log"
    with log.open("ab") as out:
        server = subprocess.Popen(  # noqa: S603 - our own entry point
            [str(BIN / "safetynet"), "serve", "--port", str(port)], env=env, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
        time.sleep(2)  # the worker beside it starts its processes
        path = "/api/lake/medical_claims/batches"
        with body.open("rb") as stream:
            # Baseline: the same bytes to a source that does not exist. Waitress reads a whole body before
            # the application sees the request, so this is the time the transfer alone takes.
            sent = time.perf_counter()
            status, _ = request(
                port, "POST", "/api/lake/no_such_feed/batches", token, body=stream,
                headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)},
            )  # fmt: skip
            transfer = time.perf_counter() - sent
            assert status == 404, status
        with body.open("rb") as stream:
            sent = time.perf_counter()
            status, answer = request(
                port, "POST", f"{path}?file_name=claims.jsonl", token, body=stream,
                headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)},
            )  # fmt: skip
            accepted = time.perf_counter() - sent
        assert status == 202, (status, answer)
        batch = answer["batch_id"]
        while True:
            status, state = request(port, "GET", f"/api/lake/batches/{batch}", token)
            if state["status"] not in ("queued", "running"):
                break
            time.sleep(0.5)
        landed = time.perf_counter() - sent - accepted
        result = {
            "bytes": size,
            "rows": rows,
            "transfer_only_s": round(transfer, 3),
            "accepted_s": round(accepted, 3),
            "server_ms": server_ms(data / "logs" / "safetynet.log", path),
            "landed_s": round(landed, 1),
            "status": state["status"],
            "accepted_rows": state["accepted"],
            "ratio": round((accepted + landed) / accepted, 1),
        }
        print(json.dumps(result, ensure_ascii=False))
        if state["rejected"]:
            _, quarantined = request(port, "GET", f"/api/lake/batches/{batch}/quarantine", token)
            print("quarantined, e.g.:", quarantined[:3])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)


if __name__ == "__main__":
    main()
