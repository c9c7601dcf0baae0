"""Screening use cases: run a pack over the lake, keep its warnings, suppress repeats, compare versions,
edit the pack, record verification outcomes, and read all of it within the reader's region."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import importlib.util
import json
import os
import socket
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models, transaction
from django.utils import timezone

from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.events import CaseEvent
from safetynet.jobs import services as jobs
from safetynet.jobs.models import Job
from safetynet.lake import pseudonyms
from safetynet.lake import services as lake
from safetynet.linkage import batch as linkage
from safetynet.listing import EVERYTHING, ListQuery
from safetynet.regions import services as regions
from safetynet.registry import services as registry
from safetynet.screening import explain
from safetynet.screening.engines import ENGINES, get_engine
from safetynet.screening.features import REFS
from safetynet.screening.models import RiskWarning, RulePack, Run
from safetynet.screening.packs import (
    LEVEL_LABELS,
    LEVEL_RANK,
    RULE_ID,
    Pack,
    PackError,
    default_pack_text,
    feature,
    parse_pack,
)
from safetynet.screening.plan import Plan, value_column
from safetynet.screening.signals import run_finished
from safetynet.tabular import excel_safe
from safetynet.xlsx import SHEET_CHUNK, sheet_in_chunks

LEVEL_FACTOR = {"red": Decimal(3), "orange": Decimal(2), "yellow": Decimal(1)}
EXPORT_COLUMNS = [
    "warning_id",
    "run_id",
    "household_id",
    "id_number",
    "rule_id",
    "level",
    "score",
    "explanation",
    "evidence",
    "status",
]
SAVE_BATCH = 5000


class ScreeningError(RuntimeError):
    """A run that cannot start or finish, with a message for the operator."""


# -- rule packs ---------------------------------------------------------------------------------------


def active_pack() -> RulePack:
    """The pack runs use; the contract's default pack becomes version 1 on first use."""
    pack = RulePack.objects.filter(active=True).order_by("-version").first()
    if pack is None:
        with transaction.atomic():
            pack = RulePack.objects.filter(active=True).select_for_update().first()
            if pack is None:
                pack = RulePack.objects.create(
                    version=_next_version(), body=default_pack_text(), note="默认规则包", active=True
                )
    return pack


def _next_version() -> int:
    return (RulePack.objects.aggregate(v=models.Max("version"))["v"] or 0) + 1


def require_rule_admin(actor: Actor) -> None:
    require(actor, Cap.TUNE_RULES)


def save_pack(actor: Actor, pack: Pack, note: str = "", activate: bool = True) -> RulePack:
    """Store an edited pack as a new version (validated again here: pages are not trusted)."""
    require_rule_admin(actor)
    body = pack.to_yaml()
    parse_pack(body)  # raises PackError
    with transaction.atomic():
        # Saves take turns on the active row, so two admins saving at once get consecutive versions.
        list(RulePack.objects.select_for_update().filter(active=True))
        version = RulePack.objects.create(
            version=_next_version(), body=body, note=printable(note, 200), created_by=actor.user, active=False
        )
        if activate:
            RulePack.objects.filter(active=True).update(active=False)
            version.active = True
            version.save(update_fields=["active"])
        record(actor, "change_rule_pack", "rule_pack", str(version.version), detail=version.note)
    return version


def printable(text: str, limit: int) -> str:
    """Free text as stored: control characters (a NUL byte PostgreSQL refuses, terminal escapes) dropped."""
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")[:limit]


def load(pack: RulePack) -> Pack:
    return parse_pack(pack.body)


def rule_titles() -> dict[str, str]:
    """Every rule's title in any version of the pack (the newest version's words win), the default
    pack's included: figures about old warnings name their rules too."""
    titles = {r.id: r.title for r in _parsed(default_pack_text()).rules}
    for body in RulePack.objects.order_by("version").values_list("body", flat=True):
        titles.update({r.id: r.title for r in _parsed(body).rules})
    return titles


@functools.lru_cache(maxsize=32)
def _parsed(body: str) -> Pack:
    return parse_pack(body)


