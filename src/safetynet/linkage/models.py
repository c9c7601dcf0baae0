"""The blocking index over the registry, the model versions, and the review queue of uncertain matches."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PersonKey(models.Model):
    """One blocking key of one registry person: a lookup reads the persons filed under its own keys."""

    key = models.CharField(max_length=80)
    id_number = models.CharField(max_length=18)
    region_code = models.CharField(max_length=12)  # the person's household village, for region scope

    class Meta:
        indexes = [
            # Covering: a lookup reads the index alone (SQLite, and PostgreSQL once vacuumed).
            models.Index(fields=["key", "region_code", "id_number"], name="linkage_key_region"),
            # An import re-files only the persons who changed: their keys are found by person.
            models.Index(fields=["id_number"], name="linkage_key_person"),
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.id_number}"


class IndexedPerson(models.Model):
    """What a registry person's keys were made from (a digest of the fields that make them), so an import
    re-files only the persons it added or changed, and drops those it removed."""

    id_number = models.CharField(max_length=18, primary_key=True)
    digest = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.id_number} indexed"


class LinkageModel(models.Model):
    """A version of the Fellegi–Sunter parameters and the thresholds a county admin chose."""

    params = models.JSONField()
    match_threshold = models.FloatField(default=0.95)  # at or above: the same person, decided automatically
    review_threshold = models.FloatField(default=0.5)  # at or above: a person should look
    note = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"linkage model {self.pk}"


class Review(models.Model):
    """A record the model could not decide alone, waiting for a person to confirm or reject a candidate."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        CONFIRMED = "confirmed", "已确认"
        REJECTED = "rejected", "均不是"

    source = models.CharField(max_length=20)  # hotline, link, lead …
    source_ref = models.CharField(max_length=120, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    record = models.JSONField()  # the fields as given
    candidates = models.JSONField()  # [{id_number, probability, explanation}], best first
    region_code = models.CharField(max_length=12, db_index=True)  # the best candidate's village
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    id_number = models.CharField(max_length=18, blank=True)  # the person confirmed
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=0)  # optimistic lock: two reviewers, one decision

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], name="linkage_review_once_per_record")
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.status})"


class Decision(models.Model):
    """What a person decided about one record and one candidate; later links of the same record obey it."""

    fingerprint = models.CharField(max_length=64)
    id_number = models.CharField(max_length=18)
    same = models.BooleanField()
    review = models.ForeignKey(Review, null=True, on_delete=models.SET_NULL)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["fingerprint"], name="linkage_decision_fp")]

    def __str__(self) -> str:
        return f"{self.fingerprint[:8]} {'=' if self.same else '!='} {self.id_number}"


class ResolvedBatch(models.Model):
    """A hotline batch resolved to persons, with the model and the human decisions it was resolved under."""

    batch = models.OneToOneField("lake.Batch", on_delete=models.CASCADE, related_name="resolution")
    model = models.ForeignKey(LinkageModel, on_delete=models.PROTECT)
    decisions_upto = models.BigIntegerField(default=0)  # the newest Decision id taken into account
    rows = models.IntegerField(default=0)
    matched = models.IntegerField(default=0)
    review = models.IntegerField(default=0)
    resolved_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"hotline batch {self.batch_id} resolved by model {self.model_id}"


class Recovery(models.Model):
    """A feed row quarantined for its ID number, recovered to a person and landed again in a new batch."""

    batch = models.ForeignKey("lake.Batch", on_delete=models.CASCADE, related_name="recoveries")
    line = models.PositiveIntegerField()  # the row's line in the quarantined file
    recovered_batch = models.ForeignKey("lake.Batch", on_delete=models.PROTECT, related_name="+")
    id_number = models.CharField(max_length=18)
    probability = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "line"], name="linkage_recovered_once")]

    def __str__(self) -> str:
        return f"batch {self.batch_id} line {self.line} -> {self.id_number}"


class VillageAlias(models.Model):
    """A name people use for a village that is not its registered one (张家庄 for 张庄村, 刘寨 for 刘家寨村),
    kept by the county on /linkage/settings/: address text saying it is read as that village."""

    alias = models.CharField(max_length=30)
    region_code = models.CharField(max_length=12, db_index=True)  # a village
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region_code", "alias"]
        constraints = [models.UniqueConstraint(fields=["alias", "region_code"], name="linkage_one_alias_per_village")]

    def __str__(self) -> str:
        return f"{self.alias} -> {self.region_code}"
