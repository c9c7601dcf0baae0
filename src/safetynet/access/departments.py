"""The departments a county works with: who owns a policy, who answers a referral, whom a liaison speaks
for. One table, so a referral to 医保局 and a policy of 医保局 name the same department."""

from __future__ import annotations

from django.db import models


class Department(models.TextChoices):
    CIVIL_AFFAIRS = "civil_affairs", "民政局"
    MEDICAL_INSURANCE = "medical_insurance", "医保局"
    EDUCATION = "education", "教育局"
    HOUSING = "housing", "住建局"
    HUMAN_RESOURCES = "human_resources", "人社局"
    DISABLED_FEDERATION = "disabled_federation", "残联"
    HEALTH = "health", "卫健局"
    RURAL_REVITALISATION = "rural_revitalisation", "乡村振兴局"
    EMERGENCY_MANAGEMENT = "emergency_management", "应急管理局"
    TRADE_UNION = "trade_union", "总工会"
    JUSTICE = "justice", "司法局"
    WOMEN_FEDERATION = "women_federation", "妇联"
