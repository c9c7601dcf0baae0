"""Jobs over the API: what a client that started work (a screening run) reads back while it waits, and
the `Prefer: wait=N` convention of every route that starts one."""

from __future__ import annotations

import datetime as dt
import time

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.jobs import services
from safetynet.jobs.models import Job

router = Router(tags=["jobs"])
MAX_WAIT = 600  # seconds a caller may ask to wait for its work to finish


class JobOut(Schema):
    job_id: int
    kind: str
    status: str  # queued, running, done, failed
    percent: int
    note: str
    attempts: int
    result: dict  # type: ignore[type-arg]  # {"url": the page of what it made, "summary": …}
    error: str  # one line per failed attempt
    created_at: dt.datetime
    finished_at: dt.datetime | None


def job_out(job: Job) -> JobOut:
    return JobOut(
        job_id=job.pk,
        kind=job.kind,
        status=job.status,
        percent=job.percent,
        note=job.progress_note,
        attempts=job.attempts,
        result=job.result if isinstance(job.result, dict) else {},
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def prefer_wait(request: HttpRequest) -> float:
    """RFC 7240 `Prefer: wait=N`: the caller would rather wait up to N seconds for the final answer than
    be told 202 at once. Anything else in the header is ignored."""
    for part in request.headers.get("Prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "wait" and value.strip().isdigit() and len(value.strip()) < 6:
            return min(float(value.strip()), MAX_WAIT)
    return 0.0


def waited(job: Job, seconds: float) -> Job:
    deadline = time.monotonic() + seconds
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    return job


@router.get("/{job_id}", response=answers(JobOut, 404, 422))
def get_job(request: HttpRequest, job_id: Id) -> JobOut:
    """A job you may see (one you may do yourself; an administrator, every job of the county)."""
    found = services.get(Actor.from_request(request, "api job"), job_id)
    if found is None:
        raise HttpError(404, "没有这一任务，或无权查看")
    return job_out(found)
