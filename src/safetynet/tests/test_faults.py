"""Nothing lost or doubled: the served application under concurrency, retries, kills and cut connections.

Each test runs the real server (`safetynet serve`, waitress with 8 threads, its own data folder and
database) in a subprocess, as a bureau runs it, and talks to it over loopback, so a kill is a real
SIGKILL and "at once" means threads of one server. They need no test database: the test script runs
them once (marker `slow`); pushes, kills and runs on both the embedded SQLite default and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from safetynet import sqlcipher, testing

pytestmark = [pytest.mark.slow, pytest.mark.processes]
BIN = Path(sys.executable).parent
SAFETYNET = str(BIN / "safetynet")
PASSWORD = "correct-horse-battery"
PG = os.environ.get("SAFETYNET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def env_for(data: Path, database: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    return {
        **env,
        "SAFETYNET_DATA_DIR": str(data),
        "SAFETYNET_DATABASE_URL": database or f"sqlite:///{data}/db.sqlite3",
    }


def django(env: dict[str, str], code: str) -> str:
    """Run Python with Django set up in the application's environment; returns what it printed."""
    script = "import django, os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'safetynet.settings')\n"
    script += "django.setup()\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def prepare(data: Path, env: dict[str, str], households: int = 3) -> str:
    """A county in the data folder: the small hand-made one, or a generated one with more households;
    a township and a county account, and a department token for medical claims and pensions."""
    county = data.parent / "county"
    if households <= 3:
        testing.write_county(county)
        township, county_code = "371522100000", "371522000000"
    else:
        subprocess.run(
            [SAFETYNET, "demo-data", str(county), "--persons", str(households * 3), "--seed", "7"],
            env=env, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        township, county_code = "", "371427000000"
    subprocess.run([SAFETYNET, "registry", "import", str(county)], env=env, check=True, capture_output=True)
    printed = django(
        env,
        f"""
from safetynet.access.services import create_user
from safetynet.regions.models import Region
township = {township!r} or Region.objects.filter(level="township").order_by("code").first().code
create_user("town", {PASSWORD!r}, "township", township)
create_user("county", {PASSWORD!r}, "county", {county_code!r})
for i in range(10):  # staff working at once, each signed in once (an account holds at most 3 sessions)
    create_user(f"staff{{i}}", {PASSWORD!r}, "county", {county_code!r})
from safetynet.lake import services
# Off: a worker started in the small hours would begin the nightly runs by itself (they catch up until 06:00,
# Beijing time), beside the jobs a test starts and checks.
from safetynet.jobs.models import Schedule
from safetynet.jobs.services import ensure_schedules
ensure_schedules(list(Region.objects.filter(level="county").values_list("code", flat=True)))
Schedule.objects.update(enabled=False)
print(services.create_token("医保局", ["medical_claims", "pensions"]))
""",
    )
    return printed.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`safetynet serve` and the worker it starts, in a process group of their own: `kill_service` kills
    both, as a machine's crash or systemd's kill of the service's group does."""
    port = free_port()
    with log.open("ab") as out:
        server = subprocess.Popen(  # noqa: S603 - our own entry point
            [SAFETYNET, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=5).read()  # noqa: S310 - loopback
            break
        except OSError:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
    try:
        yield server, url
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # anything of the group still there


def kill_service(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


class Session:
    """A signed-in browser's cookies, over plain urllib."""

    def __init__(self, url: str, username: str):
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.request("GET", "/login/")
        status, _ = self.request(
            "POST", "/login/", form={"username": username, "password": PASSWORD}, expect_redirect=True
        )
        assert status == 302, status

    @property
    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")  # type: ignore[return-value]

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        expect_redirect: bool = False,
    ) -> tuple[int, Any]:
        data, kind = None, ""
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.csrf}
            data, kind = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        elif body is not None:
            data, kind = json.dumps(body, ensure_ascii=False).encode(), "application/json"
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)  # noqa: S310
        if kind:
            req.add_header("Content-Type", kind)
            req.add_header("X-CSRFToken", self.csrf)
            req.add_header("Referer", f"{self.url}/")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        opener = self.opener
        if expect_redirect:
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        try:
            with opener.open(req, timeout=120) as response:
                return response.status, _decoded(response.read(), response.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as error:
            return error.code, _decoded(error.read(), error.headers.get("Content-Type", ""))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _decoded(raw: bytes, kind: str) -> Any:
    return json.loads(raw) if kind.startswith("application/json") and raw else raw.decode(errors="replace")


def push(url: str, token: str, source: str, path: Path, key: str = "") -> tuple[int, dict[str, Any]]:
    """A push whose sender waits for the final answer (201, 200, 422) rather than the 202 of acceptance."""
    req = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/api/lake/{source}/batches?file_name={path.name}", data=path.read_bytes(), method="POST"
    )
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/x-ndjson")
    req.add_header("Prefer", "wait=600")
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=600) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def claims_jsonl(path: Path, n: int, prefix: str) -> Path:
    people = [
        testing.make_id_number(dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28), i, i % 2 == 0)
        for i in range(97)
    ]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "claim_id": f"{prefix}{i:08d}", "id_number": people[i % 97], "name": "王秀英",
                "settle_date": "2026-05-1" + str(i % 10), "inpatient": "false", "total_cost": "1200.50",
                "fund_paid": "800.00", "out_of_pocket": "400.50", "diagnosis_code": "I10", "serious_illness": "false",
            }  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def at_once(work: list[Any]) -> list[Any]:
    """Run the callables in threads that start together; their results in order."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as error:  # noqa: BLE001 - reported by the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    return results


def rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Rows of the server's database, SQLite or PostgreSQL."""
    url = env["SAFETYNET_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        with sqlcipher.connect(path, keys_dir=Path(env["SAFETYNET_DATA_DIR"]) / "keys", timeout=30) as db:
            return db.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]  # type: ignore[arg-type]


