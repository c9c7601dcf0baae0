"""Policy pages: the county catalog, its edit forms for county staff, and a case's notification letter (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from safetynet.access.departments import Department
from safetynet.access.services import Actor
from safetynet.policies import conditions, services
from safetynet.policies.models import Policy

MAX_ROWS = conditions.MAX_CONDITIONS + 5


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "policy catalog")
        policies = services.catalog(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(
        request, "policies/index.html", {"policies": policies, "can_edit": services.can_edit(actor)}
    )


def _rows(found: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The form's condition rows: those given, then a few blank ones to add more."""
    return found + [("", "", "")] * max(3, 5 - len(found))


def _form_context(form: dict[str, object], rows: list[tuple[str, str, str]], errors: list[str]) -> dict:
    return {
        "form": form,
        "rows": _rows(rows),
        "errors": errors,
        "departments": Department.choices,
        "facts": list(conditions.FACTS.values()),
        "ops": [(op, conditions.OP_SYMBOLS.get(op, ""), word) for op, word in conditions.OP_WORDS.items()],
        "ops_by_kind": conditions.OPS_BY_KIND,
    }


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    actor = Actor.from_request(request, "policy edit")
    if not services.can_edit(actor):
        return _forbidden(request)
    policy: Policy | None = None
    if policy_id is not None:
        policy = services.get_policy(actor, policy_id)
        if policy is None:
            return render(request, "not_found.html", status=404)
    if request.method == "POST":
        post = request.POST
        rows = list(zip(post.getlist("fact"), post.getlist("op"), post.getlist("value"), strict=False))
        rows = [(f[:40], o[:10], v[:200]) for f, o, v in rows[:MAX_ROWS]]
        while rows and not rows[-1][0].strip():  # blank rows come back as the form's spare ones
            rows.pop()
        form: dict[str, object] = {
            k: post.get(k, "")[:2100]
            for k in ("code", "title", "department", "summary", "how_to_apply", "contacts", "version")
        }
        form["active"] = post.get("active") == "on"
        errors = []
        try:
            data = services.PolicyInput(
                code=str(form["code"]) if policy is None else policy.code,
                title=str(form["title"]),
                department=str(form["department"]),
                summary=str(form["summary"]),
                conditions=conditions.from_rows(rows),
                how_to_apply=str(form["how_to_apply"]),
                contacts=str(form["contacts"]),
                active=bool(form["active"]),
            )
            if policy is None:
                saved = services.create_policy(actor, data)
            else:
                version = str(form["version"])
                saved = services.update_policy(
                    actor, policy.pk, data, int(version) if version.isdigit() else -1
                )
        except PermissionDenied:
            return _forbidden(request)
        except services.NotFound:
            return render(request, "not_found.html", status=404)
        except (conditions.ConditionError, services.PolicyRejected, services.Conflict) as error:
            errors.append(str(error))
        else:
            messages.success(request, _("Saved: %(title)s") % {"title": saved.title})
            return redirect("policies:index")
        context = _form_context(form, rows, errors)
        context["policy"] = policy
        return render(request, "policies/edit.html", context, status=422)
    if policy is None:
        form = {"department": Department.CIVIL_AFFAIRS, "active": True}
        rows = []
    else:
        form = {
            "code": policy.code,
            "title": policy.title,
            "department": policy.department,
            "summary": policy.summary,
            "how_to_apply": policy.how_to_apply,
            "contacts": policy.contacts,
            "active": policy.active,
            "version": policy.version,
        }
        rows = [(c["fact"], c["op"], conditions.text_value(c)) for c in policy.conditions]
    context = _form_context(form, rows, [])
    context["policy"] = policy
    return render(request, "policies/edit.html", context)
