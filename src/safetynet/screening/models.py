"""Rule pack versions, screening runs and the warnings they raise.

Open warnings are the leads of data comparison (数据比对): each carries the household's village, so the
leads app assigns it by region; until that app lands, they wait here with status "open".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RulePack(models.Model):
    """One version of the rule pack, as validated YAML. A change never edits a version: it adds one."""

    version = models.PositiveIntegerField(unique=True)
    body = models.TextField()
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class Run(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    pack = models.ForeignKey(RulePack, on_delete=models.PROTECT, related_name="runs")
    engine = models.CharField(max_length=10)
    as_of = models.DateField()
    dry_run = models.BooleanField(default=False)  # a backtest: warnings kept for comparison, no leads
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    snapshot_id = models.PositiveIntegerField(null=True, blank=True)
    input_batches = models.JSONField(default=dict)  # source -> [batch ids]
    timings = models.JSONField(default=dict)  # step -> seconds
    counts = models.JSONField(default=dict)  # rule -> {"hits", "new", "suppressed"}
    households = models.PositiveIntegerField(default=0)  # households with a living member, screened
    notes = models.JSONField(default=list)  # what a reader must know: households without a standard ...
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)  # host:pid of the process running it
    # The background job that started it: a job retried after its worker died finds the run it finished.
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.engine}, {self.as_of})"

    @property
    def total_hits(self) -> int:
        return sum(c.get("hits", 0) for c in self.counts.values())

    @property
    def total_new(self) -> int:
        return sum(c.get("new", 0) for c in self.counts.values())

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 1)


class RiskWarning(models.Model):
    """One rule firing for one household in one run (预警)."""

    class Level(models.TextChoices):
        RED = "red", _("red")
        ORANGE = "orange", _("orange")
        YELLOW = "yellow", _("yellow")

    class Status(models.TextChoices):
        OPEN = "open", _("open")  # new: a lead for the household's village
        SUPPRESSED = "suppressed", _("suppressed")  # same evidence as an open or recently unfounded one
        SUPERSEDED = "superseded", _("superseded")  # a newer warning with changed evidence replaced it
        FOUNDED = "founded", _("founded")  # verified: the hardship was real
        UNFOUNDED = "unfounded", _("unfounded")  # verified: no hardship found
        DRY_RUN = "dry_run", _("dry run")  # from a backtest run

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="warnings")
    household_id = models.CharField(max_length=32, db_index=True)
    region_code = models.CharField(max_length=12)
    id_number = models.CharField(max_length=18)
    rule_id = models.CharField(max_length=40)
    level = models.CharField(max_length=6, choices=Level.choices)
    score = models.DecimalField(max_digits=8, decimal_places=2)
    explanation = models.TextField()
    values = models.JSONField(default=dict)  # feature -> value that fired the rule
    evidence = models.JSONField(default=list)  # [{"source", "batch", "key"}]
    fingerprint = models.CharField(max_length=64)  # of the evidence: a change warns again
    status = models.CharField(max_length=10, choices=Status.choices)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.CharField(max_length=150, blank=True)
    outcome_note = models.CharField(max_length=500, blank=True)
    # The case the warning's lead landed in (cases sit above screening: an id, not a foreign key).
    case_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["household_id", "rule_id", "status"]),
            models.Index(fields=["run", "rule_id"]),
            models.Index(fields=["status", "region_code"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.household_id} ({self.level})"
