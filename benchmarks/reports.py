"""Benchmark: the leaders' analysis at a city's scale (issue 15).

A city of --counties counties (12 townships of 25 villages each), --persons persons in 40 % as many
households, and --cases cases opened over --months months, written set-wise with the shapes the workflow
writes (steps with their facts, leads of the seven channels, warnings' rules and levels, dibao and
temporary grants in the registry, escalations, grant-first paperwork): each case is taken a random way
down the funnel, the newest still open and some overdue. The tallies are then counted from the raw
tables by `safetynet reports rebuild` (timed: the one-off cost of an upgrade).

Measured, in this process through Django's test client (the whole page: middleware, session, access
check, audit entry, template), each request's cache of newly covered households emptied first (so every
request does all its work):

- dashboard: GET /reports/ as the city's leader (the city and its counties ranked), 12 and 36 months;
- drill-down: GET /reports/?region=… of a county (its townships), a township (its villages), a village;
- baseline: the same figures a plain way — COUNT … GROUP BY over the raw case, step and lead tables for
  the city's funnel by county, the channels and the rules, in one run of SQL, no template;
- workbook: the month's statistics workbook and brief for the city (`workbook.build`, `brief.build`), and
  `monthly.produce` of every region's (province, city, counties) for one month;
- event: one case's `tallies.refresh` (what each workflow step adds), p95 over many cases.

Aims (issue 15): dashboard and drill-down p95 ≤ 300 ms; the monthly workbook ≤ 30 s.

    .venv/bin/python benchmarks/reports.py --persons 5000000 --cases 1000000     # docs/benchmarks.md
    .venv/bin/python benchmarks/reports.py --persons 50000 --cases 10000          # a quick check

The generated database is kept in bench-out/reports/ and reused by a later run of the same size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CITY = "371400000000"  # 德州市
CHANNELS = ("warning", "warning", "warning", "visit", "patrol", "hotline", "social_org", "referral", "self_report")
RULES = ("medical_burden", "serious_illness", "breadwinner_death", "severe_disability", "elderly_alone",
         "unemployment_dependents", "disaster_loss", "relapse_risk", "child_without_guardian", "tekun_candidate")  # fmt: skip
PRECISION = dict(zip(RULES, (0.78, 0.7, 0.85, 0.72, 0.45, 0.55, 0.8, 0.5, 0.9, 0.75), strict=True))


def setup(data: Path, database: str) -> None:
    os.environ["SAFETYNET_DATA_DIR"] = str(data)
    os.environ["SAFETYNET_DATABASE_URL"] = database or f"sqlite:///{data}/db.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def regions(counties: int) -> list[tuple[str, str, str, str | None]]:
    rows: list[tuple[str, str, str, str | None]] = [("370000000000", "山东省", "province", None), (CITY, "德州市", "city", "370000000000")]
    for c in range(1, counties + 1):
        county = f"3714{c:02d}"
        rows.append((county + "000000", f"第{c}县", "county", CITY))
        for t in range(1, 13):
            town = f"{county}{100 + t:03d}"
            rows.append((town + "000", f"第{c}县第{t}镇", "township", county + "000000"))
            rows.extend((f"{town}{200 + v:03d}", f"第{c}县第{t}镇第{v}村", "village", town + "000") for v in range(1, 26))
    return rows


def generate(persons: int, cases: int, months: int, counties: int, today: dt.date) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from safetynet.cases.models import Case, Step
    from safetynet.leads.models import Lead
    from safetynet.regions.models import Region
    from safetynet.registry.models import Assistance, Person

    rng = random.Random(15)
    # The history is written as it happened: the timestamps the models stamp themselves (auto_now_add)
    # take the generated moments instead, in this process only.
    for model, name in ((Case, "opened_at"), (Step, "at"), (Lead, "created_at")):
        model._meta.get_field(name).auto_now_add = False  # type: ignore[union-attr]
    tree = regions(counties)
    Region.objects.bulk_create([Region(code=c, name=n, level=lv, parent_id=p) for c, n, lv, p in tree], batch_size=5000)
    villages = [c for c, _n, lv, _p in tree if lv == "village"]
    households = int(persons * 0.4)
    started = time.perf_counter()
    # Persons are written with plain INSERTs, a transaction per 100,000 households: no report reads them,
    # they are here so the database has a city's size (5 million ORM objects would only cost time).
    household_sql = (
        'INSERT INTO "registry_household" ("household_id", "region_code", "address", "area_type", "head_id_number") '
        "VALUES (%s, %s, '', 'rural', %s)"
    )
    person_sql = (
        'INSERT INTO "registry_person" ("id_number", "name", "gender", "birth_date", "household_id", "relation", '
        '"phone", "disability_level", "disability_type", "self_care", "serious_illness", "employment", '
        '"monthly_income") VALUES (%s, %s, %s, %s, %s, %s, %s, 0, \'\', \'full\', %s, \'farmer\', 0)'
    )
    names = ("张伟", "王秀英", "李建国", "刘淑珍", "陈志强", "杨玉兰", "赵浩", "黄欣怡")
    for start in range(0, households, 100_000):
        rows_h, rows_p = [], []
        for h in range(start, min(households, start + 100_000)):
            hid, size = f"H{h:09d}", 3 if h % 2 else 2
            rows_h.append((hid, villages[h % len(villages)], f"3714{h:010d}0000"))
            for k in range(size):
                rows_p.append((f"3714{h:010d}{k:04d}", names[(h + k) % len(names)], "MF"[k % 2], f"{1950 + k * 20}-01-01",
                               hid, "head" if k == 0 else "child", "", False))  # fmt: skip
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(household_sql, rows_h)
            cursor.executemany(person_sql, rows_p)
    print(f"registry: {households} households, {Person.objects.count()} persons in {time.perf_counter() - started:.0f} s", flush=True)

    started = time.perf_counter()
    first = today.replace(day=1)
    start_day = dt.date(first.year - (months // 12), first.month, 1)
    span = (today - start_day).days
    tz = timezone.get_current_timezone()
    chunk = 20000
    for offset in range(0, cases, chunk):
        with transaction.atomic():
            rows_c, rows_s, rows_l, rows_a = [], [], [], []
            for n in range(offset, min(cases, offset + chunk)):
                h = (n * 7919) % households  # a household once: one open case each
                case, steps, leads, grant = one_case(n + 1, h, villages[h % len(villages)], start_day, span, today, rng, tz)
                rows_c.append(case)
                rows_s.extend(steps)
                rows_l.extend(leads)
                rows_a.extend(grant)
            Case.objects.bulk_create(rows_c, batch_size=5000)
            Step.objects.bulk_create(rows_s, batch_size=5000)
            Lead.objects.bulk_create(rows_l, batch_size=5000)
            Assistance.objects.bulk_create(rows_a, batch_size=5000, ignore_conflicts=True)
        print(f"  cases {min(cases, offset + chunk)}/{cases} ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"cases: {Case.objects.count()}, steps: {Step.objects.count()}, leads: {Lead.objects.count()}, "
          f"grants: {Assistance.objects.count()} in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip


def one_case(case_id, h, village, start_day, span, today, rng, tz):  # type: ignore[no-untyped-def]
    """One case taken a random way down the funnel, as far as its age allows: (case, steps, leads, grants)."""
    from safetynet.cases import workdays
    from safetynet.cases.models import Case, Step
    from safetynet.leads.models import Lead
    from safetynet.registry.models import Assistance

    hid = f"H{h:09d}"
    opened = start_day + dt.timedelta(days=int(span * rng.random() ** 0.8))
    pace = 0.7 + (int(village[6:9]) % 5) * 0.25  # townships differ in speed

    def when(day: dt.date, hour: int = 10) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tz)

    channel, rule = rng.choice(CHANNELS), rng.choice(RULES)
    leads = []
    for k in range(1 + (rng.random() < 0.3)):
        ch = channel if k == 0 else rng.choice(CHANNELS[3:])
        details = {"rule_id": rule, "level": rng.choice(("red", "orange", "yellow"))} if ch == "warning" else {}
        leads.append(Lead(channel=ch, status="received", summary="测试", match="matched", household_id=hid, region_code=village,
                          case_id=case_id, probability=1.0, created_at=when(opened, 9), details=details))  # fmt: skip
    done: list[tuple[str, dt.date, dict[str, object]]] = []
    day = opened

    def step(action: str, gap: int, data: dict[str, object]) -> bool:
        nonlocal day
        nxt = workdays.add_working_days(day, round(gap * pace))[0]
        if nxt > today:
            return False
        day = nxt
        done.append((action, day, data))
        return True

    status, stage, outcome, grants = "open", "new", "", []
    founded = rng.random() < (PRECISION[rule] if channel == "warning" else 0.65)
    if step("verify", rng.randint(1, 7), {"hardship": founded}):
        status, stage, outcome = ("open", "verified", "") if founded else ("closed", "closed", "unfounded")
    if stage == "verified" and rng.random() < 0.2 and step("grant_first", 0, {"routed": "paid", "amount": "1500"}) and rng.random() < 0.85:
        step("complete_paperwork", rng.randint(2, 8), {})
    if stage == "verified" and step("inform", rng.randint(1, 4), {"policies": "低保"}):
        stage = "informed"
    if stage == "informed" and rng.random() < 0.12:
        if step("decline", 1, {"reason": "本人放弃"}):
            status, stage, outcome = "closed", "closed", "declined"
    elif stage == "informed":
        program = rng.choice(("dibao", "dibao", "tekun", "temporary"))
        if step("apply", rng.randint(1, 5), {"program": program}):
            stage = "applying"
        if stage == "applying" and step("review", rng.randint(5, 20), {"approved": True}):
            stage = "reviewed"
        approved = rng.random() < 0.82
        if stage == "reviewed" and step("decide", rng.randint(2, 12), {"approved": approved, "program": program}):
            status, stage, outcome = ("open", "helping", "") if approved else ("closed", "closed", "rejected")
            if approved and program in ("dibao", "tekun"):
                grants.append(Assistance(person_id=f"3714{h:010d}0000", household_id=hid, program=program, status="active",
                                         start_date=day, reference=f"case:{case_id}"))  # fmt: skip
    if status == "open" and workdays.working_days_between(opened, today) > 25 and rng.random() < 0.3:
        step("escalate", 6, {"to": "县级" if rng.random() < 0.4 else "乡镇（街道）"})
    steps = [Step(case_id=case_id, action=a, from_stage="", to_stage="", data=d, at=when(on)) for a, on, d in done]
    due = workdays.add_working_days(day, 5)[0] if stage in ("new", "verified", "informed") else None
    case = Case(id=case_id, household_id=hid, region_code=village, status=status, stage=stage, outcome=outcome,
                due_on=due, opened_at=when(opened, 9), closed_at=when(day) if status == "closed" else None)  # fmt: skip
    return case, steps, leads, grants


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure(requests: int, counties: int, today: dt.date) -> dict[str, object]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from safetynet.access.models import User
    from safetynet.access.services import create_user
    from safetynet.cases.models import Case
    from safetynet.regions.models import Region
    from safetynet.regions.models import Region as R
    from safetynet.reports import brief, monthly, services, tallies, workbook
    from safetynet.reports.measures import Period, add_months

    leader = User.objects.filter(username="bench-leader").first() or create_user("bench-leader", "correct-horse-battery", "leader", CITY)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(leader)
    rng = random.Random(1)
    counties_ = list(R.objects.filter(level="county").values_list("code", flat=True))
    towns = list(R.objects.filter(level="township").values_list("code", flat=True))
    villages = list(R.objects.filter(level="village").values_list("code", flat=True))
    end = today.replace(day=1)

    def page(query: str) -> None:
        cache.clear()  # every request computes the newly covered households again
        answer = client.get(f"/reports/?{query}")
        assert answer.status_code == 200, answer.status_code

    results: dict[str, object] = {}
    period12 = f"start={add_months(end, -11):%Y-%m}&end={end:%Y-%m}"
    period36 = f"start={add_months(end, -35):%Y-%m}&end={end:%Y-%m}"
    page(period12)  # warm the process (templates, first queries)
    for name, make in (
        ("dashboard city 12 months", lambda: period12),
        ("dashboard city 36 months", lambda: period36),
        ("drill-down county", lambda: f"region={rng.choice(counties_)}&{period12}"),
        ("drill-down township", lambda: f"region={rng.choice(towns)}&{period12}"),
        ("drill-down village", lambda: f"region={rng.choice(villages)}&{period12}"),
    ):
        values = timed(lambda make=make: page(make()), requests)
        results[name] = {"p50_ms": round(p(values, 0.5), 1), "p95_ms": round(p(values, 0.95), 1)}
        print(f"{name}: p50 {p(values, 0.5):.0f} ms, p95 {p(values, 0.95):.0f} ms", flush=True)

    start12 = add_months(end, -11)

    def baseline() -> None:
        """The city's funnel by county, its channels and its rules straight from the raw tables."""
        low, high = "371400000000", "371499999999"
        first = dt.datetime.combine(start12, dt.time(0)).isoformat()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT substr(c.region_code, 1, 6), s.action, COUNT(DISTINCT c.id) FROM cases_case c "
                "JOIN cases_step s ON s.case_id = c.id WHERE c.region_code BETWEEN %s AND %s AND c.opened_at >= %s "
                "GROUP BY 1, 2",
                [low, high, first],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT substr(c.region_code, 1, 6), COUNT(*) FROM cases_case c "
                "WHERE c.region_code BETWEEN %s AND %s AND c.opened_at >= %s GROUP BY 1",
                [low, high, first],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT l.channel, COUNT(*) FROM leads_lead l WHERE l.region_code BETWEEN %s AND %s AND l.created_at >= %s GROUP BY 1",
                [low, high, first],
            )
            cursor.fetchall()

    values = timed(baseline, max(5, requests // 4))
    results["baseline COUNT GROUP BY (city funnel, 12 months)"] = {"p50_ms": round(p(values, 0.5), 1), "p95_ms": round(p(values, 0.95), 1)}
    print(f"baseline: p50 {p(values, 0.5):.0f} ms, p95 {p(values, 0.95):.0f} ms", flush=True)

    city = Region.objects.get(code=CITY)
    month = add_months(end, -1)
    started = time.perf_counter()
    board = services.build(city, Period(month, month), suppress=True)
    book = workbook.build(board)
    pdf = brief.build(board)
    results["city monthly workbook and brief s"] = round(time.perf_counter() - started, 2)
    print(f"city month's workbook ({len(book)} B) and brief ({len(pdf)} B): {results['city monthly workbook and brief s']} s", flush=True)
    from safetynet.reports.models import Report

    Report.objects.filter(month=month).delete()
    started = time.perf_counter()
    made = monthly.produce(month)
    results["monthly.produce s"] = round(time.perf_counter() - started, 2)
    results["monthly reports made"] = len(made)
    print(f"monthly.produce: {len(made)} regions in {results['monthly.produce s']} s", flush=True)

    ids = list(Case.objects.order_by("?").values_list("id", flat=True)[:200])
    values = timed(lambda: tallies.refresh([ids.pop()]), min(200, len(ids)))
    results["event refresh p95 ms"] = round(p(values, 0.95), 2)
    print(f"one case's refresh: p50 {p(values, 0.5):.1f} ms, p95 {p(values, 0.95):.1f} ms", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database", default="", help="a PostgreSQL URL instead of the embedded SQLite")
    args = parser.parse_args()
    data = ROOT / "bench-out" / "reports" / f"city-{args.persons}-{args.cases}-{args.months}"
    data.mkdir(parents=True, exist_ok=True)
    setup(data, args.database)
    from safetynet.cases.models import Case
    from safetynet.reports import tallies
    from safetynet.reports.models import CaseFigures

    today = dt.date(2026, 11, 30)
    import time_machine  # dev dependency: the generated history ends on a fixed day, so runs compare

    with time_machine.travel(dt.datetime.combine(today, dt.time(10)), tick=True):
        out: dict[str, object] = {"persons": args.persons, "cases": args.cases, "months": args.months}
        if not Case.objects.exists():
            generate(args.persons, args.cases, args.months, args.counties, today)
        if CaseFigures.objects.count() < Case.objects.count():  # new, or a rebuild cut short: count (again)
            started = time.perf_counter()
            tallies.rebuild()
            out["rebuild s"] = round(time.perf_counter() - started, 1)
            print(f"tallies rebuilt from the raw tables in {out['rebuild s']} s", flush=True)
        out.update(measure(args.requests, args.counties, today))
        base = out["baseline COUNT GROUP BY (city funnel, 12 months)"]["p95_ms"]  # type: ignore[index]
        dash = out["dashboard city 12 months"]["p95_ms"]  # type: ignore[index]
        out["baseline p95 / dashboard p95"] = round(base / dash, 2)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    (data / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
