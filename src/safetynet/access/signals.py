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
