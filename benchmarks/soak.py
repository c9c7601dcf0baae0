"""Soak: mixed reads, case steps, lead reports and department pushes by 50 users for 30 minutes (or a short
CI variant), then nothing lost or doubled: every answer checked against the rows in the database and the lake.

One command prepares everything afresh, serves the application as it ships and loads it with locust:

1. a fresh data folder (bench-out/soak/<database>/data) and a fresh database: the embedded SQLite default,
   or the PostgreSQL database `soak_bench` on 127.0.0.1:5432 (user postgres, trust), dropped and created;
2. `safetynet demo --persons N --no-serve`: generate the demo county, import it, land its feeds, train the
   matcher, run a live screen (household facts; warnings become leads, leads open cases);
3. accounts of each role created with `access.services.create_user`, department push tokens with
   `safetynet lake token create`; every account signed in through the login page before the load;
4. `safetynet serve` (waitress, 8 threads, DEBUG off) on a free loopback port, in its own process;
5. locust headless (benchmarks/soak_locustfile.py, FastHttpUser) in two phases, the server up throughout:
   - read-only (--read-minutes, default a tenth of the soak, at least 30 s): the same users, only reads
     (the write tasks left out; hotline operators read their own leads, departments their batch list):
     the baseline of the ratios;
   - soak (--minutes): the full mix below.

The mix, per 50 users (scaled to --users), think time --wait (default 1–3 s; departments --push-wait,
default 5–15 s):

- 14 village coordinators, 10 township staff, 6 county staff: their inbox, case pages, household pages,
  the warnings list, the lead list, the API's case and lead lists, and case steps: verify → inform → apply
  (5 % decline instead of apply; 10 % of verifications find no hardship, which closes the case). Every case
  has one owner (its village's coordinator, else one of its township's accounts, else one of the county's,
  by case id), so no two users step one case; a user with nothing left takes new cases of its own from
  `GET /api/cases` (hotline leads keep opening them). A step first reads the case (`GET /api/cases/{id}`)
  for its version. 3 % of steps that got 200 are sent again unchanged (must be 409); 3 % are first sent on
  a raw connection closed before the answer, then retried (200 or 409: whichever ran first won).
- township staff also report patrol leads in their township, 8 hotline operators report hotline leads
  anywhere (`POST /api/leads`; the demo's labelled records: homophones, typos, masked IDs, ages).
- 6 departments (医保局 medical_claims, 人社局 pensions) push small files (JSON Lines or multipart CSV,
  --push-rows rows, claim ids unique in the run) with their bearer token; 10 % with 1–3 rows whose ID number
  has a wrong check digit (to quarantine). Of the pushes, 10 % are resent after their 201 (must answer 200
  with the same batch), 10 % are sent twice at the same moment (one 201 and one 200, one batch), 5 % are
  sent whole on a connection closed before the answer and retried, 5 % dropped half-way and retried.
- 6 social organisations read the home page: the cheapest authenticated page, as in benchmarks/leads.py.

Errors are every 5xx, every 4xx not listed as a correct answer above, and every transport failure: the run
fails with any. A 409 on a step is the optimistic lock answering and is counted apart.

After the load, in this process, against the same database and lake:

- leads: every post answered 201 exists exactly once under the id its answer gave (found by the token in
  its summary), with one `report_lead` audit entry; none exists for a post without a 201;
- steps: every step answered 200 (or abandoned and retried) is exactly one Step row (found by the token in
  its note) of its case and action; no row for a step refused; one `case_<action>` audit entry per row;
  every case worked has version = its number of steps and the stage of its last step; one verified income
  per verification and one registry application per assisted application;
- pushes: every distinct file landed exactly one batch, done, whose accepted and rejected rows equal the
  good and bad rows sent, under the batch id every answer gave; its Parquet in the lake holds as many rows
  (and quarantine as many rejected); resent, twin and retried files added no batch and no row; claim ids
  landed once each.

Reported (printed, and written to bench-out/soak/<database>/result-<minutes>m.json): throughput, p50/p95/p99
per request type, errors, conflicts, the checks, per-minute throughput and p95 over the soak, the server's
RSS and CPU, waitress queue warnings and tracebacks in the server log. Exit status 1 when any error or
any check fails.

The ratio (docs/benchmarks.md's convention): the soak's throughput and its reads' p95 over the read-only
phase's, same users, same server, same run.

    .venv/bin/python benchmarks/soak.py --minutes 2 --database sqlite          # CI variant, ~3 min in all
    .venv/bin/python benchmarks/soak.py --minutes 2 --database postgresql      # CI variant, ~3 min in all
    .venv/bin/python benchmarks/soak.py --minutes 30 --database postgresql --persons 100000   # the soak

At 20,000 persons the screen opens 780 cases, which the steppers finish in about 6 minutes; after that
steps go only as fast as hotline leads open new cases. The 30-minute soak therefore uses 100,000 persons
(3,888 cases, about a minute more to prepare).
"""

# Benchmark-only dependency: locust (`pip install -e '.[bench]'`).

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("soak_locustfile.py")
PASSWORD = "soak-bench-2026-Wq"  # noqa: S105 - the benchmark database's own throwaway accounts
PG_URL = "postgresql://postgres@127.0.0.1:5432/soak_bench"

