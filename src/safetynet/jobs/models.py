"""A job is a piece of long work done by the worker, not inside a web request: its record, progress and
outcome, and the per-county schedules that start jobs by themselves."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")  # every attempt failed; `error` says why

    kind = models.CharField(max_length=40)  # a name in jobs.registry, e.g. "screening.run"
    params = models.JSONField(default=dict)  # never personal data: ids, dates, options
    # One live or finished job per key: a schedule's tick or a double-clicked button asks twice, one runs.
    key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    started_by = models.CharField(max_length=150, blank=True)  # a username, or "schedule"
    region_code = models.CharField(max_length=12, blank=True)  # whose job: the starter's region
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_note = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict)  # what the page links to when done: {"url": …, "summary": …}
    error = models.TextField(blank=True)  # each failed attempt, one line each
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # host:pid of the process running it and when it last said it was alive: a job whose process is gone
    # (kill -9, the OOM killer, a power cut) is put back in the queue by the next worker that looks.
    worker = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["kind", "-id"])]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, round(100 * self.progress_done / self.progress_total))

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Schedule(models.Model):
    """When a county wants a recurring job: its administrator sets the hour on /jobs/schedules/."""

    class Kind(models.TextChoices):
        SCREENING = "nightly_screening", _("nightly screening run")
        ESCALATION = "daily_escalation", _("daily escalation of overdue cases")
        FRESHNESS = "feed_freshness", _("feed freshness check")
        REPORTS = "monthly_reports", _("monthly statistics and brief")

    county_code = models.CharField(max_length=12)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    hour = models.PositiveSmallIntegerField(default=2)  # local time, 0-23
    minute = models.PositiveSmallIntegerField(default=0)
    last_run_on = models.DateField(null=True, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["county_code", "kind"], name="jobs_one_schedule_per_kind")]
        ordering = ["county_code", "kind"]

    def __str__(self) -> str:
        return f"{self.county_code} {self.kind} {self.hour:02d}:{self.minute:02d}"
