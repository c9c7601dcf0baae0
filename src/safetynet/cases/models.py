"""One case per household episode: where every lead about the household lands, from intake to help.

This first version holds the case and its state; the workflow steps (verification visit, policy
explanation, assisted application, temporary assistance, referrals, follow-up) build on it.
"""

from __future__ import annotations

from django.db import models


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "待核实"
        CLOSED = "closed", "已结案"

    household_id = models.CharField(max_length=32, db_index=True)
    region_code = models.CharField(max_length=12, db_index=True)  # the household's village
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    urgent = models.BooleanField(default=False)  # a red warning or an urgent report
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic lock for the workflow's transitions

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one open case per household: a second lead joins it instead of opening another.
            models.UniqueConstraint(
                fields=["household_id"],
                condition=models.Q(status="open"),
                name="cases_one_open_per_household",
            )
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.household_id}, {self.status})"
