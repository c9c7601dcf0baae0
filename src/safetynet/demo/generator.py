"""Generate a demo county: registry files, departmental feeds with noise, and the ground truth, streamed."""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from safetynet.demo import leads, near_misses
from safetynet.demo.context import Calendar, Context, Rates, Rng, Standard, standard_for
from safetynet.demo.feeds import DisasterPlan, add_application, add_events, plan_disasters
from safetynet.demo.formats import (
    BOM_FILES,
    FEED_COLUMNS,
    GBK_FILES,
    REGISTRY_COLUMNS,
    ChunkWriters,
    assemble,
)
from safetynet.demo.households import Household, compose, covered, grant_assistance
from safetynet.demo.ids import IdAllocator, birthplace_codes, divisions
from safetynet.demo.regions import DEFAULT_COUNTY, County, Township, build_county
from safetynet.demo.rows import Noise, write_household, write_outsiders
from safetynet.demo.rules import RULE_IDS, Finding, evaluate

__all__ = [
    "DEFAULT_COUNTY",
    "FEED_COLUMNS",
    "GBK_FILES",
    "REGISTRY_COLUMNS",
    "RULE_IDS",
    "GenerationSummary",
    "generate",
]

# Origins of people from outside the city (in-laws, callers, migrants in the feeds); codes without a
# history back to 1900 in python-stdnum's table are skipped.
OUTSIDER_COUNTIES = ["130534", "131126", "410926", "410927", "371522", "371525"]

PROGRESS_EVERY = 10_000
PARALLEL_FROM = 50_000  # below this, starting worker processes costs more than it saves


@dataclass(slots=True)
class GenerationSummary:
    out_dir: Path
    seed: int
    as_of: date
    county_code: str
    county_name: str
    persons: int
    households: int
    files: dict[str, int] = field(default_factory=dict)  # data rows per file (header excluded)
    ground_truth: dict[str, int] = field(default_factory=dict)  # rows per event (rule_id)


@dataclass(slots=True)
class _Plan:
    """Everything a township needs to be generated on its own, in any process, identically."""

    seed: int
    as_of: date
    county: County
    disasters: DisasterPlan
    rates: Rates
    origins: list[str]
    neighbour_origins: list[int]
    outsider_origins: list[int]
    quotas: dict[str, int]  # persons per village code
    chunk_dir: Path


@dataclass(slots=True)
class _ChunkResult:
    households: int = 0
    ground_truth: dict[str, int] = field(default_factory=dict)


def _origins(county_code: str, year: int) -> tuple[list[str], list[str]]:
    """Same-city counties whose codes cover every birth year (neighbours), and a few from elsewhere."""

    def full_history(code: str) -> bool:
        try:
            birthplace_codes(code, year)
        except ValueError:
            return False
        return True

    prefix = county_code[:4]
    neighbours = sorted(
        code
        for code in divisions()
        if code.startswith(prefix) and code != county_code and int(code[4:]) >= 21 and full_history(code)
    )
    outsiders = [c for c in OUTSIDER_COUNTIES if c != county_code and c not in neighbours and full_history(c)]
    return neighbours or [county_code], outsiders or [county_code]


def _quotas(persons: int, county: County) -> dict[str, int]:
    """Persons per village in proportion to village weights, summing exactly to `persons`."""
    villages = county.villages
    total = sum(v.weight for v in villages)
    quotas: dict[str, int] = {}
    running, assigned = 0.0, 0
    for village in villages:
        running += village.weight
        target = round(persons * running / total)
        quotas[village.code] = target - assigned
        assigned = target
    return quotas


