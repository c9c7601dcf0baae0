"""Users bound to one role and one region, and the audit trail of every personal-data read."""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models

from safetynet.access.roles import Role


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices)
    region = models.ForeignKey("regions.Region", null=True, on_delete=models.PROTECT, related_name="users")
    organisation = models.CharField(max_length=100, blank=True)

    @cached_property
    def caps(self) -> frozenset[str]:
        """The capabilities this user holds (`access.permissions`); templates ask `'case.verify' in user.caps`."""
        from safetynet.access.permissions import granted

        return granted(self)

    @property
    def county_code(self) -> str:
        """The six-digit county of the user's region ('' above county level)."""
        code = self.region_id or ""
        return code[:6] if code[4:6] != "00" else ""


class AuditEntry(models.Model):
    """Who read or changed what, when and why. Append-only: nothing in the app updates or deletes it."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: the trail is append-only (database triggers), so an account with entries is deactivated,
    # never deleted.
    user = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="audit_entries")
    username = models.CharField(max_length=150)  # kept even if the account is removed
    role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    region_code = models.CharField(max_length=12, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Whom a read or a look-up was about, as a keyed hash (access.services.subject_of): an auditor finds
    # every read of a person by typing their ID number, and the trail itself never holds the number.
    subject = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["username", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}:{self.object_id}"


class Delegation(models.Model):
    """A capability a county grants to a role beyond the permission table, where counties differ
    (`access.permissions.DELEGABLE`): e.g. the county lets its townships confirm decisions (审核确认)."""

    county_code = models.CharField(max_length=6)
    capability = models.CharField(max_length=40)
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_by = models.CharField(max_length=150)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["county_code", "capability", "role"], name="access_one_delegation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.county_code}: {self.capability} → {self.role}"


class IdempotentRequest(models.Model):
    """An API write sent with an `Idempotency-Key` header, and the answer it got: the same request sent
    again (a client retrying after a timeout) gets the same answer instead of doing the work twice."""

    principal = models.CharField(max_length=64)  # the user, or a hash of the department's token
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)  # method, path and body: a key reused for another request
    status = models.PositiveSmallIntegerField(null=True)  # None while the first request is being answered
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="access_one_request_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key} ({self.status})"


class AuditSeal(models.Model):
    """A keyed hash over a run of audit entries, chained to the seal before it: editing, deleting, adding
    or reordering a sealed entry changes what `access.audit.verify` recomputes. The trail's tables also
    refuse UPDATE and DELETE (database triggers, migration 0005)."""

    after_id = models.BigIntegerField(unique=True)  # the previous seal's last entry (0 for the first)
    last_id = models.BigIntegerField(unique=True)
    entries = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_id"]

    def __str__(self) -> str:
        return f"seal {self.after_id}..{self.last_id}"


class UserSession(models.Model):
    """The sessions an account holds, so a sign-in beyond SAFETYNET_MAX_SESSIONS ends the oldest."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.session_key[:6]}…"
