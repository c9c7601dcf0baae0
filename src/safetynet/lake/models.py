"""Batches of departmental feeds landed in the lake, the department tokens that push them, and registry
snapshots. The Parquet itself lives in the lake; these rows say what is there and where it came from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Batch(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")  # a push accepted (202), waiting for the worker
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        REJECTED = "rejected", _("rejected")  # the whole file: missing column, unreadable
        FAILED = "failed", _("failed")  # interrupted; its files were cleaned up
        DUPLICATE = "duplicate", _("already landed")  # a push of content an earlier batch (duplicate_of) holds

    source = models.CharField(max_length=32, db_index=True)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)  # csv, xlsx, jsonl
    encoding = models.CharField(max_length=16, blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)  # sha256 of the bytes and the mapping
    mapping = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    rows_total = models.PositiveBigIntegerField(default=0)
    accepted = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)  # why a whole file was rejected
    submitted_by = models.CharField(max_length=150, blank=True)  # user name or department token
    department = models.CharField(max_length=100, blank=True)  # set for pushes: who may query it
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # host:pid:token of the ingest that owns a running batch, and until when its lease holds: the ingest
    # renews it while it works, so only a dead one (its process gone, or its lease run out) is cleaned up.
    worker = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    duplicate_of = models.PositiveBigIntegerField(null=True, blank=True)  # the batch holding this content

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["source", "status"])]
        constraints = [
            # The database decides which of several identical pushes lands: one running or done batch per
            # content, however many arrive at once (a retry after a timeout is enough to send two).
            models.UniqueConstraint(
                fields=["source", "content_hash"],
                condition=models.Q(status__in=["running", "done"]),
                name="lake_one_live_batch_per_content",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} batch {self.pk} ({self.status})"


class DepartmentToken(models.Model):
    """A department's API token for pushing its own feeds. Only a hash is stored; the token is shown once."""

    department = models.CharField(max_length=100)
    sources = models.JSONField(default=list)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None only for tokens issued before expiry

    def __str__(self) -> str:
        return f"{self.department} ({self.prefix})"


class RegistrySnapshot(models.Model):
    """The registry written to the lake as Parquet, consistent as of one transaction."""

    taken_at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=500)
    rows = models.JSONField(default=dict)  # table -> row count
    # The registry's change counter when the snapshot was read (None: taken by code that did not know it).
    source_version = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"snapshot {self.pk} {self.taken_at:%Y-%m-%d %H:%M}"
