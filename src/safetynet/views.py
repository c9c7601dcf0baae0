"""Project-level pages that bring several apps together (the apps themselves depend downward only)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from safetynet.access.models import User
from safetynet.access.permissions import Cap
from safetynet.access.roles import Role
from safetynet.access.services import Actor


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The page each role lands on: for whoever works cases, today's work (each inbox section with its
    count, linked); its region's counts where the role reads statistics."""
    from safetynet.registry import services as registry

    user = request.user
    assert isinstance(user, User)
    if user.role == Role.LEADER:  # a leader's day starts with the analysis of their region
        return redirect("reports:dashboard")
    context: dict[str, object] = {}
    if user.role == Role.LIAISON and Cap.READ_REFERRALS in user.caps:
        from safetynet.cases import coordination

        try:
            context["referrals_waiting"] = coordination.waiting(Actor.from_request(request, "home page"))
        except PermissionDenied:  # an account that names no department: the page says so below
            context["referrals_waiting"] = None
    if Cap.READ_CASES in user.caps:
        from safetynet.cases import inbox

        context["today"] = [
            (s.key, s.title, s.total_shown, s.key == "overdue" and s.total > 0)
            for s in inbox.for_actor(Actor.from_request(request, "home page"))
        ]
    if Cap.READ_STATISTICS in user.caps:
        context["counts"] = registry.region_statistics(Actor.from_request(request, "home page"))
    return render(request, "access/home.html", context)
