"""Keeping the tallies: a case's counts derived again on each of its events, the difference applied.

`refresh` is the one path: the workflow's events call it for one case (inside the step's transaction, so a
step and its counts commit together or not at all); `rebuild` calls it for every case, a chunk at a time,
after an upgrade that changes what is counted or to check the running tallies (it must find no change).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from safetynet import events
from safetynet.cases.actions import deadline_days
from safetynet.cases.models import Case, Referral, Step
from safetynet.leads.models import Lead
from safetynet.regions.models import PREFIX_LENGTH
from safetynet.reports import facts
from safetynet.reports.models import CaseFigures, PendingCase, Tally

Key = tuple[str, str, str, str]  # region (any level), month, measure, key
CHUNK = 2000  # cases read per query
REBUILD_CHUNK = 20_000  # cases per transaction of a rebuild: a region's cells are written once per chunk
# Adds to a cell, creating it at the first count (the same statement on SQLite and PostgreSQL).
UPSERT = (
    'INSERT INTO "reports_tally" ("region_code", "month", "measure", "key", "n") VALUES (%s, %s, %s, %s, %s) '
    'ON CONFLICT ("region_code", "month", "measure", "key") DO UPDATE SET "n" = "reports_tally"."n" + excluded."n"'
)


def _parts(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@lru_cache(maxsize=65536)
def ancestors(code: str) -> list[str]:
    """The region and every region above it, as 12-digit codes (a village's township, county …)."""
    return sorted({code[:n].ljust(12, "0") for n in PREFIX_LENGTH.values()})


def on_case_event(event: events.CaseEvent, **_: object) -> None:
    refresh([event.case_id])
    PendingCase.objects.filter(case_id=event.case_id).delete()


def on_lead_matched(event: events.LeadMatched, **_: object) -> None:
    """A lead landed in a case: the case is marked, one cheap write in the lead's transaction; a run's
    thousands of leads are then counted together (`catch_up`)."""
    case_id = Lead.objects.filter(pk=event.lead_id).values_list("case_id", flat=True).first()
    if case_id is not None:
        PendingCase.objects.get_or_create(case_id=case_id)


def on_run_finished(**_: object) -> None:
    catch_up()


def catch_up() -> int:
    """Count again every case marked since; called after a screening run and before figures are read.
    Returns how many cases were counted."""
    done = 0
    while True:
        ids = list(PendingCase.objects.order_by("case_id").values_list("case_id", flat=True)[:REBUILD_CHUNK])
        if not ids:
            return done
        with transaction.atomic():
            _refresh(ids)
            for part in _parts(ids):
                PendingCase.objects.filter(case_id__in=part).delete()
        done += len(ids)



def refresh(case_ids: Iterable[int]) -> int:
    """Derive the cases' counts again and apply what changed; returns how many tally cells moved."""
    return _refresh(case_ids)[0]


def _refresh(case_ids: Iterable[int]) -> tuple[int, int]:
    """(tally cells moved, cases whose counts changed)."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0, 0
    with transaction.atomic():
        # The cases' rows locked first, as the workflow locks them: a rebuild and a step never interleave.
        derived: dict[int, Counter[facts.Contribution]] = {}
        old: dict[int, CaseFigures] = {}
        for part in _parts(ids):
            list(Case.objects.select_for_update().filter(pk__in=part).order_by("id").values_list("id", flat=True))
            derived.update(_derive(part))
            old.update((f.case_id, f) for f in CaseFigures.objects.select_for_update().filter(case_id__in=part))
        delta: Counter[Key] = Counter()
        changed, created = [], []
        for case_id in ids:
            new = derived.get(case_id, Counter())  # a case that no longer exists counts for nothing
            before = (
                Counter({tuple(c[:4]): c[4] for c in old[case_id].contributions})
                if case_id in old
                else Counter()
            )
            if new == before:
                continue
            for item, n in new.items():
                delta[item] += n
            for item, n in before.items():
                delta[item] -= n
            stored = sorted([*item, n] for item, n in new.items())
            if case_id in old:
                old[case_id].contributions = stored
                changed.append(old[case_id])
            else:
                created.append(CaseFigures(case_id=case_id, contributions=stored))
        CaseFigures.objects.bulk_update(changed, ["contributions", "updated_at"], batch_size=500)
        CaseFigures.objects.bulk_create(created, batch_size=500)
        return apply(delta), len(changed) + len(created)


def apply(delta: Counter[Any]) -> int:
    """Add each village's difference to its row and to the rows of every region above it."""
    rolled: Counter[Key] = Counter()
    for (village, month, measure, key), n in delta.items():
        if n:
            for region in ancestors(village):
                rolled[(region, month, measure, key)] += n
    rows = sorted((*item, n) for item, n in rolled.items() if n)  # one order everywhere: no deadlocks
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT, rows)
    return len(rows)


