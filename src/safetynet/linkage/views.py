"""Linkage pages: who-is-this lookup as a form is typed, the review queue, thresholds (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor, PersonalDataScope
from safetynet.linkage import services
from safetynet.linkage.models import LinkageModel
from safetynet.regions import services as regions
from safetynet.registry.models import Person

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("Phone"),
    "birth_date": gettext_lazy("Birth date"),
    "age": gettext_lazy("Age"),
    "gender": gettext_lazy("Gender"),
    "region_code": gettext_lazy("Region code"),
    "address_text": gettext_lazy("Where they live"),
}


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
def lookup(request: HttpRequest) -> HttpResponse:
    """The form hotline and village staff type into; candidates come from the API as they type."""
    user = request.user
    if Cap.LOOKUP not in user.caps:  # type: ignore[union-attr]
        return _forbidden(request)
    known_only = Cap.READ_REGISTRY not in user.caps  # type: ignore[union-attr]
    # Opened from the person search: what was typed there fills the form (the page asks at once).
    initial = {k: request.GET.get(k, "")[:60] for k in ("name", "phone", "address_text")}
    return render(request, "linkage/lookup.html", {"known_only": known_only, "initial": initial})


@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "linkage reviews")
        pending = services.pending_reviews(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "linkage/reviews.html", {"reviews": pending})


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, review_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "linkage review")
        scope = PersonalDataScope(actor)
        found = services.get_review(actor, review_id)
    except PermissionDenied:
        return _forbidden(request)
    if found is None:
        return render(request, "not_found.html", status=404)
    if request.method == "POST":
        choice = request.POST.get("choice", "")
        version = request.POST.get("version", "")
        offered = [c["id_number"] for c in found.candidates]
        if not version.isdigit() or len(version) > 9 or not (choice == "none" or choice.isdigit()):
            messages.error(request, _("Choose one candidate or 'none of them'."))
            return redirect("linkage:review", review_id=review_id)
        chosen = None if choice == "none" else (offered[int(choice)] if int(choice) < len(offered) else "")
        try:
            services.decide_review(actor, review_id, int(version), chosen)
        except PermissionDenied:
            return _forbidden(request)
        except services.Conflict as error:
            messages.error(request, str(error))
            return redirect("linkage:review", review_id=review_id)
        except ValueError as error:
            messages.error(request, str(error))
            return redirect("linkage:review", review_id=review_id)
        messages.success(request, _("Decision saved: later records like this one follow it."))
        return redirect("linkage:reviews")
    offered = [c["id_number"] for c in found.candidates]
    persons = {
        p.id_number: p
        for p in scope.restrict(Person.objects.select_related("household"), "household__region_code").filter(
            id_number__in=offered
        )
    }
    villages = regions.names([p.household.region_code for p in persons.values()])
    candidates = [
        {
            **c,
            "shown_id": scope.mask_id(c["id_number"]),
            "index": i,
            "person": persons.get(c["id_number"]),
            "village": villages.get(persons[c["id_number"]].household.region_code, "")
            if c["id_number"] in persons
            else "",
        }
        for i, c in enumerate(found.candidates)
    ]
    record = [(FIELD_LABELS.get(k, k), v) for k, v in found.record.items() if v]
    record = [(k, scope.mask_id(v) if len(v) == 18 and v[:17].isdigit() else v) for k, v in record]
    return render(
        request,
        "linkage/review.html",
        {
            "review": found,
            "record": record,
            "candidates": candidates,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "linkage thresholds")
    if Cap.LINKAGE_SETTINGS not in actor.user.caps:
        return _forbidden(request)
    if request.method == "POST" and "alias" in request.POST:
        try:
            added = services.add_alias(actor, request.POST.get("alias", "")[:100], request.POST.get("village", "")[:20])
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Alias %(alias)s saved.") % {"alias": added.alias})
        return redirect("linkage:settings")
    if request.method == "POST" and "remove_alias" in request.POST:
        alias_id = request.POST.get("remove_alias", "")
        if not (alias_id.isascii() and alias_id.isdigit() and len(alias_id) < 12 and services.remove_alias(actor, int(alias_id))):
            messages.error(request, _("No such alias."))
        return redirect("linkage:settings")
    if request.method == "POST":
        try:
            match = float(request.POST.get("match", ""))
            review_threshold = float(request.POST.get("review", ""))
            services.set_thresholds(actor, match, review_threshold)
        except ValueError as error:
            text = str(error) if "阈值" in str(error) else _("Thresholds must be numbers between 0 and 1.")
            messages.error(request, text)
        else:
            messages.success(request, _("Thresholds saved as a new model version."))
        return redirect("linkage:settings")
    return render(
        request,
        "linkage/settings.html",
        {
            "model": services.active_model(),
            "versions": LinkageModel.objects.all()[:20],
            "aliases": services.aliases(actor),
            "suggestions": services.suggested_aliases(actor),
        },
    )