def generate(
    out_dir: Path,
    persons: int,
    seed: int,
    as_of: date | None = None,
    county_code: str = DEFAULT_COUNTY,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> GenerationSummary:
    """Write a demo county of `persons` people into `out_dir`; same seed and as_of give identical bytes.

    Townships are generated independently from seeds derived from `seed`, in `workers` processes
    (default: the CPU count for large counties, 1 for small ones); the output does not depend on it.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    as_of = as_of or date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = Rng(seed)
    county = build_county(rng, persons, county_code, as_of.year)
    neighbours, outsiders = _origins(county_code, as_of.year)
    origins = [county_code, *neighbours, *outsiders]
    calendar = Calendar.around(as_of)
    context = _context(seed, as_of, origins, len(neighbours), Rates(), county, 0, "000")
    plan = _Plan(
        seed=seed,
        as_of=as_of,
        county=county,
        disasters=plan_disasters(context, county),
        rates=Rates().scaled(round(persons / 2.9)),
        origins=origins,
        neighbour_origins=list(range(1, 1 + len(neighbours))),
        outsider_origins=list(range(1 + len(neighbours), len(origins))),
        quotas=_quotas(persons, county),
        chunk_dir=out_dir / ".chunks",
    )
    townships = len(county.townships)
    if workers is None:
        workers = 1 if persons < PARALLEL_FROM else min(os.cpu_count() or 1, townships)
    summary = GenerationSummary(out_dir, seed, as_of, county_code, county.name, persons, 0)
    shutil.rmtree(plan.chunk_dir, ignore_errors=True)
    try:
        _write_county_rows(plan, calendar)
        if workers <= 1:
            written = [0]

            def report(done: int) -> None:
                written[0] += done
                if progress is not None:
                    progress(written[0])

            results = [_generate_township(plan, index, report) for index in range(townships)]
        else:
            results = _run_parallel(plan, workers, progress)
        chunks = [plan.chunk_dir / "county", *(plan.chunk_dir / f"{i:02d}" for i in range(townships))]
        summary.files = assemble(out_dir, chunks)
    finally:
        shutil.rmtree(plan.chunk_dir, ignore_errors=True)
    if progress is not None:
        progress(persons)

    counts: dict[str, int] = {}
    for result in results:
        summary.households += result.households
        for rule_id, count in result.ground_truth.items():
            counts[rule_id] = counts.get(rule_id, 0) + count
    summary.ground_truth = {rule: counts[rule] for rule in RULE_IDS if rule in counts}
    summary.files[leads.LEADS] = leads.write_labelled_leads(
        out_dir, seed, as_of, min(2000, max(20, persons // 25))
    )
    _write_readme(summary, county, {urban: standard_for(as_of.year, urban) for urban in (False, True)})
    return summary


def _context(
    seed: int,
    as_of: date,
    origins: list[str],
    n_neighbours: int,
    rates: Rates,
    county: County,
    partition: int,
    prefix: str,
) -> Context:
    calendar = Calendar.around(as_of)
    return Context(
        rng=Rng(f"{seed}:{prefix}"),
        calendar=calendar,
        allocator=IdAllocator(
            origins, calendar.first, calendar.today, as_of.year, partition, len(county.townships)
        ),
        standards={urban: standard_for(as_of.year, urban) for urban in (False, True)},
        rates=rates,
        neighbour_origins=list(range(1, 1 + n_neighbours)),
        outsider_origins=list(range(1 + n_neighbours, len(origins))),
        county_name=county.name,
        prefix=prefix,
    )


def _write_county_rows(plan: _Plan, calendar: Calendar) -> None:
    """Rows that belong to no township: the region tree, the standards and village-wide disasters."""
    writers = ChunkWriters(plan.chunk_dir / "county")
    rows = writers.rows
    try:
        rows["regions.csv"].writerows(plan.county.region_rows())
        for year in (plan.as_of.year - 1, plan.as_of.year):
            for urban in (False, True):
                standard = standard_for(year, urban)
                rows["standards.csv"].writerow(
                    [
                        plan.county.code,
                        year,
                        "urban" if urban else "rural",
                        standard.dibao,
                        standard.tekun,
                        standard.edge_multiplier,
                        standard.rigid_expense_ratio,
                    ]
                )
        for hits in plan.disasters.region_hits.values():
            for hit in hits:
                rows["disasters.csv"].writerow(
                    [
                        hit.event.event_id,
                        hit.event.name,
                        "",
                        hit.region_code,
                        calendar.iso(hit.event.day),
                        hit.loss,
                        "true" if hit.house_damaged else "false",
                    ]
                )
    finally:
        writers.close()


_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def _township_in_worker(plan: _Plan, index: int) -> _ChunkResult:
    return _generate_township(plan, index, _progress_queue.put)


def _run_parallel(plan: _Plan, workers: int, progress: Callable[[int], None] | None) -> list[_ChunkResult]:
    methods = multiprocessing.get_all_start_methods()
    mp = multiprocessing.get_context("fork" if "fork" in methods else None)
    progress_queue = mp.Queue()
    townships = plan.county.townships
    # Largest townships first, so no worker is left with a big one at the end.
    order = sorted(
        range(len(townships)), key=lambda i: -sum(plan.quotas[v.code] for v in townships[i].villages)
    )
    executor = ProcessPoolExecutor(
        workers, mp_context=mp, initializer=_init_worker, initargs=(progress_queue,)
    )
    try:
        futures = {index: executor.submit(_township_in_worker, plan, index) for index in order}
        written = 0
        while True:
            pending = not all(future.done() for future in futures.values())
            try:
                while True:
                    written += progress_queue.get(timeout=0.2 if pending else 0.01)
                    if progress is not None:
                        progress(written)
            except queue.Empty:
                pass
            if not pending:
                return [futures[index].result() for index in range(len(townships))]
    finally:
        # On an error (or Ctrl-C in the progress bar) do not start the townships still queued.
        executor.shutdown(cancel_futures=True)


def _generate_township(plan: _Plan, index: int, report: Callable[[int], None]) -> _ChunkResult:
    """Generate every household of one township into its own chunk files."""
    township: Township = plan.county.townships[index]
    ctx = _context(
        plan.seed,
        plan.as_of,
        plan.origins,
        len(plan.neighbour_origins),
        plan.rates,
        plan.county,
        index,
        township.code[6:9],
    )
    noise = Noise(Rng(f"{plan.seed}:{ctx.prefix}:noise"))
    writers = ChunkWriters(plan.chunk_dir / f"{index:02d}")
    result = _ChunkResult()
    unreported = 0
    try:
        for village in township.villages:
            quota = plan.quotas[village.code]
            while quota > 0:
                household = compose(ctx, village, quota)
                quota -= len(household.members)
                findings = _household(ctx, plan.disasters, household, writers, noise)
                result.households += 1
                for finding in findings:
                    result.ground_truth[finding.rule_id] = result.ground_truth.get(finding.rule_id, 0) + 1
                write_outsiders(writers, ctx, noise)
                unreported += len(household.members)
                if unreported >= PROGRESS_EVERY:
                    report(unreported)
                    unreported = 0
    finally:
        writers.close()
    if unreported:
        report(unreported)
    return result


def _household(
    ctx: Context, disasters: DisasterPlan, household: Household, writers: ChunkWriters, noise: Noise
) -> list[Finding]:
    grant_assistance(ctx, household)
    events = add_events(ctx, disasters, household)
    near_miss = near_misses.plant(ctx, household, events)
    findings = evaluate(ctx, household, events, disasters)
    hardship = [f for f in findings if f.rule_id not in ("repeat_hotline", "rejected_then_hardship")]
    refused = any(f.rule_id == "rejected_then_hardship" for f in findings)
    # People in hardship apply and are turned down: the case rejected_then_hardship looks for.
    if hardship and not refused and not covered(household) and ctx.rng.random() < ctx.rates.rejection:
        decision = "rejected" if ctx.rng.random() < 0.8 else "withdrawn"
        add_application(ctx, household, decision, ctx.calendar.ago(ctx.rng, 5, 350))
        findings = evaluate(ctx, household, events, disasters)
    write_household(writers, ctx, noise, household, events, findings)
    if near_miss and near_miss[0] not in {f.rule_id for f in findings}:
        writers.rows["near_misses.csv"].writerow([household.household_id, *near_miss])
    return findings


def _write_readme(summary: GenerationSummary, county: County, standards: dict[bool, Standard]) -> None:
    lines = [
        f"safetynet demo county: {county.province_name}{county.city_name}{county.name} ({summary.county_code})",
        f"seed={summary.seed} as_of={summary.as_of.isoformat()} persons={summary.persons} "
        f"households={summary.households}",
        f"townships={len(county.townships)} villages={len(county.villages)}",
        "",
        "Registry files (UTF-8, all rows valid; import with `safetynet registry import DIR`):",
        *(f"  {name}: {summary.files[name]} rows" for name in REGISTRY_COLUMNS),
        "",
        "Departmental feeds (ingest each with `safetynet ingest SOURCE FILE`):",
        *(
            f"  {source}.csv: {summary.files[source + '.csv']} rows"
            + (
                " [GBK]"
                if f"{source}.csv" in GBK_FILES
                else " [UTF-8 with BOM]"
                if f"{source}.csv" in BOM_FILES
                else ""
            )
            for source in FEED_COLUMNS
        ),
        "",
        "Encodings: "
        + ", ".join(GBK_FILES)
        + " are GBK (as old departmental systems export); "
        + ", ".join(BOM_FILES)
        + " is UTF-8 with a BOM; every other file is UTF-8 without BOM.",
        "",
        "Feeds carry realistic noise at low rates: name typos, lower-case x in ID numbers, empty ID numbers,",
        "ID numbers with a wrong check digit, duplicated claims, negative or future-dated claims, and rows about",
        "people who are not in the registry. Noise never touches a row a ground-truth event depends on.",
        "Disaster rows name either a person (id_number) or a whole village (region_code, no id_number).",
        "Hotline rows often have no id_number: the caller is found by name, phone and region text.",
        "",
        f"ground_truth.csv: {summary.files['ground_truth.csv']} rows, one per household and rule of the contract's",
        "default rule pack that fires at as_of (read literally; event dates stay clear of window edges):",
        *(f"  {rule}: {summary.ground_truth.get(rule, 0)}" for rule in RULE_IDS),
        "",
        f"near_misses.csv: {summary.files['near_misses.csv']} households planted just outside one rule (costs just",
        "under the threshold, already covered, an elderly death with no dependants, income exactly at the line);",
        "the rule named must not fire for them.",
        "",
        f"{leads.LEADS}: {summary.files[leads.LEADS]} leads as reported by hotline and village staff, with their",
        "errors (homophone names, missing, mistyped or masked ID numbers, a wrong phone digit, age instead of birth",
        f"date, village misspelled or only the township); {leads.TRUTH} says who each is (empty: not registered).",
        "Link them with `safetynet link linkage_leads.csv OUT.csv --as-of` this file's as_of.",
        "",
        f"Standards {summary.as_of.year}: dibao rural {standards[False].dibao}, urban {standards[True].dibao} "
        "yuan/month; tekun 1.3 x dibao; edge multiplier 1.5.",
    ]
    (summary.out_dir / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
