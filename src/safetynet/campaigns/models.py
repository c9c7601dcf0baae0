"""Campaigns (集中排查): a declared sweep over some regions for some groups, one visit task per household.

A township or the county declares a campaign after a disaster or an epidemic; every household of the chosen
groups in the chosen regions gets a visit task for its village; a hardship found on a visit becomes a lead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Campaign(models.Model):
    class Kind(models.TextChoices):
        DISASTER = "disaster", "自然灾害"
        EPIDEMIC = "epidemic", "公共卫生事件"
        SEASONAL = "seasonal", "季节性"
        OTHER = "other", "其他"

    class Group(models.TextChoices):
        LOW_INCOME = "low_income", "低收入人口"
        DIBAO_EDGE = "dibao_edge", "低保边缘"
        ELDERLY_ALONE = "elderly_alone", "独居老人"
        DISABLED = "disabled", "重度残疾"
        SERIOUS_ILLNESS = "serious_illness", "重病"
        COVERED = "covered", "在保对象"
        ALL = "all", "全部户"

    class Status(models.TextChoices):
        OPEN = "open", "进行中"
        CLOSED = "closed", "已结束"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    county_code = models.CharField(max_length=6, db_index=True)
    # Township and village codes (or the county's own) as chosen; a household lies in the campaign when its
    # village is inside any of them.
    region_codes = models.JSONField(default=list)
    target_groups = models.JSONField(default=list)
    starts_on = models.DateField()
    ends_on = models.DateField()
    # The day the registry was read to choose the households: ages and incomes are as of then.
    as_of = models.DateField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"campaign {self.pk} {self.name}"


class VisitTask(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待走访"
        NO_HARDSHIP = "no_hardship", "未发现困难"
        HARDSHIP = "hardship", "发现困难"
        UNREACHABLE = "unreachable", "无法联系"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="tasks")
    household_id = models.CharField(max_length=32)
    region_code = models.CharField(max_length=12)  # the household's village when the campaign was declared
    groups = models.CharField(max_length=120, blank=True)  # why it was chosen: comma-separated groups
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    urgent = models.BooleanField(default=False)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visited_at = models.DateTimeField(null=True, blank=True)
    findings = models.CharField(max_length=1000, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="campaign_tasks"
    )

    class Meta:
        ordering = ["region_code", "household_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household_id"], name="campaigns_one_task_per_household"
            )
        ]
        indexes = [
            # Progress by village, and a village's pending list: both read (campaign, region_code, status).
            models.Index(fields=["campaign", "region_code", "status"], name="campaigns_task_progress"),
            # The scoped layer range-scans region_code; a coordinator's tasks across campaigns start here.
            models.Index(fields=["region_code", "status"], name="campaigns_task_region"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} ({self.household_id}, {self.status})"
