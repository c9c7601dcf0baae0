"""Leads (线索) from every channel of the Ministry's notice, each matched to a household or kept as unidentified."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    WARNING = "warning", "数据比对预警"
    VISIT = "visit", "村（社区）走访"
    PATROL = "patrol", "乡镇（街道）排查"
    HOTLINE = "hotline", "热线来电"
    SOCIAL_ORG = "social_org", "社会组织报告"
    REFERRAL = "referral", "部门转介"
    SELF_REPORT = "self_report", "本人或家属求助"


class Lead(models.Model):
    class Status(models.TextChoices):
        # What a social organisation may see of its lead: these words and nothing of the registry.
        RECEIVED = "received", "已受理"
        VERIFYING = "verifying", "核实中"
        HELPED = "helped", "已帮扶"
        NO_HARDSHIP = "no_hardship", "未发现困难"

    class Match(models.TextChoices):
        MATCHED = "matched", "已识别"
        UNIDENTIFIED = "unidentified", "身份未明"

    channel = models.CharField(max_length=12, choices=Channel.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    urgent = models.BooleanField(default=False)
    summary = models.CharField(max_length=1000)  # the hardship as reported
    details = models.JSONField(default=dict)  # who it is about, as given: name, phone, ID, place …
    match = models.CharField(max_length=12, choices=Match.choices, default=Match.UNIDENTIFIED)
    household_id = models.CharField(max_length=32, blank=True, db_index=True)
    id_number = models.CharField(max_length=18, blank=True)
    probability = models.FloatField(null=True, blank=True)
    # The village responsible, or the township when the place is known only that far, or the reporter's
    # own region as the fallback: the scope every inbox filters on.
    region_code = models.CharField(max_length=12, db_index=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    source_ref = models.CharField(max_length=64, blank=True)  # e.g. warning:123, the channel's own record
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reporter_name = models.CharField(max_length=100, blank=True)  # an organisation or a department
    created_at = models.DateTimeField(auto_now_add=True)
    masked_for_reading = False  # set on a copy read by someone without whole identifiers: never saved

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="leads_once_per_source",
            )
        ]
        # The lead list's order (urgent first, newest first): read in index order, not sorted per request
        # (benchmarks/leads.py: the county's list 107 → 33 ms at 320,000 leads).
        indexes = [models.Index(fields=["-urgent", "-id"], name="leads_urgent_newest")]

    def __str__(self) -> str:
        return f"lead {self.pk} ({self.channel}, {self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A lead read by someone without whole identifiers holds masked text: saving it would destroy
        # the report (leads.services._as_read).
        if self.masked_for_reading:
            raise RuntimeError("a lead masked for reading cannot be saved")
        super().save(*args, **kwargs)