@contextmanager
def fresh_postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database of the test's own, dropped after: (its URL, the maintenance database's URL)."""
    import psycopg

    name = f"faults_{uuid.uuid4().hex[:8]}"
    admin = PG.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - a name of our own
    try:
        yield PG.rsplit("/", 1)[0] + f"/{name}", admin
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The served application's database: the embedded SQLite default ("" → in its data folder) or a
    fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
        return
    if not PG.startswith("postgresql"):
        pytest.skip("PostgreSQL not configured")
    with fresh_postgres() as (url, _):
        yield url


def spool_files(data: Path) -> list[str]:
    folder = data / "tmp" / "pushes"
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


# -- the tests -------------------------------------------------------------------------------------------


def test_identical_and_different_pushes_at_once(tmp_path: Path, database: str) -> None:
    """Four identical pushes at once: one batch, one set of rows, every caller told its id. Four different
    pushes to one source at once: all land. A retry with the same Idempotency-Key gets the first answer."""
    data = tmp_path / "data"
    env = env_for(data, database)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    token = prepare(data, env)
    same = claims_jsonl(tmp_path / "same.jsonl", 20_000, "S")
    others = [claims_jsonl(tmp_path / f"d{i}.jsonl", 5_000, f"D{i}") for i in range(4)]
    with served(env, tmp_path / "server.log") as (_, url):
        answers = at_once([lambda: push(url, token, "medical_claims", same) for _ in range(4)])
        assert all(isinstance(a, tuple) for a in answers), answers
        statuses = sorted(status for status, _ in answers)
        ids = {body["batch_id"] for _, body in answers}
        assert statuses == [200, 200, 200, 201] and len(ids) == 1, answers
        different = at_once([lambda f=f: push(url, token, "medical_claims", f) for f in others])
        assert [s for s, _ in different] == [201] * 4, different
        first = push(url, token, "medical_claims", claims_jsonl(tmp_path / "k.jsonl", 10, "K"), key="retry-1")
        again = push(url, token, "medical_claims", tmp_path / "k.jsonl", key="retry-1")
        assert first[0] == 201 and again == first
    done = rows(env, "SELECT content_hash, accepted FROM lake_batch WHERE status = 'done'")
    assert sorted(a for _, a in done) == [10, 5_000, 5_000, 5_000, 5_000, 20_000]
    assert len({h for h, _ in done}) == len(done)
    assert spool_files(data) == []


def test_a_service_killed_mid_push_lands_the_push_once_when_it_comes_back(tmp_path: Path, database: str) -> None:
    """The server and its worker killed (-9) while a push is landing: the accepted push waits in the inbox,
    the next worker retries its job, and it lands once, under the batch id the department was given."""
    data = tmp_path / "data"
    env = env_for(data, database)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    token = prepare(data, env)
    big = claims_jsonl(tmp_path / "big.jsonl", 600_000, "B")
    with served(env, tmp_path / "server.log") as (server, url):
        # sent with a key: the retry below uses it again and must not be told "in progress" for a day
        def first_push() -> None:
            with suppress(ConnectionError):  # the server dies under it
                push(url, token, "medical_claims", big, key="k1")

        sender = threading.Thread(target=first_push, daemon=True)
        sender.start()
        deadline = time.monotonic() + 120
        while not rows(env, "SELECT id FROM lake_batch WHERE status = 'running'"):
            assert time.monotonic() < deadline, "the push never started landing"
            time.sleep(0.05)
        kill_service(server)
    assert rows(env, "SELECT id, status FROM lake_batch") == [(1, "running")]
    assert [p.name for p in (data / "lake-inbox").iterdir()] == ["1.jsonl"]  # accepted: kept for the retry
    with served(env, tmp_path / "server2.log") as (_, url):
        deadline = time.monotonic() + 300
        while rows(env, "SELECT status FROM lake_batch WHERE id = 1") != [("done",)]:
            assert time.monotonic() < deadline, rows(env, "SELECT status, message FROM lake_batch")
            time.sleep(0.2)
        status, body = push(url, token, "medical_claims", big, key="k1")
        assert status == 200 and body["already_ingested"] and body["batch_id"] == 1, body
        assert push(url, token, "medical_claims", big, key="k1") == (status, body)  # now replayed
    batches = rows(env, "SELECT id, status, accepted FROM lake_batch ORDER BY id")
    assert batches == [(1, "done", 600_000), (2, "duplicate", 0)], batches
    attempts = rows(env, "SELECT attempts, status, error FROM jobs_job WHERE kind = 'lake.ingest_push' ORDER BY id")
    assert attempts[0][:2] == (2, "done") and "中断" in attempts[0][2], attempts
    assert spool_files(data) == [] and list((data / "lake-inbox").iterdir()) == []
    lake = data / "lake" / "medical_claims"
    assert sorted(p.name for p in lake.iterdir() if p.name.startswith("batch=")) == ["batch=1"]
    assert not any((lake / "_staging").glob("*")) if (lake / "_staging").exists() else True


def test_a_killed_run_is_recorded_as_failed_and_the_next_run_completes(tmp_path: Path, database: str) -> None:
    data = tmp_path / "data"
    env = env_for(data, database)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    prepare(data, env, households=7_000)
    run = subprocess.Popen(
        [SAFETYNET, "screen"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not rows(env, "SELECT id FROM screening_run WHERE status = 'running'"):
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait()
    again = subprocess.run([SAFETYNET, "screen"], env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    runs = rows(env, "SELECT status, error FROM screening_run ORDER BY id")
    assert [s for s, _ in runs] == ["failed", "done"] and "中断" in runs[0][1], runs


def test_fifty_case_steps_at_once_on_sqlite_answer_without_a_500(tmp_path: Path) -> None:
    """Dozens of staff at once on the embedded default: every step lands, none is "database is locked"."""
    data = tmp_path / "data"
    env = env_for(data)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    prepare(data, env, households=120)
    cases = json.loads(
        django(
            env,
            """
