"""The scoped access layer: every read of personal data passes here, limited to a region and audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from safetynet.access.masking import mask_id_number, mask_in_text, mask_phone
from safetynet.access.models import AuditEntry, Delegation, User
from safetynet.access.permissions import DELEGABLE, Cap, require
from safetynet.access.roles import Role
from safetynet.regions import services as regions

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Actor:
    """A signed-in user acting for a stated purpose, with where the request came from."""

    user: User
    purpose: str
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, purpose: str) -> Actor:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            raise PermissionDenied("login required")
        return cls(user=user, purpose=purpose, ip_address=request.META.get("REMOTE_ADDR"))


class PersonalDataScope:
    """Limits querysets to the actor's region subtree and writes the audit entries for what is read.

    Registry services build every personal-data query through `restrict` and report each detail read
    through `audit_read`, so a page or API route cannot reach personal data without both.
    """

    def __init__(self, actor: Actor, *, referred_only: bool = False):
        """`referred_only`: the caller reads only what was referred to a department (cases.coordination),
        so a department liaison, who reads no registry, may read that much in their region."""
        user = actor.user
        if not (referred_only and Cap.READ_REFERRALS in user.caps):
            require(actor, Cap.READ_REGISTRY)
        if user.region_id is None:
            raise PermissionDenied("user is bound to no region")
        self.actor = actor
        self.region_code: str = user.region_id
        self.region_level: str = user.region.level  # type: ignore[union-attr]
        self.low, self.high = regions.subtree_range(self.region_code, self.region_level)

    def restrict(self, queryset: models.QuerySet[M], region_field: str) -> models.QuerySet[M]:
        return queryset.filter(**{f"{region_field}__gte": self.low, f"{region_field}__lte": self.high})

    def covers(self, region_code: str) -> bool:
        return self.low <= region_code <= self.high

    def audit_read(
        self, object_type: str, object_id: str, region_code: str = "", detail: str = "", subject: str = ""
    ) -> None:
        """`subject`: whom the read was about (an ID number, a phone …), kept only as a keyed hash."""
        record(
            self.actor,
            "read",
            object_type,
            object_id,
            region_code=region_code,
            detail=detail,
            subject=subject,
        )

    def mask_id(self, value: str) -> str:
        return value if self.full_identifiers else mask_id_number(value)

    def mask_phone(self, value: str) -> str:
        return value if self.full_identifiers else mask_phone(value)

    def mask_text(self, value: str) -> str:
        """Free text with any ID number or mobile number in it masked, unless the reader sees them whole."""
        return value if self.full_identifiers else mask_in_text(value)

    @property
    def full_identifiers(self) -> bool:
        return Cap.FULL_IDENTIFIERS in self.actor.user.caps


def subject_of(value: str) -> str:
    """A person's identifier (an ID number, a phone) as the audit trail keeps it: a keyed hash, so the
    same person has the same subject in every entry and the trail never holds the number itself."""
    from safetynet import conf

    text = "".join(str(value).split()).upper()
    if not text:
        return ""
    key = conf.secret("audit_subject_key").encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def record(
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: str = "",
    region_code: str = "",
    detail: str = "",
    subject: str = "",
) -> AuditEntry:
    """Append one audit entry for a signed-in user; `subject` is hashed (subject_of) before it is kept."""
    user = actor.user
    return _append(
        user,
        user.get_username(),
        user.role,
        action,
        object_type,
        object_id,
        region_code,
        actor.purpose,
        detail,
        actor.ip_address,
        subject_of(subject),
    )


def record_as(
    name: str,
    role: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    detail: str = "",
    ip_address: str | None = None,
    region_code: str = "",
    purpose: str = "api",
) -> AuditEntry:
    """Append one audit entry for an actor without a user account (a department's token, the system) or
    before one is known (a failed login)."""
    return _append(
        None, name, role, action, object_type, object_id, region_code, purpose, detail, ip_address, ""
    )


def _append(
    user: User | None,
    username: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str,
    region_code: str,
    purpose: str,
    detail: str,
    ip_address: str | None,
    subject: str,
) -> AuditEntry:
    # Free text is truncated, never rejected: an audit write must not fail a read. It never keeps a whole
    # ID number or phone (a query typed, a reported situation): who a read was about is `subject`, hashed.
    detail, object_id = mask_in_text(detail), mask_in_text(object_id)
    return AuditEntry.objects.create(
        subject=subject,
        user=user,
        username=username[:150],
        role=role[:20],
        action=action[:40],
        object_type=object_type[:40],
        object_id=object_id[:64],
        region_code=region_code[:12],
        purpose=purpose[:200],
        detail=detail[:500],
        ip_address=ip_address,
    )


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    action: str = ""
    object_id: str = ""
    person: str = ""  # an ID number or phone typed by the auditor: matched through its hash
    since: dt.date | None = None
    until: dt.date | None = None


def audit_entries(actor: Actor, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The audit trail an auditor or administrator may read, newest first: entries about their region
    subtree, and — for a county or above — entries tied to no region (the system, departments' pushes,
    auditors' own reads, failed sign-ins). Reading it is itself audited."""
    require(actor, Cap.READ_AUDIT)
    from safetynet.access import audit

    audit.seal()  # what is settled is sealed before anyone reads it
    user = actor.user
    entries = AuditEntry.objects.all()
    if user.region_id:
        low, high = regions.subtree_range(user.region_id, user.region.level)  # type: ignore[union-attr]
        in_region = models.Q(region_code__gte=low, region_code__lte=high)
        if user.region.level in ("county", "city", "province"):  # type: ignore[union-attr]
            in_region |= models.Q(region_code="")
        entries = entries.filter(in_region)
    if filters.username:
        entries = entries.filter(username=filters.username)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.object_id:
        entries = entries.filter(object_id=filters.object_id)
    if filters.person:
        entries = entries.filter(subject=subject_of(filters.person))
    if filters.since:
        entries = entries.filter(at__date__gte=filters.since)
    if filters.until:
        entries = entries.filter(at__date__lte=filters.until)
    shown = {k: v for k, v in filters.__dict__.items() if v and k != "person"}
    record(
        actor,
        "read",
        "audit_trail",
        region_code=user.region_id or "",
        detail=f"{shown}"[:500],
        subject=filters.person,
    )
    return entries.order_by("-at", "-id")


def delegated(county_code: str, cap: Cap, role: str) -> bool:
    return Delegation.objects.filter(county_code=county_code, capability=cap.value, role=role).exists()


def delegate(actor: Actor, county_code: str, cap: Cap, role: str, granted: bool) -> None:
    """Grant (or withdraw) a delegable capability to a role in the actor's county."""
    require(actor, Cap.CASE_SETTINGS)
    if actor.user.county_code != county_code or role not in DELEGABLE.get(cap, ()):
        raise PermissionDenied("this capability may not be delegated to that role here")
    if granted == delegated(county_code, cap, role):
        return
    if granted:
        Delegation.objects.create(
            county_code=county_code, capability=cap.value, role=role, granted_by=actor.user.get_username()
        )
    else:
        Delegation.objects.filter(county_code=county_code, capability=cap.value, role=role).delete()
    action = "delegate" if granted else "withdraw_delegation"
    record(actor, action, "capability", cap.value, region_code=actor.user.region_id or "", detail=role)


def create_user(username: str, password: str, role: str, region_code: str, **extra: str) -> User:
    """Create a user, checking the role is real and the region is of a level the role works at."""
    from safetynet.access.roles import HOME_LEVELS
    from safetynet.regions.models import Region

    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    region = Region.objects.get(code=region_code)
    if region.level not in HOME_LEVELS[role]:
        raise ValueError(f"a {role} works at {HOME_LEVELS[role]}, not at a {region.level}")
    user = User(username=username, role=role, region=region, **extra)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


# -- user accounts of a county, kept by its administrator -------------------------------------------


def county_users(actor: Actor) -> list[User]:
    """Every account bound to a region inside the administrator's county."""
    require(actor, Cap.MANAGE_USERS)
    low, high = _admin_range(actor)
    return list(User.objects.filter(region_id__gte=low, region_id__lte=high).order_by("role", "username"))


def _admin_range(actor: Actor) -> tuple[str, str]:
    user = actor.user
    if user.region is None or user.region.level != "county":
        raise PermissionDenied("users are kept by a county's administrator")
    return regions.subtree_range(user.region_id, user.region.level)  # type: ignore[arg-type]


def add_user(
    actor: Actor,
    username: str,
    password: str,
    role: str,
    region_code: str,
    organisation: str = "",
    full_name: str = "",
) -> User:
    """A new account in the administrator's county; the role must fit the region's level."""
    require(actor, Cap.MANAGE_USERS)
    low, high = _admin_range(actor)
    if not low <= region_code <= high:
        raise ValueError("只能在本县范围内创建账号")
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password)
    except ValidationError as error:
        raise ValueError("；".join(error.messages)) from None
    if User.objects.filter(username=username).exists():
        raise ValueError(f"用户名 {username} 已被使用")
    try:
        user = create_user(
            username, password, role, region_code, organisation=organisation, first_name=full_name.strip()
        )
    except (ValueError, ValidationError) as error:
        raise ValueError(f"角色与所选地区的层级不符：{error}") from None
    record(actor, "create_user", "user", username, region_code=region_code, detail=role)
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Lock or unlock an account of the county (never one's own)."""
    require(actor, Cap.MANAGE_USERS)
    low, high = _admin_range(actor)
    found = User.objects.filter(pk=user_id, region_id__gte=low, region_id__lte=high).first()
    if found is None:
        raise PermissionDenied("no such account in your county")
    if found.pk == actor.user.pk:
        raise ValueError("不能停用自己的账号")
    found.is_active = active
    found.save(update_fields=["is_active"])
    record(
        actor, "activate_user" if active else "deactivate_user", "user", found.username, found.region_id or ""
    )
    return found


def end_other_sessions(user: User, keep: str) -> int:
    """End every session of the account but `keep` (after a password change)."""
    from django.contrib.sessions.models import Session

    from safetynet.access.models import UserSession

    others = UserSession.objects.filter(user=user).exclude(session_key=keep)
    keys = list(others.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    others.delete()
    return len(keys)
