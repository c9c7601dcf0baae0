"""Background work: submit a job, run it once however often it is delivered, put back what a dead process
held, start what the schedules ask for.

Transport, worker processes and timers are django-q2's (its ORM broker keeps the queue in our own
database: nothing to install for the embedded default; a deployment can point it at Redis). What a bureau
needs on top is kept here, in `Job`:

- **exactly once**: `execute` claims a job with one conditional UPDATE (queued → running), so a second
  delivery of the same job does nothing; the handlers themselves are idempotent (each says how), so a
  job retried after its process died mid-way has its effect once;
- **a dead worker's job is retried at once**, not after the broker's hour-long lease: `recover` finds
  running jobs whose process is gone (this host) or whose heartbeat stopped (another host);
- **progress** a page can show, and **a clear record** of each failed attempt.

Apps above this one register what they can run (`register`) in their `AppConfig.ready()`; this app never
imports them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from safetynet.access.masking import mask_in_text
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, record
from safetynet.jobs.models import Job, Schedule
from safetynet.processes import beating, process_alive

log = logging.getLogger("safetynet.jobs")

HEARTBEAT_SECONDS = 15
STALE_AFTER = dt.timedelta(minutes=10)  # a job on another host that said nothing for this long is dead
RETRY_DELAYS = (30, 120, 600)  # seconds before the 2nd, 3rd, 4th attempt after a failure
TICK = "safetynet-jobs-tick"  # the django-q2 schedule that runs `tick` every minute


@dataclass(frozen=True)
class Kind:
    name: str
    title: str  # what a page calls it, in Chinese
    run: Callable[[Work], dict[str, Any] | None]
    cap: Cap  # who may do this work may watch its jobs (besides the administrators, who see every job)


KINDS: dict[str, Kind] = {}


def register(name: str, title: str, run: Callable[[Work], dict[str, Any] | None], cap: Cap = Cap.READ_JOBS) -> None:
    KINDS[name] = Kind(name, title, run, cap)


class Refused(Exception):  # noqa: N818 - a verdict, not a malfunction
    """The job cannot be done as asked (no registry yet, a pack version gone): recorded, not retried."""


class Work:
    """What a handler gets: the job's parameters, and a way to report progress."""

    def __init__(self, job: Job):
        self.job = job
        self.params: dict[str, Any] = job.params
        self.attempt = job.attempts
        self._said_at = 0.0

    def progress(self, done: int, total: int, note: str = "") -> None:
        """Shown as a bar on the job's page. Written at most twice a second, and never from inside a
        transaction (the page could not see it before the commit anyway)."""
        now = time.monotonic()
        if now - self._said_at < 0.5 and done < total:
            return
        if connection.in_atomic_block:
            return
        self._said_at = now
        Job.objects.filter(pk=self.job.pk).update(
            progress_done=max(0, done), progress_total=max(0, total), progress_note=note[:200]
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------------------------------------
# Submitting


def submit(
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    started_by: str = "",
    region_code: str = "",
    key: str | None = None,
    max_attempts: int = 3,
) -> Job:
    """Queue a job (or, with SAFETYNET_JOBS_INLINE, run it now). With a `key`, asking again for the same
    key returns the job already asked for instead of a second one."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind}")
    if actor is not None:
        started_by = actor.user.get_username()
        region_code = actor.user.region_id or ""
    if key is not None:
        existing = Job.objects.filter(key=key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                params=params or {},
                key=key,
                started_by=started_by[:150],
                region_code=region_code,
                max_attempts=max_attempts,
            )
            if not settings.SAFETYNET_JOBS_INLINE:
                if "orm" in settings.Q_CLUSTER:
                    _enqueue(job.pk)  # the queue's row commits with the job's, or neither does
                else:
                    # Redis is outside the transaction: a worker told before the commit would find no job.
                    transaction.on_commit(lambda: _enqueue(job.pk))
    except IntegrityError:
        return Job.objects.get(key=key)  # another process asked for the same key a moment ago
    if actor is not None:
        record(actor, "submit", "job", str(job.pk), detail=kind)
    if settings.SAFETYNET_JOBS_INLINE:
        # Tests and one-off commands: the same path as the worker, in this process, now.
        while not execute(job.pk):
            pass
        job.refresh_from_db()
    return job


def _enqueue(job_id: int, delay: int = 0) -> None:
    from django_q.models import Schedule as QSchedule
    from django_q.tasks import async_task, schedule

    func = "safetynet.jobs.services.execute"
    if delay:
        schedule(
            func,
            job_id,
            name=f"job-{job_id}-retry-{time.time_ns()}",
            schedule_type=QSchedule.ONCE,
            repeats=1,
            next_run=timezone.now() + dt.timedelta(seconds=delay),
        )
    else:
        async_task(func, job_id, task_name=f"job-{job_id}-{time.time_ns()}")


# ---------------------------------------------------------------------------------------------
# Running


def execute(job_id: int) -> bool:
    """Run a queued job once. Returns whether it needs no further attempt in this process (done,
    failed for good, claimed by someone else, or queued for a later retry by the worker)."""
    now = timezone.now()
    me = worker_id()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, worker=me, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return True  # already done, failed for good, or running elsewhere: a repeat delivery
    job = Job.objects.get(pk=job_id)
    kind = KINDS.get(job.kind)
    started = time.perf_counter()
    try:
        if kind is None:
            raise LookupError(f"no handler for job kind {job.kind}")
        with _heartbeat(job.pk, me):
            result = kind.run(Work(job)) or {}
    except Exception as error:  # noqa: BLE001 - every failure is recorded; the job is retried or failed
        return _failed(job, error, time.perf_counter() - started)
    Job.objects.filter(pk=job.pk, worker=me).update(
        status=Job.Status.DONE, result=result, finished_at=timezone.now(), progress_note=""
    )
    _log(job, "done", time.perf_counter() - started)
    return True


def _failed(job: Job, error: Exception, seconds: float) -> bool:
    line = mask_in_text(f"第 {job.attempts} 次（{timezone.localtime():%Y-%m-%d %H:%M}）：{type(error).__name__}: {error}")
    again = job.attempts < job.max_attempts and not isinstance(error, Refused)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.QUEUED if again else Job.Status.FAILED,
        error=(job.error + line[:1000] + "\n")[-8000:],
        finished_at=None if again else timezone.now(),
        worker="",
    )
    log.warning("job %s %s failed: %s", job.pk, job.kind, line, exc_info=error)
    _log(job, "retry" if again else "failed", seconds)
    if again and not settings.SAFETYNET_JOBS_INLINE:
        _enqueue(job.pk, delay=RETRY_DELAYS[min(job.attempts, len(RETRY_DELAYS)) - 1])
        return True
    return not again


def _log(job: Job, outcome: str, seconds: float) -> None:
    log.info(
        "job %s %s %s",
        job.pk,
        job.kind,
        outcome,
        extra={"command": f"job:{job.kind}", "outcome": outcome, "ms": round(seconds * 1000, 1), "user": job.started_by},
    )


def _heartbeat(job_id: int, me: str) -> AbstractContextManager[None]:
    """Tell the database every few seconds that this job's process is alive (for workers on other
    hosts, which cannot see this process)."""
    return beating(
        HEARTBEAT_SECONDS,
        lambda: Job.objects.filter(pk=job_id, worker=me).update(heartbeat_at=timezone.now()),
        f"job-{job_id}-heartbeat",
    )


def recover() -> list[int]:
    """Running jobs whose process is gone go back to the queue (or fail, after their last attempt)."""
    recovered = []
    cutoff = timezone.now() - STALE_AFTER
    for job in Job.objects.filter(status=Job.Status.RUNNING):
        host, _, pid = job.worker.partition(":")
        gone = not process_alive(host, pid) or (job.heartbeat_at is not None and job.heartbeat_at < cutoff)
        if not gone:
            continue
        again = job.attempts < job.max_attempts
        line = f"第 {job.attempts} 次（{timezone.localtime():%Y-%m-%d %H:%M}）：运行中断（进程 {job.worker} 已退出）\n"
        if Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, worker=job.worker).update(
            status=Job.Status.QUEUED if again else Job.Status.FAILED,
            error=(job.error + line)[-8000:],
            finished_at=None if again else timezone.now(),
            worker="",
        ):
            recovered.append(job.pk)
            if again:
                _enqueue(job.pk)
    if recovered:
        log.warning("jobs put back after their process died: %s", recovered)
    return recovered


# ---------------------------------------------------------------------------------------------
# Schedules

DEFAULT_TIMES = {
    Schedule.Kind.SCREENING: (2, 0),
    Schedule.Kind.ESCALATION: (6, 0),
    Schedule.Kind.FRESHNESS: (7, 0),
    Schedule.Kind.REPORTS: (8, 0),
}
# What each schedule starts. Every one of them covers the whole installation (one run screens every
# county), so of several counties' schedules of one kind, the earliest of the day starts it, once.
SCHEDULED_JOBS = {
    Schedule.Kind.SCREENING: "screening.run",
    Schedule.Kind.ESCALATION: "cases.escalate",
    Schedule.Kind.FRESHNESS: "lake.freshness",
    Schedule.Kind.REPORTS: "reports.monthly",
}


def ensure_schedules(county_codes: list[str]) -> None:
    for code in county_codes:
        for kind, (hour, minute) in DEFAULT_TIMES.items():
            Schedule.objects.get_or_create(county_code=code, kind=kind, defaults={"hour": hour, "minute": minute})


def tick(now: dt.datetime | None = None) -> list[Job]:
    """Every minute (django-q2's scheduler): put back dead workers' jobs, start the schedules due today."""
    recover()
    from safetynet.regions.models import Region

    ensure_schedules(list(Region.objects.filter(level="county").values_list("code", flat=True)))
    local = timezone.localtime(now)
    today = local.date()
    started = []
    for kind, job_kind in SCHEDULED_JOBS.items():
        due = Schedule.objects.filter(kind=kind, enabled=True).filter(
            Q(last_run_on__isnull=True) | Q(last_run_on__lt=today)
        )
        due_ids = [s.pk for s in due if _due(s, local)]
        if not due_ids or job_kind not in KINDS:
            continue
        started.append(
            submit(job_kind, {"as_of": today.isoformat()}, started_by="schedule", key=f"{kind}:{today}")
        )
        Schedule.objects.filter(pk__in=due_ids).update(last_run_on=today)
    return started


CATCH_UP = dt.timedelta(hours=4)


def _due(schedule: Schedule, now: dt.datetime) -> bool:
    """Its time today has come, and not long ago: a worker down at 02:00 still starts the night's run when
    it is back by 06:00, but one started in the afternoon waits for the next night instead of loading the
    database in working hours."""
    at = now.replace(hour=schedule.hour, minute=schedule.minute, second=0, microsecond=0)
    return at <= now < at + CATCH_UP


def install_tick() -> None:
    """The one django-q2 schedule this app needs: `tick` every minute."""
    from django_q.models import Schedule as QSchedule

    QSchedule.objects.update_or_create(
        name=TICK,
        defaults={
            "func": "safetynet.jobs.services.tick",
            "schedule_type": QSchedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def _county_of(actor: Actor) -> str:
    """The 12-digit code of the county the actor's region lies in: schedules are kept per county."""
    return (actor.user.region_id or "")[:6].ljust(12, "0")


def schedules(actor: Actor) -> list[Schedule]:
    require(actor, Cap.MANAGE_SCHEDULES)
    county = _county_of(actor)
    ensure_schedules([county])
    return list(Schedule.objects.filter(county_code=county))


def set_schedule(actor: Actor, kind: str, enabled: bool, hour: int, minute: int) -> Schedule:
    require(actor, Cap.MANAGE_SCHEDULES)
    if kind not in Schedule.Kind.values or not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError("时间应为 00:00 至 23:59")
    county = _county_of(actor)
    ensure_schedules([county])
    schedule = Schedule.objects.get(county_code=county, kind=kind)
    schedule.enabled, schedule.hour, schedule.minute = enabled, hour, minute
    schedule.updated_by = actor.user.get_username()
    schedule.save()
    record(actor, "update", "schedule", f"{county}:{kind}", detail=f"enabled={enabled} {hour:02d}:{minute:02d}")
    return schedule


# ---------------------------------------------------------------------------------------------
# Reading


def visible(actor: Actor) -> Q:
    """An administrator sees every job of the county (the schedules' included); anyone else the jobs of
    their county they may do themselves (a second click on "start a run" shows the run already going)."""
    caps = actor.user.caps
    county = Q(region_code__startswith=(actor.user.region_id or "")[:6]) | Q(region_code="")
    if Cap.READ_JOBS in caps:
        return county
    return county & Q(kind__in=[k.name for k in KINDS.values() if k.cap in caps])


def get(actor: Actor, job_id: int) -> Job | None:
    return Job.objects.filter(visible(actor), pk=job_id).first()


def recent(actor: Actor, limit: int = 200) -> list[Job]:
    require(actor, Cap.READ_JOBS)
    return list(Job.objects.filter(visible(actor))[:limit])


def title(job: Job) -> str:
    kind = KINDS.get(job.kind)
    return kind.title if kind else job.kind
