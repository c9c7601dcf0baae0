"""Screening pages: runs, warnings with their explanation and evidence, the rule pack editor (thin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safetynet.access.permissions import Cap
from safetynet.access.services import Actor
from safetynet.lake.sources import FEEDS
from safetynet.listing import ListQuery
from safetynet.regions import services as regions
from safetynet.screening import explain, services
from safetynet.screening.features import HOUSEHOLD_FEATURES, PERSON_FEATURES, STAGE_TWO_FEATURES
from safetynet.screening.models import RiskWarning, RulePack, Run
from safetynet.screening.packs import LEVELS, PackError, feature, in_words
from safetynet.xlsx import workbook_response


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "forbidden.html", status=403)


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "screening/not_found.html", {"what": what}, status=404)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@login_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "screening runs")
        recent = services.runs(actor)
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "screening/index.html", {"runs": recent})


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Start a live run as of today on the worker; its page shows the progress (the nightly job does the same)."""
    actor = Actor.from_request(request, "screening run")
    try:
        job = services.start_run(actor)
    except PermissionDenied:
        return _forbidden(request)
    except services.ScreeningError as error:
        messages.error(request, str(error))
        return redirect("screening:index")
    return redirect(f"{reverse('jobs:job', args=[job.pk])}?then=result")


@login_required
def run(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        actor = Actor.from_request(request, "screening run")
        found = services.get_run(actor, run_id)
        if found is None:
            return _not_found(request, _("run"))
        breakdown = services.run_breakdown(actor, found)
    except PermissionDenied:
        return _forbidden(request)
    pack = services.load(found.pack)
    titles = {r.id: r.title for r in pack.rules}
    rows = []
    for rule_id, c in found.counts.items():
        levels = breakdown["by_rule_level"].get(rule_id, {})
        # A list, not the Counter: templates would read `levels.items` as the count of a level "items".
        by_level = [levels.get(level, 0) for level in LEVELS]
        rows.append({"rule_id": rule_id, "title": titles.get(rule_id, rule_id), **c, "by_level": by_level})
    names = regions.names(list(breakdown["by_township"].keys()))
    townships = sorted(
        (
            {"code": code, "name": names.get(code, code), "count": n}
            for code, n in breakdown["by_township"].items()
        ),
        key=lambda t: -t["count"],
    )
    return render(
        request,
        "screening/run.html",
        {"run": found, "rules": rows, "townships": townships, "levels": LEVELS},
    )


@login_required
def warning_list(request: HttpRequest) -> HttpResponse:
    run_id = _int(request.GET.get("run"))
    # The inbox shows open warnings; a run's own list shows all of them unless filtered.
    default_status = "" if run_id else RiskWarning.Status.OPEN
    filters = services.WarningFilters(
        run_id=run_id,
        rule_id=request.GET.get("rule", "")[:40],
        level=request.GET.get("level", ""),
        status=request.GET.get("status", default_status),
        region=request.GET.get("region", "")[:12],
        narrow=ListQuery.from_params({**request.GET.dict(), "region": ""}),
    )
    try:
        actor = Actor.from_request(request, "warning list")
        page = services.warning_page(actor, filters, _int(request.GET.get("page")) or 1)
    except PermissionDenied:
        return _forbidden(request)
    found = page.object_list
    query = request.GET.copy()
    query.pop("page", None)
    pack = services.load(services.active_pack())
    return render(
        request,
        "screening/warnings.html",
        {
            "warnings": found,
            "total": page.paginator.count,
            "number": page.number,
            "pages": page.paginator.num_pages,
            "query": query.urlencode(),
            "filters": filters,
            "rules": [(r.id, r.title) for r in pack.rules],
            "titles": {r.id: r.title for r in pack.rules},
            "levels": LEVELS,
            "statuses": RiskWarning.Status.choices,
            "household_levels": services.household_levels(
                w for w in found if w.status == RiskWarning.Status.OPEN
            ),
            "townships": _townships(actor),
            "narrow": filters.narrow,
            "sorts": services.WARNING_SORTS,
        },
    )


def _export_filters(request: HttpRequest) -> services.WarningFilters:
    return services.WarningFilters(
        run_id=_int(request.GET.get("run")),
        rule_id=request.GET.get("rule", "")[:40],
        level=request.GET.get("level", ""),
        status=request.GET.get("status", RiskWarning.Status.OPEN),
        region=request.GET.get("region", "")[:12],
        narrow=ListQuery.from_params({**request.GET.dict(), "region": ""}),
    )


@login_required
def warning_workbook(request: HttpRequest) -> HttpResponseBase:
    """The filtered list as staff read it, as an Excel workbook (people and rules in words, masked)."""
    actor = Actor.from_request(request, "warning export")
    try:
        rows = services.sheet_rows_for(actor, _export_filters(request))
        return workbook_response("预警名单.xlsx", "预警", services.SHEET_HEADERS, rows)
    except PermissionDenied:
        return _forbidden(request)


@login_required
def warning_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as the contract's CSV, for Excel."""
    filters = _export_filters(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    try:
        services.export_for(Actor.from_request(request, "warning export"), filters, response)
    except PermissionDenied:
        return _forbidden(request)
    response["Content-Disposition"] = 'attachment; filename="warnings.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _townships(actor: Actor) -> list[tuple[str, str]]:
    """(code prefix, name) of the areas one level down a reader may narrow the list to: a county's
    townships, a township's villages."""
    return regions.narrowing(actor.user.region)


@login_required
def warning(request: HttpRequest, warning_id: int) -> HttpResponse:
    actor = Actor.from_request(request, "warning review")
    try:
        found = services.get_warning(actor, warning_id)
        if found is None:
            return _not_found(request, _("warning"))
        siblings = services.warnings(
            actor,
            services.WarningFilters(status=RiskWarning.Status.OPEN, region=found.region_code),
            limit=1000,
        )
    except PermissionDenied:
        return _forbidden(request)
    household = [w for w in siblings if w.household_id == found.household_id]
    pack = services.load(found.run.pack)
    rule = pack.rule(found.rule_id)
    titles = {r.id: r.title for r in pack.rules}
    values = []
    for name, value in sorted(found.values.items()):
        f = feature(name)
        if f is not None and not name.endswith("_refs"):  # source rows are shown as evidence below
            values.append({"name": name, "label": f.label, "value": explain.shown(f.kind, value, titles)})
    return render(
        request,
        "screening/warning.html",
        {
            "w": found,
            "rule": rule,
            "condition": in_words(rule.condition, rule.params) if rule else "",
            "sources": {s: spec.department for s, spec in FEEDS.items()} | {"registry": "低收入人口登记库"},
            "values": values,
            "household_warnings": household,
            "household_level": services.household_level(w.level for w in household),
            "can_open_case": found.case_id is not None and Cap.READ_CASES in actor.user.caps,
        },
    )


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    """The rule pack editor: enable, disable and tune rules; each save is a new version."""
    actor = Actor.from_request(request, "rule pack")
    try:
        services.require_rule_admin(actor)
    except PermissionDenied:
        return _forbidden(request)
    current = services.active_pack()
    pack = services.load(current)
    problems: list[str] = []
    if request.method == "POST":
        edits = {
            r.id: services.RuleEdit(
                enabled=request.POST.get(f"rule-{r.id}-enabled") == "on",
                level=request.POST.get(f"rule-{r.id}-level", r.level),
                condition=request.POST.get(f"rule-{r.id}-condition", r.condition)[:2000],
                params={
                    name: request.POST.get(f"rule-{r.id}-param-{name}", str(v))[:40]
                    for name, v in r.params.items()
                },
            )
            for r in pack.rules
        }
        windows = {name: request.POST.get(f"window-{name}", str(v))[:10] for name, v in pack.windows.items()}
        try:
            edited = services.apply_edits(pack, windows, edits)
            saved = services.save_pack(actor, edited, note=request.POST.get("note", ""))
        except PackError as error:
            problems = error.problems
            pack = _as_typed(pack, windows, edits)
        else:
            messages.success(request, _("Saved as rule pack version %(v)s.") % {"v": saved.version})
            return redirect("screening:rules")
    precision = services.rule_precision()
    return render(
        request,
        "screening/rules.html",
        {
            "current": current,
            "pack": pack,
            "rules": [(r, precision.get(r.id)) for r in pack.rules],
            "problems": problems,
            "versions": RulePack.objects.all()[:50],
            "levels": LEVELS,
            "person_features": PERSON_FEATURES.values(),
            "household_features": [*HOUSEHOLD_FEATURES.values(), *STAGE_TWO_FEATURES.values()],
            "live_runs": Run.objects.filter(dry_run=False, status=Run.Status.DONE)[:20],
        },
        status=400 if problems else 200,
    )


def _as_typed(pack, windows, edits):  # type: ignore[no-untyped-def]
    """The pack with what the user typed, to show the form again beside the problems."""
    for rule in pack.rules:
        edit = edits[rule.id]
        rule.enabled, rule.condition = edit.enabled, edit.condition
        rule.level = edit.level if edit.level in LEVELS else rule.level
        rule.params = {**rule.params, **edit.params}  # strings: shown back as typed
    pack.windows = {**pack.windows, **windows}
    return pack


@login_required
@require_POST
def backtest(request: HttpRequest) -> HttpResponse:
    """Dry-run a pack version and compare it with a live run: what each rule adds and drops."""
    actor = Actor.from_request(request, "rule backtest")
    version = RulePack.objects.filter(version=_int(request.POST.get("version")) or 0).first()
    base = Run.objects.filter(pk=_int(request.POST.get("base")) or 0, dry_run=False).first()
    if version is None or base is None:
        messages.error(request, _("Choose a pack version and a live run to compare with."))
        return redirect("screening:rules")
    try:
        job = services.start_backtest(actor, version, base)
    except PermissionDenied:
        return _forbidden(request)
    return redirect(f"{reverse('jobs:job', args=[job.pk])}?then=result")


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request, "rule backtest")
    try:
        services.require_rule_admin(actor)
    except PermissionDenied:
        return _forbidden(request)
    runs = {
        r.pk: r
        for r in Run.objects.select_related("pack").filter(
            pk__in=[_int(request.GET.get("base")) or 0, _int(request.GET.get("candidate")) or 0]
        )
    }
    base, candidate = (
        runs.get(_int(request.GET.get("base")) or 0),
        runs.get(_int(request.GET.get("candidate")) or 0),
    )
    if base is None or candidate is None:
        return _not_found(request, _("run"))
    return render(
        request,
        "screening/compare.html",
        {"base": base, "candidate": candidate, "rows": services.compare_runs(base, candidate)},
    )
