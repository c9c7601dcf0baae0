"""Jobs in one process: the claim that makes a repeat delivery a no-op, retries with a record of each
attempt, recovery of a dead process's job, schedules, who sees which job, and the pages and API."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
from django.test import Client
from django.utils import timezone

from safetynet.access.models import AuditEntry
from safetynet.access.permissions import Cap
from safetynet.jobs import services
from safetynet.jobs.models import Job, Schedule

pytestmark = pytest.mark.django_db
COUNTY = "371522000000"


@pytest.fixture
def kinds():  # type: ignore[no-untyped-def]
    """Test job kinds: `t.ok` records each run; `t.flaky` fails on its first attempt; `t.broken` always
    fails; `t.refused` refuses (not retried)."""
    calls: list[int] = []

    def ok(work: services.Work) -> dict[str, object]:
        calls.append(work.attempt)
        work.progress(1, 2, "一半")
        return {"url": "/screening/", "summary": "好了"}

    def flaky(work: services.Work) -> None:
        calls.append(work.attempt)
        if work.attempt == 1:
            raise OSError("数据库忙 13812345678")

    def broken(work: services.Work) -> None:
        calls.append(work.attempt)
        raise RuntimeError("坏了")

    def refused(work: services.Work) -> None:
        calls.append(work.attempt)
        raise services.Refused("登记库中还没有家庭")

    for name, run in (("t.ok", ok), ("t.flaky", flaky), ("t.broken", broken), ("t.refused", refused)):
        services.register(name, name, run, Cap.RUN_SCREENING)
    yield calls
    for name in ("t.ok", "t.flaky", "t.broken", "t.refused"):
        services.KINDS.pop(name)


def test_a_job_runs_once_and_a_second_delivery_does_nothing(kinds) -> None:  # type: ignore[no-untyped-def]
    job = services.submit("t.ok", {"n": 1}, started_by="tester")
    assert job.status == "done" and job.attempts == 1 and job.result["summary"] == "好了" and job.percent == 100
    assert services.execute(job.pk) is True and kinds == [1]  # delivered again: already done
    again = services.submit("t.ok", key="daily:2026-12-01")
    assert services.submit("t.ok", key="daily:2026-12-01").pk == again.pk and kinds == [1, 1]


def test_a_failed_attempt_is_recorded_masked_and_retried(kinds) -> None:  # type: ignore[no-untyped-def]
    job = services.submit("t.flaky")
    assert job.status == "done" and job.attempts == 2 and kinds == [1, 2]
    assert "第 1 次" in job.error and "OSError" in job.error
    assert "13812345678" not in job.error and "138****5678" in job.error  # a phone in an error is masked


def test_every_attempt_failing_fails_the_job_and_a_refusal_is_not_retried(kinds) -> None:  # type: ignore[no-untyped-def]
    broken = services.submit("t.broken", max_attempts=3)
    assert broken.status == "failed" and broken.attempts == 3 and broken.error.count("RuntimeError") == 3
    kinds.clear()
    refused = services.submit("t.refused")
    assert refused.status == "failed" and refused.attempts == 1 and kinds == [1]
    assert "登记库中还没有家庭" in refused.error


def test_on_the_worker_a_job_waits_in_the_queue_and_its_retry_is_scheduled(kinds, settings) -> None:  # type: ignore[no-untyped-def]
    from django_q.models import OrmQ
    from django_q.models import Schedule as QSchedule

    settings.SAFETYNET_JOBS_INLINE = False
    job = services.submit("t.flaky")
    assert job.status == "queued" and kinds == [] and OrmQ.objects.count() == 1
    assert services.execute(job.pk) is True  # first attempt fails: queued again, retried in 30 s
    job.refresh_from_db()
    assert job.status == "queued" and job.attempts == 1
    retry = QSchedule.objects.get(func="safetynet.jobs.services.execute")
    assert retry.schedule_type == QSchedule.ONCE and retry.next_run > timezone.now() + dt.timedelta(seconds=20)
    services.execute(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2


def test_a_job_whose_process_died_goes_back_to_the_queue(kinds, settings) -> None:  # type: ignore[no-untyped-def]
    from django_q.models import OrmQ

    settings.SAFETYNET_JOBS_INLINE = False
    here = socket.gethostname()
    dead = Job.objects.create(kind="t.ok", status="running", attempts=1, worker=f"{here}:999999999")
    last = Job.objects.create(kind="t.ok", status="running", attempts=3, max_attempts=3, worker=f"{here}:999999999")
    silent = Job.objects.create(
        kind="t.ok", status="running", attempts=1, worker="other-host:1",
        heartbeat_at=timezone.now() - dt.timedelta(minutes=30),
    )  # fmt: skip
    alive = Job.objects.create(
        kind="t.ok", status="running", attempts=1, worker="other-host:2", heartbeat_at=timezone.now()
    )
    assert sorted(services.recover()) == sorted([dead.pk, last.pk, silent.pk])
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {dead.pk: "queued", last.pk: "failed", silent.pk: "queued", alive.pk: "running"}
    assert OrmQ.objects.count() == 2 and "运行中断" in Job.objects.get(pk=dead.pk).error
    assert services.recover() == []


def test_schedules_start_once_a_day_after_their_time(county, kinds, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    started: list[str] = []
    for kind in services.SCHEDULED_JOBS.values():
        monkeypatch.setitem(services.KINDS, kind, services.Kind(kind, kind, lambda w: started.append(w.job.kind), Cap.READ_JOBS))
    early = timezone.make_aware(dt.datetime(2026, 12, 1, 1, 30))
    assert services.tick(early) == [] and Schedule.objects.filter(county_code=COUNTY).count() == 4
    Schedule.objects.filter(kind=Schedule.Kind.REPORTS).update(enabled=False)
    at_seven = timezone.make_aware(dt.datetime(2026, 12, 1, 7, 0))
    jobs = services.tick(at_seven)  # the 02:00 run is missed: the worker came up five hours late
    assert sorted(j.kind for j in jobs) == ["cases.escalate", "lake.freshness"]
    assert all(j.started_by == "schedule" and j.key.endswith(":2026-12-01") for j in jobs)
    assert services.tick(at_seven + dt.timedelta(hours=3)) == []  # once a day
    night = timezone.make_aware(dt.datetime(2026, 12, 2, 2, 30))
    assert [j.kind for j in services.tick(night)] == ["screening.run"]
    assert len(services.tick(night + dt.timedelta(hours=4, minutes=30))) == 2 and len(started) == 5


def login(make_user, role: str, region: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user(f"{role}-{region}", role, region))
    return client


def test_who_sees_which_job_and_the_pages(county, kinds, make_user) -> None:  # type: ignore[no-untyped-def]
    staff_user = make_user("county-staff", "county", COUNTY)
    staff = Client()
    staff.force_login(staff_user)
    job = services.submit("t.ok", started_by=staff_user.username, region_code=COUNTY)
    page = staff.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200 and "好了" in page.content.decode()
    assert staff.get(f"/jobs/{job.pk}/?then=result")["Location"] == "/screening/"
    assert staff.get(f"/jobs/{job.pk}/status/").json()["percent"] == 100
    assert staff.get("/jobs/").status_code == 403 and staff.get("/jobs/schedules/").status_code == 403
    other_kind = services.submit("t.ok", started_by="x", region_code=COUNTY)
    Job.objects.filter(pk=other_kind.pk).update(kind="cases.escalate")  # an administrator's job
    assert staff.get(f"/jobs/{other_kind.pk}/").status_code == 404
    assert staff.get(f"/api/jobs/{other_kind.pk}").status_code == 404
    assert staff.get(f"/api/jobs/{job.pk}").json()["status"] == "done"
    coordinator = login(make_user, "coordinator", "371522100201")
    assert coordinator.get(f"/jobs/{job.pk}/").status_code == 404  # may not run screening: not theirs to see
    assert coordinator.get(f"/jobs/{job.pk}/status/").status_code == 404
    admin = login(make_user, "county_admin", COUNTY)
    listing = admin.get("/jobs/").content.decode()
    assert f"/jobs/{job.pk}/" in listing and f"/jobs/{other_kind.pk}/" in listing
    # a result that is not a path of this site is never followed
    Job.objects.filter(pk=job.pk).update(result={"url": "//evil.example/x"})
    assert admin.get(f"/jobs/{job.pk}/?then=result").status_code == 200


def test_the_county_administrator_sets_the_schedules(county, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = login(make_user, "county_admin", COUNTY)
    page = admin.get("/jobs/schedules/").content.decode()
    assert "nightly_screening" in page and "02:00" in page
    saved = admin.post("/jobs/schedules/save/", {"kind": "nightly_screening", "enabled": "on", "time": "23:30"})
    assert saved.status_code == 302
    schedule = Schedule.objects.get(county_code=COUNTY, kind="nightly_screening")
    assert (schedule.hour, schedule.minute, schedule.enabled) == (23, 30, True)
    assert AuditEntry.objects.filter(action="update", object_type="schedule").exists()
    admin.post("/jobs/schedules/save/", {"kind": "daily_escalation", "time": "06:15"})  # box unticked
    assert not Schedule.objects.get(county_code=COUNTY, kind="daily_escalation").enabled
    for bad in ("25:00", "7", "'; DROP TABLE jobs_job; --", "０７:００", "9" * 5000):
        response = admin.post("/jobs/schedules/save/", {"kind": "monthly_reports", "time": bad}, follow=True)
        assert "23:59" in response.content.decode()  # the reason, and nothing saved
    assert Schedule.objects.get(county_code=COUNTY, kind="monthly_reports").hour == 8
    assert admin.post("/jobs/schedules/save/", {"kind": "nonsense", "time": "01:00"}, follow=True).status_code == 200
    staff = login(make_user, "county", COUNTY)
    assert staff.post("/jobs/schedules/save/", {"kind": "nightly_screening", "time": "01:00"}).status_code == 403
    assert Schedule.objects.get(county_code=COUNTY, kind="nightly_screening").hour == 23


def test_a_run_started_over_the_api_on_a_worker_is_202_with_its_job(county, make_user, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_JOBS_INLINE = False
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    staff = login(make_user, "county", COUNTY)
    started = staff.post("/api/screening/runs", json.dumps({}), content_type="application/json")
    assert started.status_code == 202, started.content
    body = started.json()
    assert body["status"] == "queued" and body["kind"] == "screening.run"
    again = staff.post("/api/screening/runs", json.dumps({}), content_type="application/json")
    assert again.json()["job_id"] == body["job_id"]  # one run at a time
    page = staff.post("/screening/start/")
    assert page["Location"] == f"/jobs/{body['job_id']}/?then=result"
    assert staff.get(page["Location"]).status_code == 200  # the progress page, while it waits
    services.execute(body["job_id"])
    done = staff.get(f"/api/jobs/{body['job_id']}").json()
    assert done["status"] == "done" and done["result"]["url"].startswith("/screening/runs/")
    assert staff.get(page["Location"])["Location"] == done["result"]["url"]
