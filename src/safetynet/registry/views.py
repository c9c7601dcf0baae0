"""Registry pages: person search and the household profile, both through the scoped services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from safetynet.access.ratelimit import RateLimited
from safetynet.access.services import Actor
from safetynet.registry import services


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    try:
        results, total = (
            services.search(Actor.from_request(request, "person search"), query) if query else ([], 0)
        )
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    except RateLimited as error:
        return render(
            request, "registry/search.html", {"q": query, "results": [], "error": str(error)}, status=429
        )
    return render(
        request,
        "registry/search.html",
        {"q": query, "results": results, "total": total, "cut": total > len(results)},
    )


class DialRedirect(HttpResponseRedirect):
    allowed_schemes = ["tel"]


@login_required
@require_POST
def call(request: HttpRequest, household_id: str) -> HttpResponse:
    """Ring a member of the household: the phone's dialer opens on the whole number, which never appears
    on the page; the call is audited. POST (with CSRF) so no prefetch or crawler rings anyone."""
    try:
        phone = services.phone_to_call(
            Actor.from_request(request, "call"), household_id, request.POST.get("member", "")[:100]
        )
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    if not phone:
        return render(request, "registry/not_found.html", {"household_id": household_id}, status=404)
    return DialRedirect("tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+"))


@login_required
def household(request: HttpRequest, household_id: str) -> HttpResponse:
    try:
        profile = services.household_profile(Actor.from_request(request, "household profile"), household_id)
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    if profile is None:
        return render(request, "registry/not_found.html", {"household_id": household_id}, status=404)
    return render(request, "registry/household.html", {"h": profile})
