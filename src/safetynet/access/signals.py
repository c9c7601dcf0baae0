"""Sign-ins, sign-outs and failed sign-ins, in the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from safetynet.access.services import record_as


def _ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def logged_in(sender: Any, request: HttpRequest, user: Any, **_: Any) -> None:
    record_as(
        user.get_username(), user.role, "login", ip_address=_ip(request), region_code=user.region_id or ""
    )
    _cap_sessions(request, user)


def _cap_sessions(request: HttpRequest, user: Any) -> None:
    """An account holds at most SAFETYNET_MAX_SESSIONS sessions: a new sign-in ends the oldest."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from safetynet.access.models import UserSession

    if not request.session.session_key:
        request.session.save()
    UserSession.objects.get_or_create(user=user, session_key=request.session.session_key)
    held = list(UserSession.objects.filter(user=user).order_by("-started_at", "-id"))
    for old in held[settings.SAFETYNET_MAX_SESSIONS :]:
        Session.objects.filter(session_key=old.session_key).delete()
        old.delete()


def logged_out(sender: Any, request: HttpRequest, user: Any, **_: Any) -> None:
    if user is not None:
        record_as(
            user.get_username(),
            user.role,
            "logout",
            ip_address=_ip(request),
            region_code=user.region_id or "",
        )


def login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    # The name typed, never the password (Django has already masked it in `credentials`).
    name = str(credentials.get("username", ""))[:150]
    record_as(name, "", "login_failed", ip_address=_ip(request), purpose="login")