MIX = {"coordinator": 14, "township": 10, "county": 6, "hotline": 8, "department": 6, "baseline": 6}
READS = {
    "coordinator": {"inbox": 2, "case_page": 2, "household": 1, "api_cases": 1, "leads_list": 1},
    "township": {"inbox": 2, "case_page": 1, "household": 1, "leads_list": 1, "api_leads": 1, "warnings": 1},
    "county": {"inbox": 2, "warnings": 2, "api_cases": 1, "api_leads": 1, "case_page": 1},
    "hotline": {"my_leads": 1},
    "department": {"batches": 1},
    "baseline": {"baseline": 1},
}
WRITES = {
    "coordinator": {"step": 4},
    "township": {"step": 3, "intake": 1},
    "county": {"step": 3},
    "hotline": {"intake": 4},
    "department": {"push": 4},
    "baseline": {},
}
PROBABILITIES = {
    "idempotency_key": 0.5,  # share of writes sent with an Idempotency-Key header
    "lead_abandon": 0.03,  # of leads with a key
    "lead_resend": 0.05,  # of leads with a key
    "decline": 0.05,
    "no_hardship": 0.10,
    "step_resend": 0.03,
    "step_abandon": 0.03,
    "push_twin": 0.10,
    "push_abandon": 0.05,
    "push_drop": 0.05,
    "push_resend": 0.10,
    "push_bad_rows": 0.10,
}
DEPARTMENTS = {"medical_claims": "县医疗保障局", "pensions": "县人力资源和社会保障局"}
WRITE_PREFIXES = ("step", "push", "lead intake", "lead retry", "lead resend")
FIRST_STEPS = ("step verify", "step inform", "step apply", "step decline")


# -- preparation ------------------------------------------------------------------------------------------


def run(command: list[str], env: dict[str, str], log: Path) -> str:
    with log.open("a", encoding="utf-8") as f:
        f.write(f"\n$ {' '.join(command)}\n")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        f.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed ({done.returncode}); see {log}")
    return done.stdout


def fresh_database(kind: str, url: str) -> None:
    if kind != "postgresql":
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')


def prepare(args: argparse.Namespace, env: dict[str, str], log: Path) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    start = time.perf_counter()
    out = run([str(BIN / "safetynet"), "demo", "--persons", str(args.persons), "--no-serve"], env, log)
    timings["demo_s"] = round(time.perf_counter() - start, 1)
    found = re.search(r"run=\d+ .*warnings=(\d+) new=(\d+)", out)
    timings["warnings"] = int(found.group(1)) if found else None
    tokens = {}
    for source, department in DEPARTMENTS.items():
        printed = run(
            [
                str(BIN / "safetynet"),
                "lake",
                "token",
                "create",
                "--department",
                department,
                "--source",
                source,
            ],
            env,
            log,
        )
        tokens[source] = printed.strip().splitlines()[-1].strip()
    timings["tokens"] = {s: t.split("_")[1] for s, t in tokens.items()}  # the prefixes only
    return {"timings": timings, "tokens": tokens}


