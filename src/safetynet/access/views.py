"""Pages of the access app: login, the home page each role lands on, and the audit trail."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from safetynet.access import services
from safetynet.access.models import User
from safetynet.access.permissions import Cap


class LoginView(auth_views.LoginView):
    template_name = "access/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from safetynet.registry import services as registry

    user = request.user
    assert isinstance(user, User)
    context: dict[str, object] = {}
    if {Cap.READ_REGISTRY, Cap.READ_STATISTICS} & user.caps:
        context["counts"] = registry.region_statistics(services.Actor.from_request(request, "home page"))
    return render(request, "access/home.html", context)


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    actor = services.Actor.from_request(request, "audit review")
    username = request.GET.get("username", "").strip()[:150]
    object_id = request.GET.get("object_id", "").strip()[:64]
    try:
        entries = services.audit_trail(actor, username=username, object_id=object_id)
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    return render(
        request, "access/audit.html", {"entries": entries, "username": username, "object_id": object_id}
    )
