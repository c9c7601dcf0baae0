"""API routes of screening: runs and warnings (thin; services do the work). A warning's verdict comes
from its case's verification visit, not from a route of its own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status  # Status: django-ninja >= 1.6
from ninja.errors import HttpError

from safetynet.access.services import Actor
from safetynet.apierrors import Id, answers
from safetynet.jobs.api import JobOut, job_out, prefer_wait, waited
from safetynet.jobs.models import Job
from safetynet.screening import services
from safetynet.screening.models import RiskWarning, Run

router = Router(tags=["screening"])


class RunOut(Schema):
    run_id: int
    pack_version: int
    engine: str
    as_of: dt.date
    dry_run: bool
    status: str
    households: int
    counts: dict[str, dict[str, int]]
    timings: dict[str, float]
    input_batches: dict[str, list[int]]
    snapshot_id: int | None
    notes: list[str]
    seconds: float | None


class WarningOut(Schema):
    warning_id: int
    run_id: int
    household_id: str
    region_code: str
    id_number: str
    rule_id: str
    level: str
    score: Decimal
    explanation: str
    values: dict[str, Any]
    evidence: list[dict[str, Any]]
    status: str
    case_id: int | None  # the case its lead landed in


class StartIn(Schema):
    as_of: dt.date | None = None
    engine: Literal["duckdb", "spark"] | None = None


class WarningQuery(Schema):
    run: Id | None = None
    rule: str = ""
    level: Literal["", "red", "orange", "yellow"] = ""
    status: str = "open"
    region: str = ""
    limit: int = 200


def _run(run: Run) -> RunOut:
    return RunOut(
        run_id=run.pk,
        pack_version=run.pack.version,
        engine=run.engine,
        as_of=run.as_of,
        dry_run=run.dry_run,
        status=run.status,
        households=run.households,
        counts=run.counts,
        timings=run.timings,
        input_batches=run.input_batches,
        snapshot_id=run.snapshot_id,
        notes=run.notes,
        seconds=run.seconds,
    )


def _warning(w: RiskWarning) -> WarningOut:
    return WarningOut(
        warning_id=w.pk,
        run_id=w.run_id,
        household_id=w.household_id,
        region_code=w.region_code,
        id_number=w.id_number,
        rule_id=w.rule_id,
        level=w.level,
        score=w.score,
        explanation=w.explanation,
        values=w.values,
        evidence=w.evidence,
        status=w.status,
        case_id=w.case_id,
    )


@router.get("/runs", response=answers(list[RunOut], 403))
def list_runs(request: HttpRequest) -> list[RunOut]:
    try:
        return [_run(r) for r in services.runs(Actor.from_request(request, "api screening runs"))]
    except PermissionDenied:
        raise HttpError(403, "this role may not read screening runs") from None


@router.post("/runs", response=answers({201: RunOut, 202: JobOut}, 400, 403, 409, 422))
def start_run(request: HttpRequest, body: StartIn) -> Status[RunOut] | Status[JobOut]:
    """Start a live run on the worker: 202 with the job at once (follow it at `GET /api/jobs/{job_id}`);
    with `Prefer: wait=N` (at most 600 seconds), 201 with the run when it finishes in time. One run at a
    time: asked again while one is going, the answer is that run's job."""
    actor = Actor.from_request(request, "api screening run")
    try:
        job = services.start_run(actor, as_of=body.as_of, engine=body.engine)
    except PermissionDenied:
        raise HttpError(403, "this role may not run data comparison") from None
    except services.ScreeningError as error:
        raise HttpError(409, str(error)) from None
    job = waited(job, prefer_wait(request))
    run = Run.objects.filter(job_id=job.pk, dry_run=False, status=Run.Status.DONE).first()
    if job.status == Job.Status.DONE and run is not None:
        return Status(201, _run(run))
    if job.status == Job.Status.FAILED:
        raise HttpError(409, job.error.strip().rsplit("\n", 1)[-1] or "比对失败")
    return Status(202, job_out(job))


@router.get("/runs/{run_id}", response=answers(RunOut, 403, 404, 422))
def get_run(request: HttpRequest, run_id: Id) -> RunOut:
    try:
        run = services.get_run(Actor.from_request(request, "api screening run"), run_id)
    except PermissionDenied:
        raise HttpError(403, "this role may not read screening runs") from None
    if run is None:
        raise HttpError(404, "no such run")
    return _run(run)


@router.get("/warnings", response=answers(list[WarningOut], 403, 422))
def list_warnings(request: HttpRequest, query: Query[WarningQuery]) -> list[WarningOut]:
    filters = services.WarningFilters(
        run_id=query.run,
        rule_id=query.rule[:40],
        level=query.level,
        status=query.status,
        region=query.region[:12],
    )
    try:
        found = services.warnings(
            Actor.from_request(request, "api warnings"), filters, limit=min(max(query.limit, 1), 1000)
        )
    except PermissionDenied:
        raise HttpError(403, "this role may not read warnings") from None
    return [_warning(w) for w in found]


@router.get("/warnings/{warning_id}", response=answers(WarningOut, 403, 404, 422))
def get_warning(request: HttpRequest, warning_id: Id) -> WarningOut:
    try:
        found = services.get_warning(Actor.from_request(request, "api warning"), warning_id)
    except PermissionDenied:
        raise HttpError(403, "this role may not read warnings") from None
    if found is None:
        raise HttpError(404, "no such warning in your region")
    return _warning(found)
