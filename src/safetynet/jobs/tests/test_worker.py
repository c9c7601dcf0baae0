"""The worker as a bureau runs it (`safetynet worker`, its own processes and database): a screening run
started as a job, the worker killed with -9 in the middle, a new worker started. The job is retried and its
effect happens once: one finished run, each of its warnings one lead, on SQLite and on PostgreSQL.

(A push killed mid-landing is tested with the whole service in safetynet/tests/test_faults.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from safetynet.tests.test_faults import SAFETYNET, database, django, env_for, prepare, rows  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.processes]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own entry point
            [SAFETYNET, "worker"], env=env, stdout=out, stderr=out, start_new_session=True
        )


def wait_for(env: dict[str, str], sql: str, seconds: float, log: Path) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + seconds
    while True:
        found = rows(env, sql)
        if found:
            return found
        assert time.monotonic() < deadline, f"waited for {sql}\n{log.read_text(errors='replace')[-3000:]}"
        time.sleep(0.05)


def test_a_worker_killed_mid_run_is_retried_and_the_run_happens_once(tmp_path: Path, database: str) -> None:  # noqa: F811
    data = tmp_path / "data"
    env = env_for(data, database)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    prepare(data, env, households=7_000)
    job_id = django(
        env,
        """
from safetynet.jobs import services
from safetynet.jobs.models import Schedule
services.ensure_schedules(["371427000000"])
Schedule.objects.update(enabled=False)  # whatever the hour the test runs at, only this job runs
print(services.submit("screening.run", {}, started_by="test").pk)
""",
    ).strip()
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        wait_for(env, "SELECT id FROM screening_run WHERE status = 'running'", 180, log)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and every process it started
        worker.wait()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert rows(env, f"SELECT status, attempts FROM jobs_job WHERE id = {job_id}") == [("running", 1)]

    worker = start_worker(env, log)
    try:
        wait_for(env, f"SELECT id FROM jobs_job WHERE id = {job_id} AND status = 'done'", 300, log)
    finally:
        # SIGTERM to the whole group, as systemd stops a service: every process ends by itself (the queue
        # library's own handler used to deadlock on its sentinel dying of the same signal)
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert worker.returncode == 0

    (attempts, error, result), = rows(env, f"SELECT attempts, error, result FROM jobs_job WHERE id = {job_id}")
    assert attempts == 2 and "运行中断" in error, (attempts, error)
    runs = rows(env, "SELECT id, status, job_id FROM screening_run ORDER BY id")
    assert [(s, j) for _, s, j in runs] == [("failed", int(job_id)), ("done", int(job_id))], runs
    done = runs[1][0]
    assert f"/screening/runs/{done}/" in str(result)
    warnings = rows(env, f"SELECT COUNT(*) FROM screening_riskwarning WHERE run_id = {done} AND status = 'open'")[0][0]
    leads = rows(env, "SELECT source_ref, COUNT(*) FROM leads_lead WHERE channel = 'warning' GROUP BY source_ref")
    assert warnings > 100 and len(leads) == warnings and all(n == 1 for _, n in leads)
    logged = [json.loads(line) for line in (data / "logs" / "safetynet.log").read_text(encoding="utf-8").splitlines()]
    jobs_logged = [(line["command"], line["outcome"]) for line in logged if line.get("command", "").startswith("job:")]
    assert jobs_logged == [("job:screening.run", "done")]  # the killed attempt left no line; the retry one
    assert ("worker", "ok") in [(line.get("command"), line.get("outcome")) for line in logged]  # stopped cleanly


def test_the_queue_on_redis_runs_a_job_once(tmp_path: Path) -> None:
    """SAFETYNET_JOBS_REDIS: the queue in Redis (the job's record stays in the database), a real worker."""
    import redis

    url = "redis://127.0.0.1:6379/7"
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    data = tmp_path / "data"
    env = {**env_for(data), "SAFETYNET_JOBS_REDIS": url}
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    job_id = django(
        env,
        """
from safetynet.jobs import services
print(services.submit("cases.escalate", {}, started_by="test").pk)
""",
    ).strip()
    # queued in Redis, not in the database's queue table
    assert redis.Redis.from_url(url).dbsize() >= 1 and rows(env, "SELECT COUNT(*) FROM django_q_ormq") == [(0,)]
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        (status, attempts), = wait_for(
            env, f"SELECT status, attempts FROM jobs_job WHERE id = {job_id} AND status = 'done'", 120, log
        )
        assert attempts == 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