def django_setup(env: dict[str, str]) -> None:
    for key in ("SAFETYNET_DATA_DIR", "SAFETYNET_DATABASE_URL", "SAFETYNET_ALLOWED_HOSTS"):
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    os.environ.pop("SAFETYNET_DEBUG", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django

    django.setup()


def scaled(mix: dict[str, int], users: int) -> dict[str, int]:
    """MIX scaled to `users`, every role kept, the remainder to the largest."""
    total = sum(mix.values())
    counts = {role: max(1, round(n * users / total)) for role, n in mix.items()}
    counts["coordinator"] += users - sum(counts.values())
    return counts


def accounts_and_work(counts: dict[str, int], tokens: dict[str, str], county_dir: Path) -> dict[str, Any]:
    """The accounts (created here), who owns which case, each stepper's first cases, and what each
    account reads and reports."""
    from django.db.models import Count

    from safetynet.access.services import create_user
    from safetynet.cases.models import Case
    from safetynet.regions.models import Region
    from safetynet.registry.models import Household, Person

    regions = dict(Region.objects.values_list("code", "level"))
    county = next(c for c, level in regions.items() if level == "county")
    new_cases = Case.objects.filter(status="open", stage="new")
    by_village = dict(new_cases.values("region_code").annotate(n=Count("id")).values_list("region_code", "n"))
    by_township: Counter[str] = Counter()
    for village, n in by_village.items():
        by_township[village[:9]] += n
    villages = sorted(by_village, key=lambda v: (-by_village[v], v))[: counts["coordinator"]]
    townships = [t for t, _ in sorted(by_township.items(), key=lambda x: (-x[1], x[0]))]
    townships += sorted(
        c[:9] for c, level in regions.items() if level == "township" and c[:9] not in townships
    )
    wanted: list[tuple[str, str, str, str]] = []  # username, kind, role, region
    wanted += [(f"soak-coord-{v}", "coordinator", "coordinator", v) for v in villages]
    for k in range(counts["township"]):
        code = townships[k % len(townships)]
        wanted.append((f"soak-town-{code}-{k // len(townships) + 1}", "township", "township", code + "000"))
    wanted += [(f"soak-county-{k + 1}", "county", "county", county) for k in range(counts["county"])]
    wanted += [(f"soak-hotline-{k + 1}", "hotline", "hotline", county) for k in range(counts["hotline"])]
    wanted += [(f"soak-org-{k + 1}", "baseline", "social_org", county) for k in range(counts["baseline"])]
    for username, _, role, region in wanted:
        create_user(
            username, PASSWORD, role, region, organisation="压测社会组织" if role == "social_org" else ""
        )
    ownership: dict[str, Any] = {
        "village": {region: username for username, kind, _, region in wanted if kind == "coordinator"},
        "township": defaultdict(list),
        "county": [username for username, kind, _, _ in wanted if kind == "county"],
    }
    for username, kind, _, region in wanted:
        if kind == "township":
            ownership["township"][region[:9]].append(username)
    ownership["township"] = dict(ownership["township"])

    def owner(case_id: int, region_code: str) -> str:  # the same as the locustfile's
        if region_code in ownership["village"]:
            return str(ownership["village"][region_code])
        township = ownership["township"].get(region_code[:9])
        if township:
            return str(township[case_id % len(township)])
        return str(ownership["county"][case_id % len(ownership["county"])])

    queues: dict[str, list[int]] = defaultdict(list)
    for case_id, region_code in new_cases.order_by("id").values_list("id", "region_code"):
        queues[owner(case_id, region_code)].append(case_id)
    lead_pools = pools(county_dir)
    accounts: dict[str, list[dict[str, Any]]] = {kind: [] for kind in MIX}
    for username, kind, _, region in wanted:
        low, high = subtree(region, regions[region])
        account: dict[str, Any] = {"username": username, "region": region}
        if kind in ("coordinator", "township", "county"):
            in_region = Case.objects.filter(region_code__gte=low, region_code__lte=high)
            account["cases"] = list(in_region.order_by("?").values_list("id", flat=True)[:200])
            account["households"] = list(
                Household.objects.filter(region_code__gte=low, region_code__lte=high)
                .order_by("?")
                .values_list("household_id", flat=True)[:200]
            )
            account["queue"] = queues.get(username, [])
        if kind == "township":
            account.update(pool=region[:9] if lead_pools.get(region[:9]) else "county", channel="patrol")
        if kind == "hotline":
            account.update(pool="county", channel="hotline")
        accounts[kind].append(account)
    sources = list(DEPARTMENTS)
    for k in range(counts["department"]):
        source = sources[k % len(sources)]
        accounts["department"].append(
            {"username": f"dept-{source}-{k + 1}", "source": source, "token": tokens[source]}
        )
    id_numbers = list(Person.objects.order_by("?").values_list("id_number", flat=True)[:3000])
    return {
        "accounts": accounts,
        "ownership": ownership,
        "pools": lead_pools,
        "id_numbers": id_numbers,
        "queued": {u: len(q) for u, q in queues.items()},
        "new_cases": sum(len(q) for q in queues.values()),
    }


def subtree(code: str, level: str) -> tuple[str, str]:
    from safetynet.regions.services import subtree_range

    low, high = subtree_range(code, level)
    return str(low), str(high)


def pools(county_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Lead records as people report them (the demo's labelled leads): the whole county for the hotline,
    each township's residents for its staff's patrol reports."""
    from safetynet.registry.models import Household

    with (county_dir / "linkage_leads.csv").open(encoding="utf-8-sig", newline="") as f:
        leads = list(csv.DictReader(f))
    with (county_dir / "linkage_truth.csv").open(encoding="utf-8-sig", newline="") as f:
        truth = {r["record_id"]: r["household_id"] for r in csv.DictReader(f)}
    village_of = dict(
        Household.objects.filter(household_id__in=[h for h in truth.values() if h]).values_list(
            "household_id", "region_code"
        )
    )
    fields = ("name", "id_number", "phone", "birth_date", "age", "gender", "region_code", "address_text")
    found: dict[str, list[dict[str, str]]] = {"county": []}
    for lead in leads:
        record = {k: lead[k] for k in fields if lead.get(k)}
        found["county"].append(record)
        village = village_of.get(truth.get(lead["record_id"], ""), "")
        if village:
            found.setdefault(village[:9], []).append(record)
    return found


# -- the server and the load ------------------------------------------------------------------------------


def code_state() -> dict[str, str]:
    """The commit, the files of src/ that differ from it (others edit this tree), and a fingerprint of the
    application's files to tell whether they changed during the run. Read-only git only."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\n")
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src/safetynet").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".html"):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return {
        "commit": head,
        "dirty": " ".join(d.strip() for d in dirty if d.strip()),
        "files": digest.hexdigest(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [str(BIN / "safetynet"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(  # noqa: S603 - our own entry point
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def signed_in(base: str, username: str) -> dict[str, str]:
    import requests

    session = requests.Session()
    session.get(f"{base}/login/", timeout=30)
    answer = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not sign in ({answer.status_code})")
    return dict(session.cookies.get_dict())


class ServerWatch(threading.Thread):
    """The server process's RSS and CPU seconds every few seconds, during the load."""

    def __init__(self, pid: int, every: float = 5.0):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, float, float]] = []  # epoch s, RSS MiB, CPU s, load average
        self.stopped = threading.Event()

    def read(self) -> tuple[float, float, float, float]:
        rss = 0.0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return time.time(), rss, cpu, os.getloadavg()[0]

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.samples.append(self.read())
            except (OSError, ValueError, IndexError):
                return
            self.stopped.wait(self.every)


def run_locust(
    phase: str, plan: dict[str, Any], args: argparse.Namespace, base: str, out: Path, seconds: int
) -> dict[str, Any]:
    plan_path = out / f"plan-{phase}.json"
    result_path = out / f"samples-{phase}.json"
    result_path.unlink(missing_ok=True)
    plan_path.write_text(
        json.dumps({**plan, "result": str(result_path)}, ensure_ascii=False), encoding="utf-8"
    )
    users = sum(plan["users"].values())
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "-u",
        str(users),
        "-r",
        str(args.spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "120",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    print(f"\n{phase}: {users} users {plan['users']}, {seconds} s", flush=True)
    started = time.time()
    done = subprocess.run(  # noqa: S603 - locust from this venv
        command, env={**os.environ, "SOAK_PLAN": str(plan_path)}, capture_output=True, text=True, check=False
    )
    (out / f"locust-{phase}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if not result_path.exists():
        raise SystemExit(f"locust wrote no samples ({done.returncode}); see {out / f'locust-{phase}.log'}")
    raw = json.loads(result_path.read_text(encoding="utf-8"))
    raw["started"], raw["ended"] = started, time.time()
    return raw


# -- figures ----------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def is_write(name: str) -> bool:
    return name.startswith(WRITE_PREFIXES)


def stats_of(samples: list[list[Any]], window: float) -> dict[str, Any]:
    times = [s[2] for s in samples]
    failures = [s for s in samples if not s[3]]
    return {
        "count": len(samples),
        "per_s": round(len(samples) / window, 2) if window > 0 else 0.0,
        "p50_ms": round(statistics.median(times), 1) if times else 0.0,
        "p95_ms": round(percentile(times, 0.95), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
        "max_ms": round(max(times), 1) if times else 0.0,
        "failures": len(failures),
        "statuses": dict(Counter(str(s[4]) for s in samples)),
        "errors": sorted({f"{s[4]} {s[5]}"[:240] for s in failures})[:5],
    }


def summarise(raw: dict[str, Any], settle: float) -> dict[str, Any]:
    """Per request name and for all, reads and writes: over the requests started from `settle` seconds
    after the last user was spawned until the stop. Failures are counted over the whole phase."""
    begin = (raw["spawned_at"] or raw["started"]) + settle
    end = raw["stopping_at"]
    window = end - begin
    samples = raw["samples"]
    inside = [s for s in samples if begin <= s[1] < end]
    by_name: dict[str, list[list[Any]]] = defaultdict(list)
    for s in inside:
        by_name[s[0]].append(s)
    groups = {name: stats_of(found, window) for name, found in sorted(by_name.items())}
    groups["(all)"] = stats_of(inside, window)
    groups["(reads)"] = stats_of([s for s in inside if not is_write(s[0])], window)
    groups["(writes)"] = stats_of([s for s in inside if is_write(s[0])], window)
    failures = [s for s in samples if not s[3]]
    # 409s on a first attempt: the optimistic lock (a resend's or an abandoned step's retry are expected).
    conflicts = sum(1 for s in samples if s[4] == 409 and s[0] in FIRST_STEPS)
    minutes = []
    step = 60.0
    t = begin
    while t < end - 1:
        part = [s for s in inside if t <= s[1] < t + step]
        span = min(step, end - t)
        reads = [s[2] for s in part if not is_write(s[0])]
        steps = [s[2] for s in part if s[0].startswith("step")]
        minutes.append(
            {
                "from_s": round(t - begin),
                "per_s": round(len(part) / span, 2),
                "p95_ms": round(percentile([s[2] for s in part], 0.95), 1),
                "reads_p95_ms": round(percentile(reads, 0.95), 1),
                "steps_p95_ms": round(percentile(steps, 0.95), 1),
                "failures": sum(1 for s in part if not s[3]),
            }
        )
        t += step
    return {
        "window_s": round(window, 1),
        "requests": len(samples),
        "errors": len(failures),
        "error_examples": sorted({f"{s[0]}: {s[4]} {s[5]}"[:300] for s in failures})[:20],
        "step_conflicts_409": conflicts,
        "raw_abandoned": dict(Counter(r["kind"] for r in raw["raw"])),
        "stats": groups,
        "minutes": minutes,
    }


# -- the checks -------------------------------------------------------------------------------------------


def marks() -> dict[str, int]:
    from django.db.models import Max

    from safetynet.access.models import AuditEntry
    from safetynet.cases.models import Step
    from safetynet.lake.models import Batch
    from safetynet.leads.models import Lead

    return {
        name: model.objects.aggregate(m=Max("id"))["m"] or 0
        for name, model in (("step", Step), ("lead", Lead), ("batch", Batch), ("audit", AuditEntry))
    }


def check_leads(leads: list[dict[str, Any]], mark: dict[str, int]) -> dict[str, Any]:
    from safetynet.access.models import AuditEntry
    from safetynet.leads.models import Lead

    found: dict[str, list[int]] = defaultdict(list)
    for lead_id, summary in Lead.objects.filter(id__gt=mark["lead"]).values_list("id", "summary"):
        token = re.search(r"（(soak[^）]+)）$", summary)
        found[token.group(1) if token else f"(no token) {lead_id}"].append(lead_id)
    audits = Counter(
        AuditEntry.objects.filter(id__gt=mark["audit"], action="report_lead", object_type="lead").values_list(
            "object_id", flat=True
        )
    )
    problems: dict[str, list[Any]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    accepted = 0
    for sent in leads:
        answers = [a for a in sent["answers"] if a[0] != "abandoned"]
        abandoned = len(answers) != len(sent["answers"])
        ids = {a[2] for a in answers if a[1] == 201}
        rows = found.get(sent["token"], [])
        if ids:
            want: tuple[int, ...] = (1,)
            outcomes["answered_201"] += 1
            accepted += 1
        elif abandoned or any(a[1] is None for a in answers) or not answers:
            want = (0, 1)
            outcomes["unknown"] += 1
        else:
            want = (0,)
            outcomes["refused"] += 1
        if len(rows) not in want:
            problems["rows_not_as_answered"].append((sent["token"], [a[:2] for a in sent["answers"]], rows))
        if len(ids) > 1:
            problems["answers_name_two_leads"].append((sent["token"], sorted(ids)))
        elif ids and rows and rows != sorted(ids):
            problems["row_under_other_id"].append((sent["token"], sorted(ids), rows))
        for lead_id in rows:
            if audits.get(str(lead_id), 0) != 1:
                problems["report_lead_audit_not_one"].append((lead_id, audits.get(str(lead_id), 0)))
    tokens = {s["token"] for s in leads}
    strays = [t for t in found if t not in tokens]
    if strays:
        problems["rows_without_request"] = strays[:10]
    result = {
        "tokens": len(leads),
        "requests": sum(1 for s in leads for a in s["answers"] if a[0] != "abandoned"),
        "with_key": sum(1 for s in leads if s.get("key")),
        "outcomes": dict(outcomes),
        "lead_rows": sum(len(v) for v in found.values()),
        "found_once": sum(1 for s in leads if len(found.get(s["token"], [])) == 1),
        "problems": {k: v[:10] for k, v in problems.items()},
    }
    result["ok"] = (
        not problems and result["lead_rows"] == result["found_once"] and accepted <= result["found_once"]
    )
    return result


def check_steps(steps: list[dict[str, Any]], mark: dict[str, int]) -> dict[str, Any]:
    from django.db.models import Count

    from safetynet.access.models import AuditEntry
    from safetynet.cases.models import Case, Step
    from safetynet.registry.models import Application, VerifiedIncome

    rows = list(
        Step.objects.filter(id__gt=mark["step"]).values("id", "case_id", "action", "note", "to_stage")
    )
    by_note: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_note[row["note"]].append(row)
    problems: dict[str, list[Any]] = defaultdict(list)
    expected_rows = 0
    kinds: Counter[str] = Counter()
    for record in steps:
        answers = record["answers"]
        statuses = [
            status for name, status in answers if not name.startswith("step resend") and name != "abandoned"
        ]
        resend = [status for name, status in answers if name == "step resend (no key: 409 expected)"]
        abandoned = any(name == "abandoned" for name, _ in answers)
        found = by_note.get(record["token"], [])
        if any(s == 200 for s in resend):
            problems["resend_answered_200"].append(record["token"])
        if 200 in statuses or (abandoned and 409 in statuses):
            want: tuple[int, ...] = (1,)
            kinds["recorded"] += 1
        elif None in statuses or abandoned:
            want = (0, 1)  # cut off at the stop, or the retry failed: either may be true
            kinds["unknown"] += 1
        else:
            want = (0,)
            kinds["refused"] += 1
        if len(found) not in want:
            problems["rows_not_as_answered"].append((record["token"], statuses, len(found)))
        for row in found:
            if row["case_id"] != record["case_id"] or row["action"] != record["action"]:
                problems["row_of_other_case_or_action"].append(
                    (record["token"], row["case_id"], row["action"])
                )
        expected_rows += len(found) if len(found) in want else 0
    tokens = {r["token"] for r in steps}
    strays = [r["id"] for r in rows if r["note"] not in tokens]
    if strays:
        problems["rows_without_request"] = strays[:10]
    # One audit entry per step row: (case_<action>, case id) as a multiset.
    audit = Counter(
        AuditEntry.objects.filter(
            id__gt=mark["audit"], action__startswith="case_", object_type="case"
        ).values_list("action", "object_id")
    )
    wanted_audit = Counter((f"case_{r['action']}", str(r["case_id"])) for r in rows)
    if audit != wanted_audit:
        problems["audit_not_one_per_step"] = list((wanted_audit - audit) + (audit - wanted_audit))[:10]
    # Every case worked: version = number of its steps (all started at 0 with none), stage = its last step's.
    worked = {r["case_id"] for r in rows}
    counts = dict(
        Step.objects.filter(case_id__in=worked)
        .values("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )
    last = {}
    for case_id, to_stage in (
        Step.objects.filter(case_id__in=worked).order_by("id").values_list("case_id", "to_stage")
    ):
        last[case_id] = to_stage
    for case_id, version, stage in Case.objects.filter(id__in=worked).values_list("id", "version", "stage"):
        if version != counts.get(case_id) or stage != last.get(case_id):
            problems["case_version_or_stage"].append(
                (case_id, version, counts.get(case_id), stage, last.get(case_id))
            )
    # The registry rows the steps write: one verified income per verification, one application per apply.
    verify_refs = {f"case:{r['case_id']}:step:{r['id']}" for r in rows if r["action"] == "verify"}
    incomes = Counter(
        VerifiedIncome.objects.filter(reference__in=verify_refs).values_list("reference", flat=True)
    )
    if len(incomes) != len(verify_refs) or any(n != 1 for n in incomes.values()):
        problems["verified_incomes"].append((len(verify_refs), len(incomes)))
    apply_ids = {f"C{r['case_id']}-S{r['id']}" for r in rows if r["action"] == "apply"}
    applications = Application.objects.filter(application_id__in=apply_ids).count()
    if applications != len(apply_ids):
        problems["applications"].append((len(apply_ids), applications))
    result = {
        "sent": sum(len(r["answers"]) for r in steps),
        "tokens": len(steps),
        "by_outcome": dict(kinds),
        "by_action": dict(Counter(r["action"] for r in rows)),
        "step_rows": len(rows),
        "step_rows_expected": expected_rows,
        "cases_worked": len(worked),
        "cases_closed": Case.objects.filter(id__in=worked, status="closed").count(),
        "verified_incomes": len(verify_refs),
        "applications": applications,
        "problems": {k: v[:10] for k, v in problems.items()},
    }
    result["ok"] = not problems and len(rows) == expected_rows
    return result


def lake_rows(source: str, batch_id: int, quarantine: bool = False) -> tuple[int, list[str]]:
    import pyarrow.parquet as pq

    from safetynet.lake import storage

    fs, root = storage.filesystem()
    path = storage.batch_dir(root, source, batch_id, quarantine=quarantine)
    if not fs.exists(path):
        return 0, []
    total, keys = 0, []
    for name in sorted(fs.find(path)):
        if not name.endswith(".parquet"):
            continue
        with fs.open(name, "rb") as f:
            table = pq.read_table(f)
        total += table.num_rows
        if source == "medical_claims" and not quarantine and "claim_id" in table.column_names:
            keys += [str(k) for k in table.column("claim_id").to_pylist()]
    return total, keys


def check_pushes(pushes: dict[str, dict[str, Any]], mark: dict[str, int]) -> dict[str, Any]:
    from safetynet.lake.models import Batch

    batches = list(
        Batch.objects.filter(id__gt=mark["batch"]).values(
            "id", "source", "file_name", "status", "accepted", "rejected", "rows_total", "message"
        )
    )
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in batches:
        by_name[b["file_name"]].append(b)
    problems: dict[str, list[Any]] = defaultdict(list)
    modes: Counter[str] = Counter()
    landed_files, good_rows, bad_rows, sent_requests = 0, 0, 0, 0
    claim_ids: Counter[str] = Counter()
    for name, push in pushes.items():
        answers = push["answers"]
        sent_requests += len(answers)
        statuses = [a[1] for a in answers if a[0] not in ("abandoned", "dropped")]
        kinds = {a[0].split(" (")[0] if a[0].startswith("push retry") else a[0] for a in answers}
        modes[
            "twin"
            if "push twin" in kinds
            else "abandoned+retry"
            if "abandoned" in kinds
            else "dropped+retry"
            if "dropped" in kinds
            else "resent"
            if any(k.startswith("push resend") for k in kinds)
            else "once"
        ] += 1
        found = by_name.get(name, [])
        if any(s in (200, 201) for s in statuses):
            want: tuple[int, ...] = (1,)
        elif None in statuses or not statuses or "abandoned" in kinds:
            want = (0, 1)
        else:
            want = (0,)
        if len(found) not in want:
            problems["batches_not_one_per_file"].append(
                (name, statuses, [(b["id"], b["status"]) for b in found])
            )
        if [a[1] for a in answers if "replay expected" not in a[0]].count(201) > 1:
            problems["two_201_for_one_content"].append((name, [a[:3] for a in answers]))
        if not found:
            continue
        batch = found[0]
        landed_files += 1
        good_rows += push["good"]
        bad_rows += push["bad"]
        if batch["status"] != "done":
            problems["batch_not_done"].append((name, batch["id"], batch["status"], batch["message"]))
        if (batch["accepted"], batch["rejected"]) != (push["good"], push["bad"]):
            problems["counts_differ_from_sent"].append(
                (
                    name,
                    batch["id"],
                    "sent",
                    push["good"],
                    push["bad"],
                    "batch",
                    batch["accepted"],
                    batch["rejected"],
                )
            )
        for answer in answers:
            if answer[1] in (200, 201) and answer[2] != batch["id"]:
                problems["answer_names_other_batch"].append((name, answer[:3], batch["id"]))
            if answer[1] == 201 and (answer[3], answer[4]) != (push["good"], push["bad"]):
                problems["answer_counts_differ"].append((name, answer))
        rows, keys = lake_rows(push["source"], batch["id"])
        quarantined, _ = lake_rows(push["source"], batch["id"], quarantine=True)
        if rows != batch["accepted"] or quarantined != batch["rejected"]:
            problems["lake_rows_differ"].append(
                (name, batch["id"], rows, quarantined, batch["accepted"], batch["rejected"])
            )
        claim_ids.update(keys)
    strays = [(b["id"], b["file_name"], b["status"]) for b in batches if b["file_name"] not in pushes]
    if strays:
        problems["batches_without_push"] = strays[:10]
    repeated_keys = [k for k, n in claim_ids.items() if n > 1]
    if repeated_keys:
        problems["claim_ids_landed_twice"] = repeated_keys[:10]
    accepted_total = sum(b["accepted"] for b in batches)
    if accepted_total != good_rows:
        problems["accepted_total_differs"].append((accepted_total, good_rows))
    result = {
        "files": len(pushes),
        "requests": sent_requests,
        "by_mode": dict(modes),
        "batches": len(batches),
        "files_landed": landed_files,
        "rows_sent_good": good_rows,
        "rows_sent_bad": bad_rows,
        "rows_accepted": accepted_total,
        "rows_quarantined": sum(b["rejected"] for b in batches),
        "claim_ids_in_lake": sum(claim_ids.values()),
        "problems": {k: v[:10] for k, v in problems.items()},
    }
    result["ok"] = not problems and len(batches) == landed_files
    return result


# -- the report -------------------------------------------------------------------------------------------


def markdown(phases: dict[str, dict[str, Any]], ratio: dict[str, Any]) -> str:
    lines = [
        "| phase | request | count | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase, report in phases.items():
        for name, s in report["stats"].items():
            lines.append(
                f"| {phase} | {name} | {s['count']:,} | {s['per_s']:.2f} | {s['p50_ms']:.0f} | "
                f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {s['failures']} |"
            )
    lines += [
        "",
        f"- throughput soak / read-only: {ratio['throughput_soak']:.1f} / {ratio['throughput_read_only']:.1f} req/s "
        f"= **{ratio['throughput']:.2f}×**; reads p95 soak / read-only: {ratio['reads_p95_soak']:.0f} / "
        f"{ratio['reads_p95_read_only']:.0f} ms = **{ratio['reads_p95']:.2f}×**",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30, help="the soak phase (default 30; CI: 2)")
    parser.add_argument(
        "--read-minutes", type=float, default=None, help="the read-only phase (default a tenth, ≥ 0.5)"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("SAFETYNET_SOAK_PG", PG_URL), help=f"default {PG_URL}"
    )
    parser.add_argument("--persons", type=int, default=20_000, help="demo county size (default 20000)")
    parser.add_argument("--wait", default="1,3", help="think time min,max seconds (default 1,3)")
    parser.add_argument("--push-wait", default="5,15", help="departments' think time (default 5,15)")
    parser.add_argument(
        "--push-rows", default="20,200", help="rows per pushed file, min,max (default 20,200)"
    )
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--settle", type=float, default=3, help="seconds after the spawn before measuring")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out/soak")
    args = parser.parse_args()
    if args.read_minutes is None:
        args.read_minutes = min(5.0, max(0.5, args.minutes / 10))
    return args


def main() -> None:
    args = parse_args()
    out = (args.out / args.database).resolve()
    data_dir = out / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    for old in out.glob("*.log"):
        old.unlink()
    env = {
        **os.environ,
        "SAFETYNET_DATA_DIR": str(data_dir),
        "SAFETYNET_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SAFETYNET_LOG_LEVEL": "WARNING",
    }
    env.pop("SAFETYNET_DEBUG", None)
    if args.database == "postgresql":
        env["SAFETYNET_DATABASE_URL"] = args.pg_url
    else:
        env.pop("SAFETYNET_DATABASE_URL", None)
    report: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "database": args.pg_url if args.database == "postgresql" else f"sqlite ({data_dir})",
        "minutes": args.minutes,
        "read_minutes": args.read_minutes,
        "users": args.users,
        "persons": args.persons,
        "wait": args.wait,
        "push_wait": args.push_wait,
        "cpus": os.cpu_count(),
        "code_before": code_state(),
    }
    started = time.perf_counter()
    fresh_database(args.database, args.pg_url)
    print(f"preparing a {args.persons:,}-person demo county in {data_dir} ({args.database}) …", flush=True)
    prepared = prepare(args, env, out / "prepare.log")
    django_setup(env)
    from django.db import connections
    from django.utils import timezone

    from safetynet.cases.models import Case
    from safetynet.leads.models import Lead

    counts = scaled(MIX, args.users)
    work = accounts_and_work(counts, prepared["tokens"], next(data_dir.glob("demo-county-*")))
    report["prepared"] = {
        **prepared["timings"],
        "cases": Case.objects.count(),
        "leads": Lead.objects.count(),
        "new_cases_queued": work["new_cases"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"prepared in {report['prepared']['seconds']} s: {report['prepared']}", flush=True)
    today = timezone.localdate()
    mark = marks()
    connections.close_all()  # no lock or idle transaction of ours during the load

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, env, out / "server.log")
    watch = ServerWatch(server.pid)
    raws: dict[str, dict[str, Any]] = {}
    try:
        t0 = time.perf_counter()
        for kind, accounts in work["accounts"].items():
            if kind != "department":
                for account in accounts:
                    account["cookies"] = signed_in(base, account["username"])
        print(
            f"server on {base} (pid {server.pid}); signed in in {time.perf_counter() - t0:.0f} s", flush=True
        )
        watch.start()
        wait = [float(x) for x in args.wait.split(",")]
        push_wait = [float(x) for x in args.push_wait.split(",")]
        common = {
            "host": "127.0.0.1",
            "port": port,
            "accounts": work["accounts"],
            "ownership": work["ownership"],
            "pools": work["pools"],
            "id_numbers": work["id_numbers"],
            "users": counts,
            "wait": {role: (push_wait if role == "department" else wait) for role in MIX},
            "probabilities": PROBABILITIES,
            "push_rows": [int(x) for x in args.push_rows.split(",")],
            "refill_every_s": 30,
            "yesterday": (today - dt.timedelta(days=1)).isoformat(),
            "follow_up_on": (today + dt.timedelta(days=30)).isoformat(),
            "recent_days": [(today - dt.timedelta(days=d)).isoformat() for d in range(2, 60)],
        }
        run_id = uuid.uuid4().hex[:6]
        phases = {
            "read-only": ({**common, "tasks": READS, "run_id": run_id + "r"}, args.read_minutes),
            "soak": (
                {**common, "tasks": {r: {**READS[r], **WRITES[r]} for r in MIX}, "run_id": run_id + "s"},
                args.minutes,
            ),
        }
        for phase, (plan, minutes) in phases.items():
            raws[phase] = run_locust(phase, plan, args, base, out, round(minutes * 60))
    finally:
        watch.stopped.set()
        stop_server(server)
    log = (out / "server.log").read_text(encoding="utf-8", errors="replace")
    report["server"] = {
        "tracebacks": log.count("Traceback"),
        "task_queue_warnings": log.count("Task queue depth"),
        "log_lines_warning_or_worse": len(re.findall(r"\b(WARNING|ERROR|CRITICAL)\b", log)),
    }
    phases_report = {}
    for phase, raw in raws.items():
        summary = summarise(raw, args.settle)
        inside = [s for s in watch.samples if raw["started"] <= s[0] <= raw["ended"]]
        if len(inside) >= 2:
            summary["server_rss_mib"] = {
                "first": round(inside[0][1]),
                "last": round(inside[-1][1]),
                "max": round(max(s[1] for s in inside)),
            }
            summary["server_cpu_s"] = round(inside[-1][2] - inside[0][2], 1)
            loads = [s[3] for s in inside]
            summary["load_average"] = {
                "min": round(min(loads), 2),
                "mean": round(statistics.fmean(loads), 2),
                "max": round(max(loads), 2),
            }
            # RSS and load average by minute, beside the minutes of the figures.
            for minute in summary["minutes"]:
                t0 = (raw["spawned_at"] or raw["started"]) + args.settle + minute["from_s"]
                part = [s for s in inside if t0 <= s[0] < t0 + 60]
                if part:
                    minute["server_rss_mib"] = round(part[-1][1])
                    minute["load_average"] = round(statistics.fmean(s[3] for s in part), 2)
        phases_report[phase] = summary
    report["phases"] = phases_report
    code_after = code_state()
    report["code_after"] = code_after
    report["code_changed_during_run"] = code_after["files"] != report["code_before"]["files"]

    soak = raws["soak"]
    report["checks"] = {
        "leads": check_leads(soak["leads"], mark),
        "steps": check_steps(soak["steps"], mark),
        "pushes": check_pushes(soak["pushes"], mark),
    }
    read_only, soaked = phases_report["read-only"]["stats"], phases_report["soak"]["stats"]
    ratio = {
        "throughput_read_only": read_only["(all)"]["per_s"],
        "throughput_soak": soaked["(all)"]["per_s"],
        "throughput": soaked["(all)"]["per_s"] / max(read_only["(all)"]["per_s"], 1e-9),
        "reads_p95_read_only": read_only["(reads)"]["p95_ms"],
        "reads_p95_soak": soaked["(reads)"]["p95_ms"],
        "reads_p95": soaked["(reads)"]["p95_ms"] / max(read_only["(reads)"]["p95_ms"], 1e-9),
    }
    report["ratio"] = ratio
    errors = sum(p["errors"] for p in phases_report.values())
    report["errors"] = errors
    report["ok"] = errors == 0 and all(c["ok"] for c in report["checks"].values())
    report["markdown"] = markdown(phases_report, ratio)
    path = out / f"result-{args.minutes:g}m.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")

    for phase, summary in phases_report.items():
        print(
            f"\n{phase}: {summary['window_s']:.0f} s measured, {summary['requests']:,} requests, errors "
            f"{summary['errors']}, step conflicts (409) {summary['step_conflicts_409']}, abandoned on purpose "
            f"{summary['raw_abandoned']}, server RSS {summary.get('server_rss_mib')} MiB, CPU {summary.get('server_cpu_s')} s, "
            f"load average {summary.get('load_average')}"
        )
        for example in summary["error_examples"]:
            print(f"   error: {example}")
    print("\n" + report["markdown"])
    if phases_report["soak"]["minutes"]:
        print(
            "\nsoak by minute (from s: req/s, p95 all / reads / steps ms, errors, server RSS MiB, load avg):"
        )
        for m in phases_report["soak"]["minutes"]:
            print(
                f"  {m['from_s']:>5}: {m['per_s']:6.1f}  {m['p95_ms']:6.0f} / {m['reads_p95_ms']:6.0f} / "
                f"{m['steps_p95_ms']:6.0f}  {m['failures']}  {m.get('server_rss_mib', '')}  {m.get('load_average', '')}"
            )
    for name, check in report["checks"].items():
        print(f"\ncheck {name}: {'ok' if check['ok'] else 'FAILED'}")
        print(
            "  " + json.dumps({k: v for k, v in check.items() if k != "ok"}, ensure_ascii=False, default=str)
        )
    print(
        f"\nserver log: {report['server']}; code changed during the run: {report['code_changed_during_run']}"
    )
    print(f"written {path}")
    if not report["ok"]:
        raise SystemExit(
            f"soak failed: {errors} errors; checks "
            + ", ".join(f"{k} {'ok' if c['ok'] else 'FAILED'}" for k, c in report["checks"].items())
        )


if __name__ == "__main__":
    main()
