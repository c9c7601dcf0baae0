"""A county's catalog of assistance policies across departments, each with who it is for (as data)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from safetynet.access.departments import Department
from safetynet.policies import conditions


class Policy(models.Model):
    county_code = models.CharField(max_length=6, validators=[RegexValidator(r"^\d{6}$")], db_index=True)
    code = models.SlugField(max_length=40)
    title = models.CharField(max_length=100)
    department = models.CharField(max_length=24, choices=Department.choices)
    summary = models.TextField(blank=True)
    # A list of {"fact", "op", "value"} over household facts, all of which must hold (policies.conditions).
    conditions = models.JSONField(default=list, blank=True)
    how_to_apply = models.TextField(blank=True)
    contacts = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic lock: two editors never overwrite silently

    class Meta:
        ordering = ["county_code", "department", "code"]
        constraints = [
            models.UniqueConstraint(fields=["county_code", "code"], name="policies_code_per_county")
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # However a row is written (service, admin, shell), its conditions are checked first.
        self.conditions = conditions.validate(self.conditions)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            self.conditions = conditions.validate(self.conditions)
        except conditions.ConditionError as error:
            raise ValidationError({"conditions": str(error)}) from None

    @property
    def condition_texts(self) -> list[str]:
        return [conditions.describe(c) for c in self.conditions]