# -- runs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    household_id: str
    region_code: str
    id_number: str
    rule_id: str
    level: str
    score: Decimal
    explanation: str
    values: dict[str, Any]
    evidence: list[dict[str, Any]]
    fingerprint: str


def screen(
    *,
    as_of: dt.date | None = None,
    engine: str | None = None,
    dry_run: bool = False,
    pack: RulePack | None = None,
    actor: Actor | None = None,
    started_by: str = "",
    progress: Callable[[str, int, int], None] | None = None,
    job_id: int | None = None,
) -> Run:
    """Run a rule pack over the registry and every landed batch, as of a date.

    A live run first snapshots the registry again if it changed since the newest snapshot, keeps new
    warnings as open (the leads of data comparison), suppresses repeats, and replaces every household's
    persisted facts with the ones it computed. A dry run reads the newest snapshot (taking one only when
    there is none), keeps every hit as a dry-run warning for comparison and changes nothing else.
    """

    if actor is not None and dry_run:
        require_rule_admin(actor)  # a backtest is part of tuning the rules
    elif actor is not None:
        _require_screening(actor)
    as_of, engine = checked_request(as_of, engine)
    recover_stale_runs()
    pack = pack or active_pack()
    try:
        rules = load(pack)
    except PackError as error:  # e.g. a version saved before a feature it names was renamed
        raise ScreeningError(f"规则包第 {pack.version} 版无法使用：{error}") from None
    # The linkage app first: feed rows quarantined for a mistyped ID land again under the person found,
    # and hotline callers are resolved (ID, name, phone, place) so repeat_hotline counts them.
    # A dry run changes nothing: it reads what the last live run (or `safetynet linkage …`) left.
    if not dry_run:
        linkage.recover_quarantined_ids()
        linkage.resolve_hotline()
    if not registry.has_households():
        raise ScreeningError("登记库中还没有家庭：请先运行 safetynet registry import 导入名册")
    if not dry_run or not lake.has_snapshot():
        lake.fresh_snapshot(registry.snapshot_tables(), registry.VERSION_SQL)
    inputs = lake.current_inputs()
    inputs.feeds[linkage.RESOLVED_SOURCE], inputs.base[linkage.RESOLVED_SOURCE] = linkage.resolved_folders()
    run = Run.objects.create(
        worker=worker_id(),
        pack=pack,
        engine=engine,
        as_of=as_of,
        dry_run=dry_run,
        started_by=(actor.user.get_username() if actor else started_by)[:150],
        snapshot_id=inputs.snapshot_id,
        input_batches=inputs.batch_ids,
        job_id=job_id,
    )
    try:
        runner = get_engine(engine)
        try:
            runner.register_lake(inputs)
            plan = Plan(rules, as_of)
            result = plan.run(runner, progress)
            households, without_standard = plan.summary(runner)
            facts = None if dry_run else plan.facts(runner, registry.FACT_COLUMNS)
        finally:
            runner.close()
        titles = {r.id: r.title for r in rules.rules}
        hits = [
            hit for r in result.results for hit in _hits(r.rule, r.rows, rules, inputs.snapshot_id, titles)
        ]
        if progress:
            steps = len(result.timings)
            progress("store", steps, steps + 1)
        with transaction.atomic():
            counts = _store(run, hits, rules, as_of)
            if facts is not None:
                registry.replace_facts(run.pk, as_of, run.started_at, facts)
            run.households = households
            if without_standard:
                run.notes = [
                    f"{without_standard} 户没有 {as_of.year} 年的当地低保标准，低收入相关规则对其不适用"
                ]
            run.counts = counts
            run.timings = result.timings
            run.status = Run.Status.DONE
            run.finished_at = timezone.now()
            run.save()
            if actor is not None:
                record(
                    actor, "screen", "run", str(run.pk), detail=f"{engine} as_of={as_of} dry_run={dry_run}"
                )
    except Exception as error:
        Run.objects.filter(pk=run.pk).update(
            status=Run.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:4000],
        )
        raise
    if not dry_run:
        run_finished.send(sender=Run, run=run)
    return run