import json
from safetynet.cases.services import open_case_for
from safetynet.registry.models import Household
found = [open_case_for(h.household_id, h.region_code)[0].pk for h in Household.objects.order_by("pk")[:50]]
print(json.dumps(found))
""",
        )
    )
    assert len(cases) == 50
    visit = {
        "visited_on": dt.date.today().isoformat(), "hardship": True, "situation": "入户核实",
        "monthly_income": "800", "monthly_expense": "0", "wants_help": True,
    }  # fmt: skip
    with served(env, tmp_path / "server.log") as (_, url):
        sessions = [Session(url, f"staff{i}") for i in range(10)]

        def step(i: int) -> tuple[int, Any]:
            session = sessions[i % len(sessions)]
            return session.request(
                "POST", f"/api/cases/{cases[i]}/steps", body={"action": "verify", "version": 0, "data": visit}
            )

        answers = at_once([lambda i=i: step(i) for i in range(50)])
    failures = [a for a in answers if not (isinstance(a, tuple) and a[0] == 200)]
    assert not failures, failures[:3]
    assert rows(env, "SELECT COUNT(*) FROM cases_step WHERE action = 'verify'") == [(50,)]


@pytest.mark.skipif(not PG.startswith("postgresql"), reason="PostgreSQL only")
def test_cut_database_connections_cost_no_request_a_500(tmp_path: Path) -> None:
    """Every connection of the server's database is cut (as when PostgreSQL restarts): the next requests
    reconnect (health checks) instead of answering 500."""
    import psycopg

    with fresh_postgres() as (database, admin):
        data = tmp_path / "data"
        env = env_for(data, database)
        subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
        prepare(data, env)
        name = database.rsplit("/", 1)[1]
        with served(env, tmp_path / "server.log") as (_, url):
            staff = Session(url, "county")
            assert staff.request("GET", "/api/cases")[0] == 200
            with psycopg.connect(admin, autocommit=True) as db:
                cut = db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                ).fetchall()
            assert cut, "the server held no connection to cut"
            statuses = [staff.request("GET", path)[0] for path in ["/api/cases", "/", "/api/leads"] * 4]
        assert statuses == [200] * 12, statuses
