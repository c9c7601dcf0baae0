"""What the leaders' analysis is read from: counts kept up to date by the workflow's own events.

Each case contributes a set of counts (`facts.contributions`: opened in March through the hotline, verified
in April after 3 working days, approved for dibao in May …). `CaseFigures` keeps the set a case contributes
now; when one of its events arrives, the set is derived again and only the difference is added to `Tally`,
once for the village and once for each region above it. So a dashboard reads a few hundred rows of its own
region, never the raw case tables, and replaying an event changes nothing.
"""

from __future__ import annotations

from django.db import models


class CaseFigures(models.Model):
    """The counts one case contributes to the tallies now: [[village, month, measure, key], …]."""

    case_id = models.PositiveIntegerField(primary_key=True)
    contributions = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"figures of case {self.case_id}"


class PendingCase(models.Model):
    """A case whose leads changed in bulk (a screening run's warnings becoming leads): counted again by
    `tallies.catch_up`, after the run and before any figures are read, rather than one lead at a time."""

    case_id = models.PositiveIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"case {self.case_id} to count again"


class Tally(models.Model):
    """How many cases (households) in a region and month count under a measure and key.

    `region_code` is a region of any level (its 12-digit code): a village's count is added to its
    township, county, city and province rows too. `month` is the first day of the month the count
    belongs to; `key` refines the measure (a channel, a rule and level, a number of working days …)."""

    region_code = models.CharField(max_length=12)
    month = models.DateField()
    measure = models.CharField(max_length=24)
    key = models.CharField(max_length=64)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region_code", "month", "measure", "key"], name="reports_one_tally"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.month:%Y-%m} {self.measure}/{self.key}: {self.n}"


class Report(models.Model):
    """A monthly statistics workbook and analysis brief, produced once for a region and month."""

    region_code = models.CharField(max_length=12)
    month = models.DateField()
    workbook = models.CharField(max_length=200)  # relative to the data folder
    brief = models.CharField(max_length=200)
    produced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "region_code"]
        constraints = [models.UniqueConstraint(fields=["region_code", "month"], name="reports_one_per_month")]

    def __str__(self) -> str:
        return f"report {self.region_code} {self.month:%Y-%m}"