def checked_request(as_of: dt.date | None, engine: str | None) -> tuple[dt.date, str]:
    """The as-of date and engine of a run, or the reason it cannot be run (before anything is queued)."""
    from django.conf import settings

    as_of = as_of or timezone.localdate()
    engine = engine or settings.SAFETYNET_SCREENING_ENGINE
    if engine not in ENGINES:
        raise ScreeningError(f"未知的引擎 {engine}：可选 {', '.join(ENGINES)}")
    if as_of > timezone.localdate():
        raise ScreeningError(f"比对日期 {as_of} 晚于今天")
    if as_of < EARLIEST_AS_OF:
        raise ScreeningError(f"比对日期 {as_of} 早于 {EARLIEST_AS_OF}：没有那么早的数据")
    if engine == "spark" and importlib.util.find_spec("pyspark") is None:
        raise ScreeningError("本机未安装 Spark 引擎（pip install '.[spark]'），请改用 duckdb")
    return as_of, engine


def start_run(actor: Actor, as_of: dt.date | None = None, engine: str | None = None) -> Job:
    """A live run on the worker. One at a time: a second click finds the run already going."""
    _require_screening(actor)
    as_of, engine = checked_request(as_of, engine)
    going = Job.objects.filter(kind="screening.run", status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
    if going is not None:
        return going
    return jobs.submit("screening.run", {"as_of": as_of.isoformat(), "engine": engine}, actor=actor)


def start_backtest(actor: Actor, version: RulePack, base: Run) -> Job:
    """Dry-run a pack version on the worker, as of a live run's date, to compare with that run."""
    require_rule_admin(actor)
    return jobs.submit("screening.backtest", {"version": version.version, "base": base.pk}, actor=actor)


EARLIEST_AS_OF = dt.date(1950, 1, 1)  # windows reach back years; nothing in a registry is older


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def recover_stale_runs() -> list[int]:
    """Runs left "running" by a process that is gone (killed mid-run) are marked failed, so no page
    waits for them forever. A run on another host is trusted for a day."""
    from safetynet.processes import process_alive

    stale = []
    day_ago = timezone.now() - dt.timedelta(days=1)
    for run in Run.objects.filter(status=Run.Status.RUNNING):
        host, _, pid = run.worker.partition(":")
        if (run.worker and not process_alive(host, pid)) or run.started_at < day_ago:
            stale.append(run.pk)
    if stale:
        Run.objects.filter(pk__in=stale, status=Run.Status.RUNNING).update(
            status=Run.Status.FAILED, finished_at=timezone.now(), error="运行中断（进程已退出），未产生结果"
        )
    return stale


def _require_screening(actor: Actor) -> None:
    require(actor, Cap.RUN_SCREENING)


def _hits(rule, rows, pack: Pack, snapshot_id: int, titles: dict[str, str]) -> Iterable[Hit]:  # type: ignore[no-untyped-def]
    used = sorted(rule.features_used())
    weight = Decimal(str(rule.weight))
    rows = rows.to_pylist()
    # The lake holds pseudonyms: a warning names the person by their ID number again.
    for row, id_number in zip(rows, pseudonyms.reveal_ids([r["id_number"] for r in rows]), strict=True):
        row["id_number"] = id_number
    for row in rows:
        values = {name: explain.json_value(feature(name).kind, row[value_column(name)]) for name in used}  # type: ignore[union-attr]
        for name in used:
            if feature(name).kind == REFS and values[name]:  # type: ignore[union-attr]
                values[name] = explain.revealed_refs(values[name])
        refs = [ref for name in rule.evidence for ref in (values.get(name) or [])]
        level = row["level"]
        yield Hit(
            household_id=row["household_id"],
            region_code=row["region_code"],
            id_number=row["id_number"],
            rule_id=rule.id,
            level=level,
            score=(weight * LEVEL_FACTOR[level]).quantize(Decimal("0.01")),
            explanation=explain.render(rule, values, pack.windows, titles),
            values=values,
            evidence=explain.evidence(refs, snapshot_id, row["household_id"]),
            fingerprint=explain.fingerprint(rule.id, row["household_id"], row["id_number"], refs),
        )


def _store(run: Run, hits: list[Hit], pack: Pack, as_of: dt.date) -> dict[str, dict[str, int]]:
    """Save a run's hits; in a live run, suppress those an open or recently unfounded warning covers."""
    counts: dict[str, dict[str, int]] = {
        r.id: {"hits": 0, "new": 0, "suppressed": 0} for r in pack.enabled_rules
    }
    # Runs take turns here, so two runs at once cannot both raise the same warning.
    list(RulePack.objects.select_for_update().filter(pk=run.pack_id))
    prior: dict[tuple[str, str], RiskWarning] = {}
    if not run.dry_run:
        since = as_of - dt.timedelta(days=pack.unfounded_days)
        standing = RiskWarning.objects.filter(
            models.Q(status=RiskWarning.Status.OPEN)
            | models.Q(status=RiskWarning.Status.UNFOUNDED, outcome_at__date__gte=since)
        ).only("id", "household_id", "rule_id", "fingerprint", "status")
        for w in standing.order_by("id").iterator(chunk_size=10_000):
            prior[(w.household_id, w.rule_id)] = w
    superseded: list[int] = []
    rows = []
    for hit in hits:
        counts[hit.rule_id]["hits"] += 1
        status, previous = RiskWarning.Status.DRY_RUN, None
        if not run.dry_run:
            previous = prior.get((hit.household_id, hit.rule_id))
            if previous is not None and previous.fingerprint == hit.fingerprint:
                status = RiskWarning.Status.SUPPRESSED
                counts[hit.rule_id]["suppressed"] += 1
            else:
                status = RiskWarning.Status.OPEN
                counts[hit.rule_id]["new"] += 1
                if previous is not None and previous.status == RiskWarning.Status.OPEN:
                    superseded.append(previous.pk)
        rows.append(
            RiskWarning(
                run=run,
                household_id=hit.household_id,
                region_code=hit.region_code,
                id_number=hit.id_number,
                rule_id=hit.rule_id,
                level=hit.level,
                score=hit.score,
                explanation=hit.explanation,
                values=hit.values,
                evidence=hit.evidence,
                fingerprint=hit.fingerprint,
                status=status,
                previous=previous,
            )
        )
    RiskWarning.objects.bulk_create(rows, batch_size=SAVE_BATCH)
    for start in range(0, len(superseded), SAVE_BATCH):
        RiskWarning.objects.filter(pk__in=superseded[start : start + SAVE_BATCH]).update(
            status=RiskWarning.Status.SUPERSEDED
        )
    return counts


# -- outcomes and comparison --------------------------------------------------------------------------


def record_verification(event: CaseEvent, **_: object) -> None:
    """A case's verification visit decides its household's open warnings: founded or unfounded, with the
    date (subscribed to `events.case_event`; this is what rule precision is counted from). A warning that
    joins a case after its visit takes the case's verdict when the case closes."""
    if event.kind == "verified":
        founded = bool(event.data.get("founded"))
    elif event.kind == "closed":
        founded = event.data.get("outcome") != "unfounded"
    else:
        return
    status = RiskWarning.Status.FOUNDED if founded else RiskWarning.Status.UNFOUNDED
    note = f"个案 #{event.case_id} 实地核实：{'存在困难' if founded else '未发现困难'}"
    RiskWarning.objects.filter(household_id=event.household_id, status=RiskWarning.Status.OPEN).update(
        status=status,
        outcome_at=event.at,
        outcome_by=event.by[:150],
        outcome_note=note,
        case_id=event.case_id,
    )


@dataclass(frozen=True)
class Verdicts:
    founded: int
    unfounded: int

    @property
    def verified(self) -> int:
        return self.founded + self.unfounded

    @property
    def percent(self) -> int:
        return round(100 * self.founded / self.verified) if self.verified else 0


def rule_precision() -> dict[str, Verdicts]:
    """Per rule, how many of its live warnings verification visits found founded and unfounded: the
    figure to tune a rule by (not personal data: counts only)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    verified = RiskWarning.objects.filter(
        status__in=[RiskWarning.Status.FOUNDED, RiskWarning.Status.UNFOUNDED]
    ).values("rule_id", "status")
    for row in verified.annotate(n=models.Count("id")).order_by():
        counts[row["rule_id"]][row["status"]] = row["n"]
    return {
        r: Verdicts(c[RiskWarning.Status.FOUNDED], c[RiskWarning.Status.UNFOUNDED]) for r, c in counts.items()
    }


def attach_case(warning_id: int, case_id: int) -> None:
    """The case a warning's lead landed in, so the warning page can link to it."""
    RiskWarning.objects.filter(pk=warning_id).update(case_id=case_id)


def open_warning_rules(household_id: str) -> set[str]:
    """The rules a household's open warnings name (for policy conditions). Unscoped: callers check."""
    return set(
        RiskWarning.objects.filter(household_id=household_id, status=RiskWarning.Status.OPEN).values_list(
            "rule_id", flat=True
        )
    )


@dataclass(frozen=True)
class RuleComparison:
    rule_id: str
    title: str
    base: int
    candidate: int
    added: int
    dropped: int
    founded: int  # of the candidate's hits, verified founded in any live run
    unfounded: int

    @property
    def precision(self) -> float | None:
        verified = self.founded + self.unfounded
        return self.founded / verified if verified else None


def compare_runs(base: Run, candidate: Run) -> list[RuleComparison]:
    """Per rule: what the candidate run adds and drops against the base, and its verified precision."""

    def pairs(run: Run) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for rule_id, household in run.warnings.values_list("rule_id", "household_id").iterator(
            chunk_size=20_000
        ):
            found[rule_id].add(household)
        return found

    a, b = pairs(base), pairs(candidate)
    verdicts: dict[tuple[str, str], str] = {}
    closed = RiskWarning.objects.filter(status__in=[RiskWarning.Status.FOUNDED, RiskWarning.Status.UNFOUNDED])
    for rule_id, household, status in closed.values_list("rule_id", "household_id", "status").iterator():
        verdicts[(rule_id, household)] = status
    titles = {r.id: r.title for p in (load(base.pack), load(candidate.pack)) for r in p.rules}
    result = []
    for rule_id in sorted(set(a) | set(b) | set(base.counts) | set(candidate.counts)):
        hits_a, hits_b = a.get(rule_id, set()), b.get(rule_id, set())
        outcome = Counter(verdicts.get((rule_id, h)) for h in hits_b)
        result.append(
            RuleComparison(
                rule_id,
                titles.get(rule_id, rule_id),
                len(hits_a),
                len(hits_b),
                len(hits_b - hits_a),
                len(hits_a - hits_b),
                outcome[RiskWarning.Status.FOUNDED],
                outcome[RiskWarning.Status.UNFOUNDED],
            )
        )
    return result


# -- reading ------------------------------------------------------------------------------------------


def require_reader(actor: Actor) -> PersonalDataScope:
    """Warnings name persons and their hardship: staff who work cases, within their region."""
    require(actor, Cap.READ_WARNINGS)
    return PersonalDataScope(actor)


def runs(actor: Actor, limit: int = 100) -> list[Run]:
    require_reader(actor)
    return list(Run.objects.select_related("pack")[:limit])


def get_run(actor: Actor, run_id: int) -> Run | None:
    require_reader(actor)
    return Run.objects.select_related("pack").filter(pk=run_id).first()


def run_breakdown(actor: Actor, run: Run) -> dict[str, Any]:
    """Counts of a run's warnings in the reader's region: by rule and level, and by township."""
    scope = require_reader(actor)
    warnings = scope.restrict(run.warnings.all(), "region_code")
    by_rule_level: dict[str, Counter[str]] = defaultdict(Counter)
    by_township: Counter[str] = Counter()
    for rule_id, level, region in warnings.values_list("rule_id", "level", "region_code").iterator():
        by_rule_level[rule_id][level] += 1
        by_township[region[:9] + "000"] += 1
    return {"by_rule_level": dict(by_rule_level), "by_township": dict(by_township)}


@dataclass(frozen=True)
class WarningFilters:
    run_id: int | None = None
    rule_id: str = ""
    level: str = ""
    status: str = ""
    region: str = ""  # a region code prefix inside the reader's scope
    narrow: ListQuery = EVERYTHING  # when the run that raised it started; a household, ID, phone or name

    def describe(self) -> str:
        """For the audit trail (an ID number or phone searched for, masked)."""
        plain = {k: v for k, v in self.__dict__.items() if k != "narrow"}
        return f"{json.dumps(plain, ensure_ascii=False)} {self.narrow.describe() or ''}".strip()


# Most urgent first: red, orange, yellow; within a level the highest score, then the newest.
URGENT_FIRST = (
    models.Case(
        *(models.When(level=level, then=models.Value(rank)) for level, rank in LEVEL_RANK.items()),
        default=models.Value(0),
    ).desc(),
    "-score",
    "-id",
)
# How the warnings list may be sorted: most urgent first (the default), or the newest run's first.
WARNING_ORDERS: dict[str, tuple[Any, ...]] = {"": URGENT_FIRST, "newest": ("-run_id", *URGENT_FIRST)}
WARNING_SORTS = [("", "最紧急在前"), ("newest", "最新比对在前")]
PAGE_SIZE = 50


def warning_page(actor: Actor, filters: WarningFilters, number: int = 1) -> Page[RiskWarning]:
    """A page of the warnings list (its paginator holds the true total), most urgent first, each row with
    the names of the person and the household head and the village (people, not codes); masked, audited."""
    scope = require_reader(actor)
    page = Paginator(
        _filtered(scope, filters).order_by(*filters.narrow.ordering(WARNING_ORDERS)), PAGE_SIZE
    ).get_page(number)
    scope.audit_read(
        "warning_list", "", region_code=scope.region_code,
        detail=f"第 {page.number}/{page.paginator.num_pages} 页，共 {page.paginator.count} 条 "
        f"{filters.describe()}"[:500],
    )  # fmt: skip
    found = list(page.object_list)
    _name_people(found)
    for w in found:
        _mask(scope, w)
    page.object_list = found
    return page


def _name_people(found: list[RiskWarning]) -> None:
    """Give each warning `person_name`, `head_name` and `place` (its village): people, not codes. Before
    masking, which hides the number the names are found by."""
    heads, names = registry.names_of([w.household_id for w in found], [w.id_number for w in found])
    places = regions.names([w.region_code for w in found])
    for w in found:
        w.person_name = names.get(w.id_number, "")  # type: ignore[attr-defined]
        w.head_name = heads.get(w.household_id, "")  # type: ignore[attr-defined]
        w.place = places.get(w.region_code, w.region_code)  # type: ignore[attr-defined]


def warnings(actor: Actor, filters: WarningFilters, limit: int = 200) -> list[RiskWarning]:
    """The warnings of the reader's region matching `filters`, most urgent first, masked by role, audited."""
    scope = require_reader(actor)
    found = list(_filtered(scope, filters).order_by(*filters.narrow.ordering(WARNING_ORDERS))[:limit])
    scope.audit_read("warning_list", "", region_code=scope.region_code, detail=filters.describe()[:500])
    for w in found:
        _mask(scope, w)
    return found


def _filtered(scope: PersonalDataScope, filters: WarningFilters) -> models.QuerySet[RiskWarning]:
    query = scope.restrict(RiskWarning.objects.select_related("run"), "region_code")
    if filters.run_id:
        query = query.filter(run_id=filters.run_id)
    else:
        query = query.exclude(status=RiskWarning.Status.DRY_RUN)
    if RULE_ID.match(filters.rule_id):
        query = query.filter(rule_id=filters.rule_id)
    if filters.level in LEVEL_RANK:
        query = query.filter(level=filters.level)
    if filters.status in RiskWarning.Status.values:
        query = query.filter(status=filters.status)
    if filters.region.isdigit():
        query = query.filter(region_code__startswith=filters.region)
    query = filters.narrow.narrow(query, "region_code", "run__started_at")
    if filters.narrow.q:
        query = query.filter(registry.households_matching(scope, filters.narrow.q))
    return query


def get_warning(actor: Actor, warning_id: int) -> RiskWarning | None:
    scope = require_reader(actor)
    warning = (
        scope.restrict(RiskWarning.objects.select_related("run", "run__pack"), "region_code")
        .filter(pk=warning_id)
        .first()
    )
    if warning is not None:
        scope.audit_read("warning", str(warning.pk), region_code=warning.region_code)
        _name_people([warning])
        _mask(scope, warning)
    return warning


def _mask(scope: PersonalDataScope, warning: RiskWarning) -> None:
    """Mask the ID numbers a warning carries (the person, and evidence keyed by ID) for masked roles."""
    warning.id_number = scope.mask_id(warning.id_number)
    if warning.id_number and scope.full_identifiers:
        return

    def masked(value: Any) -> Any:
        if isinstance(value, str):
            return lake.mask_text(value)
        if isinstance(value, list):
            return [masked(v) for v in value]
        return value

    warning.evidence = [{**e, "key": masked(e.get("key"))} for e in warning.evidence]
    warning.values = {k: masked(v) for k, v in warning.values.items()}
    warning.explanation = lake.mask_text(warning.explanation)


def household_level(levels: Iterable[str]) -> str | None:
    """The highest level among a household's rules, raised one step at three or more rules."""
    ranked = sorted((LEVEL_RANK[x] for x in levels), reverse=True)
    if not ranked:
        return None
    top = ranked[0] + (1 if len(ranked) >= 3 else 0)
    return {1: "yellow", 2: "orange"}.get(top, "red")


def household_levels(warnings: Iterable[RiskWarning]) -> dict[str, str]:
    """Household level for each household among `warnings` (their own open warnings decide)."""
    by_household: dict[str, list[str]] = defaultdict(list)
    for w in warnings:
        by_household[w.household_id].append(w.level)
    return {h: household_level(levels) or "" for h, levels in by_household.items()}


def export_for(actor: Actor, filters: WarningFilters, out: Any) -> int:
    """The warnings list a reader sees, as the contract's CSV (UTF-8 with BOM) written to `out`: scoped to
    the reader's region, ID numbers masked as the role sees them, audited. Returns the row count."""
    require(actor, Cap.EXPORT_WARNINGS)
    found = warnings(actor, filters, limit=EXPORT_LIMIT)  # masked for the reader by `warnings`
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for w in found:
        writer.writerow(_export_row(w))
    record(
        actor,
        "export",
        "warning_list",
        "",
        actor.user.region_id or "",
        f"{len(found)} 条 {filters.describe()}"[:500],
    )
    return len(found)


EXPORT_LIMIT = 100_000
SHEET_HEADERS = [
    "预警编号",
    "等级",
    "规则",
    "户主",
    "涉及人员",
    "身份证号",
    "村（社区）",
    "说明",
    "状态",
    "比对日期",
]


def sheet_rows_for(actor: Actor, filters: WarningFilters) -> Iterator[list[Any]]:
    """The warnings list as staff read it, for a workbook: most urgent first, people and places by name,
    rules and levels in words, ID numbers masked as the role sees them; read a chunk at a time (memory
    stays flat however long the list), at most EXPORT_LIMIT rows, the export audited with its count."""
    require(actor, Cap.EXPORT_WARNINGS)  # here, not in the generator: refused before a byte is written
    scope = require_reader(actor)
    titles = {r.id: r.title for r in load(active_pack()).rules}
    return _all_sheet_rows(actor, scope, filters, titles)


def _all_sheet_rows(
    actor: Actor, scope: PersonalDataScope, filters: WarningFilters, titles: dict[str, str]
) -> Iterator[list[Any]]:
    query = (
        _filtered(scope, filters)
        .select_related("run")
        .defer("values", "evidence", "fingerprint", "outcome_note")  # not in the sheet: not decoded
        .order_by(*filters.narrow.ordering(WARNING_ORDERS))[:EXPORT_LIMIT]
    )
    count = [0]
    yield from sheet_in_chunks(
        query.iterator(chunk_size=SHEET_CHUNK), lambda chunk: _sheet_rows(scope, chunk, titles), count
    )
    record(
        actor,
        "export",
        "warning_list",
        "",
        actor.user.region_id or "",
        f"{count[0]} 条 xlsx {filters.describe()}"[:500],
    )


def _sheet_rows(
    scope: PersonalDataScope, chunk: list[RiskWarning], titles: dict[str, str]
) -> Iterator[list[Any]]:
    _name_people(chunk)
    statuses = {value: str(label) for value, label in RiskWarning.Status.choices}  # translated once
    for w in chunk:
        w.id_number = scope.mask_id(w.id_number)  # the sheet has no evidence: only the number to mask
        yield [
            w.pk, LEVEL_LABELS.get(w.level, w.level), titles.get(w.rule_id, w.rule_id),
            w.head_name, w.person_name, w.id_number, w.place,  # type: ignore[attr-defined]
            lake.mask_text(w.explanation) if not scope.full_identifiers else w.explanation,
            statuses.get(w.status, w.status), w.run.as_of,
        ]  # fmt: skip


def _export_row(w: RiskWarning) -> list[Any]:
    return [
        w.pk,
        w.run_id,
        w.household_id,
        w.id_number,
        w.rule_id,
        w.level,
        w.score,
        excel_safe(w.explanation),
        json.dumps(w.evidence, ensure_ascii=False),
        w.status,
    ]


def export_warnings(path: Path, run_id: int | None = None) -> int:
    """Write the contract's warnings CSV (UTF-8 with BOM for Excel); returns the row count.

    A command-line export for the county's own use: full ID numbers, like the registry files it came from.
    """
    query = RiskWarning.objects.order_by("id")
    if run_id is not None:
        if not Run.objects.filter(pk=run_id).exists():
            raise ScreeningError(f"没有编号为 {run_id} 的比对运行")
        query = query.filter(run_id=run_id)
    else:
        query = query.exclude(status=RiskWarning.Status.DRY_RUN)
    rows = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EXPORT_COLUMNS)
        for w in query.iterator(chunk_size=10_000):
            writer.writerow(_export_row(w))
            rows += 1
    return rows


