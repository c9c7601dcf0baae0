"""The numbers beside the menu (待办 12, 线索 3, 转介 2): what waits for the signed-in person, on every
page, so nobody has to open a list to learn there is work. Counts only (no personal data is read), cached
a minute per user, capped at 999 ("999+"). Whoever changes something (any POST) counts afresh on their
next page, so a liaison who has just answered does not see 转介 1 for another minute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from safetynet.access.models import User
from safetynet.access.permissions import Cap
from safetynet.access.roles import Role
from safetynet.access.services import Actor

SECONDS = 60


def badges(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated or user.region_id is None:
        return {}
    key = f"badges:{user.pk}"
    found = cache.get(key)
    if found is None:
        found = _count(Actor(user, "menu badges"))
        cache.set(key, found, SECONDS)
    return {"badges": found}


def forget_after_changes(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """Middleware: after a request that may change work (not GET or HEAD), the user's counts are dropped."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if request.method not in ("GET", "HEAD") and isinstance(user, User) and user.is_authenticated:
            cache.delete(f"badges:{user.pk}")
        return response

    return middleware


def _count(actor: Actor) -> dict[str, int]:
    from safetynet.cases import coordination, inbox
    from safetynet.leads import services as leads

    caps = actor.user.caps
    found: dict[str, int] = {}
    try:
        if Cap.READ_CASES in caps:
            found["inbox"] = inbox.due_soon(actor)
        if Cap.ASSIGN_LEAD in caps:
            found["leads"] = leads.unassigned_total(actor, cap=inbox.BADGE_CAP)
        if actor.user.role == Role.LIAISON and Cap.READ_REFERRALS in caps:
            found["referrals"] = coordination.waiting(actor)[0]
    except PermissionDenied:  # e.g. a liaison whose account names no department: no badge
        pass
    return found
