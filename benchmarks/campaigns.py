"""Benchmark: declaring a campaign over a whole demo county (every group), against a plain INSERT … SELECT.

Baseline: one `INSERT INTO … SELECT household_id, region_code FROM households` for the same county, in the
same database, rolled back: the floor for writing one row per household without choosing anything.
Measured: `campaigns.services.declare` as the county's admin, all seven groups over the whole county: the
checks, one set-based query per group, the tasks bulk-inserted in chunks, the audit entry; rolled back too.

    safetynet demo-data /tmp/county && safetynet registry import /tmp/county   # once, into the database
    SAFETYNET_DATABASE_URL=postgresql://… .venv/bin/python benchmarks/campaigns.py --rounds 5

Prints the median seconds of each over interleaved rounds and the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--groups", default="all,low_income,dibao_edge,elderly_alone,disabled,serious_illness,covered"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
    from safetynet.cli import setup

    setup()
    from django.db import connection, transaction

    from safetynet.access.models import User
    from safetynet.access.services import Actor, create_user
    from safetynet.campaigns import services
    from safetynet.campaigns.models import Campaign, VisitTask
    from safetynet.regions.models import Region
    from safetynet.registry.models import Household, Person

    county = Region.objects.filter(level="county").order_by("code").first()
    assert county is not None, "import a demo county first"
    user = User.objects.filter(username="bench-campaigns").first() or create_user(
        "bench-campaigns", "bench-campaigns-password", "county_admin", county.code
    )
    actor = Actor(user=user, purpose="benchmark")
    households = Household.objects.filter(region_code__startswith=county.code[:6]).count()
    persons = Person.objects.filter(household__region_code__startswith=county.code[:6]).count()
    print(
        f"{connection.vendor}: {county.name} {households} households, {persons} persons; groups {args.groups}"
    )
    today = dt.date.today()
    table = VisitTask._meta.db_table
    households_table = Household._meta.db_table
    measured, baseline, tasks = [], [], 0
    for _ in range(args.rounds):
        start = time.perf_counter()
        try:
            with transaction.atomic():
                campaign = services.declare(
                    actor,
                    name="基准测试",
                    kind="disaster",
                    region_codes=[county.code],
                    starts_on=today,
                    ends_on=today + dt.timedelta(days=30),
                    target_groups=args.groups.split(","),
                )
                tasks = campaign.tasks.count()
                measured.append(time.perf_counter() - start)
                raise Rollback
        except Rollback:
            pass
        start = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                row = Campaign.objects.create(
                    name="基线",
                    kind="other",
                    county_code=county.code[:6],
                    region_codes=[county.code],
                    target_groups=["all"],
                    starts_on=today,
                    ends_on=today,
                    as_of=today,
                    created_by=user,
                )
                cursor.execute(
                    f"INSERT INTO {table} (campaign_id, household_id, region_code, groups, status, urgent, findings) "  # noqa: S608
                    f"SELECT %s, household_id, region_code, 'all', 'pending', false, '' FROM {households_table} "
                    "WHERE region_code >= %s AND region_code <= %s",
                    [row.pk, county.code[:6] + "000000", county.code[:6] + "999999"],
                )
                baseline.append(time.perf_counter() - start)
                raise Rollback
        except Rollback:
            pass
    m, b = statistics.median(measured), statistics.median(baseline)
    print(f"declare: {tasks} tasks, median {m:.2f} s over {args.rounds} rounds ({tasks / m:,.0f} tasks/s)")
    print(f"baseline INSERT … SELECT: median {b:.3f} s; ratio {m / b:.1f}x")


if __name__ == "__main__":
    main()