# -- editing ------------------------------------------------------------------------------------------


@dataclass
class RuleEdit:
    enabled: bool
    level: str
    condition: str
    params: dict[str, str]  # as typed in the form


def apply_edits(pack: Pack, windows: dict[str, str], edits: dict[str, RuleEdit]) -> Pack:
    """A copy of `pack` with the editor's changes, validated whole; PackError lists every problem."""
    problems: list[str] = []

    def number(text: str, where: str) -> float | None:
        try:
            value = float(text)
        except ValueError:
            problems.append(f"{where} 应为数字，而不是 {text[:20]!r}")
            return None
        if value != value or abs(value) > 1e12:  # NaN or absurd
            problems.append(f"{where} 超出范围")
            return None
        return int(value) if value.is_integer() else value

    data = pack.to_dict()
    for name, text in windows.items():
        if name in data["windows"]:
            value = number(text, f"时间窗口 {name}")
            if value is not None:
                data["windows"][name] = value
    for raw in data["rules"]:
        edit = edits.get(raw["id"])
        if edit is None:
            continue
        raw["enabled"] = edit.enabled
        raw["level"] = edit.level
        raw["condition"] = edit.condition
        for name, text in edit.params.items():
            if name in raw.get("params", {}):
                value = number(text, f"规则 {raw['id']} 的参数 {name}")
                if value is not None:
                    raw["params"][name] = value
    try:
        import yaml

        edited = parse_pack(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    except PackError as error:
        problems.extend(error.problems)
        edited = None
    if problems or edited is None:
        raise PackError(problems)
    return edited