def on_registry_imported(**_: object) -> None:
    recount_registry()


def recount_registry() -> int:
    """The households whose dibao or tekun the registry's own records started, per village and month:
    counted again wholesale after each registry import (the grants cases make are counted from their
    decisions instead). Returns how many village-months hold any."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from safetynet.registry.models import COVERING_PROGRAMS, Assistance

    rows = (
        Assistance.objects.filter(program__in=COVERING_PROGRAMS, reference="")
        .annotate(month=TruncMonth("start_date"))
        .values_list("household__region_code", "month")
        .annotate(n=Count("household_id", distinct=True))
        .order_by()
    )
    delta: Counter[Key] = Counter()
    for village, month, n in rows:
        delta[(village, month.isoformat()[:10], facts.REGISTRY_COVERED, "")] += n
    with transaction.atomic():
        Tally.objects.filter(measure=facts.REGISTRY_COVERED).delete()
        apply(delta)
    return len(delta)


def rebuild(progress: Any = None) -> int:
    """Count every case again from its steps and leads. Returns how many cases' counts changed: 0 when
    the running tallies were right."""
    moved_cases = 0
    # A region's cases together: a chunk then touches the cells of a few townships, not of every one.
    ids = Case.objects.order_by("region_code", "id").values_list("id", flat=True)
    gone = set(CaseFigures.objects.values_list("case_id", flat=True)) - set(ids)
    batch: list[int] = []
    for case_id in [*ids.iterator(chunk_size=CHUNK), *sorted(gone)]:
        batch.append(case_id)
        if len(batch) == REBUILD_CHUNK:
            moved_cases += _changed(batch)
            if progress:
                progress(len(batch))
            batch = []
    moved_cases += _changed(batch)
    CaseFigures.objects.filter(case_id__in=gone).delete()
    PendingCase.objects.all().delete()  # every case was counted
    recount_registry()
    return moved_cases


def _changed(ids: list[int]) -> int:
    return _refresh(ids)[1]


def _derive(ids: list[int]) -> Iterator[tuple[int, Counter[facts.Contribution]]]:
    """The counts of each case, read with three queries for the whole chunk."""
    local = timezone.localtime
    steps: dict[int, list[facts.StepRow]] = defaultdict(list)
    for case_id, action, at, data in (
        Step.objects.filter(case_id__in=ids).order_by("id").values_list("case_id", "action", "at", "data")
    ):
        steps[case_id].append(facts.StepRow(action, local(at).date(), data or {}))
    leads: dict[int, list[facts.LeadRow]] = defaultdict(list)
    for case_id, channel, at, details in (
        Lead.objects.filter(case_id__in=ids)
        .order_by("id")
        .values_list("case_id", "channel", "created_at", "details")
    ):
        warning = channel == "warning"
        leads[case_id].append(
            facts.LeadRow(
                channel,
                local(at).date(),
                str(details.get("rule_id", "")) if warning else "",
                str(details.get("level", "")) if warning else "",
            )
        )
    limits: dict[str, int] = {}

    def paperwork_days(county: str) -> int:  # a county's own limit, read once per chunk
        if county not in limits:
            limits[county] = deadline_days(county, "grant_first_paperwork")
        return limits[county]

    answers: dict[int, list[dt.date]] = defaultdict(list)
    waiting = Referral.objects.filter(case_id__in=ids, answered_at__isnull=True)
    for case_id, answer_by in waiting.values_list("case_id", "due_on"):
        answers[case_id].append(answer_by)
    cases = Case.objects.filter(pk__in=ids).values_list(
        "id", "region_code", "opened_at", "status", "due_on", "paperwork_due"
    )
    for case_id, region, opened_at, status, due_on, paperwork_due in cases:
        is_open = status == Case.Status.OPEN
        deadlines = tuple(d for d in (due_on, paperwork_due, *answers[case_id]) if d) if is_open else ()
        row = facts.CaseRow(case_id, region, local(opened_at).date(), is_open, deadlines)
        yield case_id, facts.contributions(row, steps[case_id], leads[case_id], paperwork_days)
