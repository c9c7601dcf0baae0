"""Benchmark: lead intake throughput and inbox page latency, 50 concurrent users, PostgreSQL (issue 6).

The real application (`safetynet serve`: waitress with its 8 threads, production settings, DEBUG off) on
127.0.0.1, loaded by locust (headless, FastHttpUser, benchmarks/leads_locustfile.py) with --users clerks.
Every account is signed in once through the login page before the load (Argon2 costs the server a few
hundred ms of CPU per login, which is not what is measured); locust users then work with those sessions,
with a think time of --wait seconds between requests:

- inbox:        GET INBOX_URL (/cases/inbox/, each role's inbox: what is theirs to do now, overdue first;
                /cases/, the open cases by deadline, while /cases/inbox/ does not answer 200; --inbox-url
                to choose) by village coordinators, township staff and county staff, each in their region;
- leads inbox:  GET /leads/ (the scoped list of leads) by the same users, a smaller share;
- case list:    GET /cases/ (the open cases list, paged with its true total) by township and county staff,
                narrowed as staff do: a later page, overdue only, a surname (q=王), the last 30 days;
- case page:    GET /cases/<id>/ of a case in the user's region (timeline, sources, next steps);
- lead intake:  POST /api/leads (session cookie and CSRF header, as the pages' own scripts do) by hotline
                operators (channel hotline, anywhere in the county) and township staff (channel patrol, in
                their township): records of county residents as people report them, from the demo's
                labelled-lead writer (homophone names, mistyped or masked ID numbers, phones with +86, ages
                instead of birth dates, misspelled villages or only the township; 8 % people the registry
                does not know), each matched, placed, merged into its household's case and audited;
- baseline:     GET / (the home page) by social-organisation users: the cheapest authenticated page the
                application renders (session, user, region, the base template; no statistics, no personal
                data), in the same run and under the same load.

Phases, one after the other, the server up throughout:

1. mixed A–B s (one per --wait, default 2–8 s then 1–3 s): every request type at once. Per type: count,
   req/s, p50/p95/p99 ms, failures. The acceptance figure is the inbox p95 of the first (aim ≤ 200 ms),
   as a ratio over the baseline page's p95 in the same phase.
2. baseline-max: --users users requesting only the baseline page, no think time: the most requests per
   second this server gives its cheapest page.
3. intake-max: --users users posting only leads, no think time: leads per second, as a ratio of the
   baseline's requests per second.

Latencies are computed from every request's own time (not locust's rounded histogram), for the requests
started from --settle seconds after the last user started until the phase's stop.

Afterwards: every lead answered 201 must exist exactly once (found by the token in its summary) under the
id the answer gave, with exactly one `report_lead` audit entry, and no lead may exist for a post that got
no 201; in each phase, the `read` audit entries written must equal the pages served that showed personal
data (a case page; an inbox or lead list with rows). Then, in this process (test client, same database,
no load), each request type is timed alone, its Django queries counted and every SELECT run again under
EXPLAIN (ANALYZE, BUFFERS); the plans go to bench-out/leads/plans-N.txt.

Input: the demo county of --persons (cached in bench-out/screening/county-N, shared with
benchmarks/screening.py and benchmarks/linkage.py), imported once into the PostgreSQL database
--database_N (created if missing; the import builds the linkage index), users created once with
`access.services.create_user`. The --cases open cases (households drawn at random across the county's
villages; stages new / verified / informed / applying / helping with their steps; due dates with working
days approximated as 7 calendar days per 5, about 12 % overdue and escalated; 6 % urgent; 3 % with
grant-first paperwork due; 0.3 % waiting for the county's case-by-case approval; 1 % in coordination with
1–3 department referrals; 1–3 leads each from the seven channels) and 5 % more unidentified leads are
written set-wise (INSERT … SELECT) afresh at the start of every run, so each run starts from the same
state (about 25 s at 200,000 cases).

The run for docs/benchmarks.md (first time about 6 minutes more to generate and import the county):

    .venv/bin/python benchmarks/leads.py --persons 1000000 --cases 200000 --users 50

A quick check while developing:

    .venv/bin/python benchmarks/leads.py --persons 20000 --cases 4000 --run-time 20s
"""

# Benchmark-only dependency: locust (`pip install -e '.[bench]'`).

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from linkage import load_registry, setup  # noqa: E402 - the shared database helpers
from screening import AS_OF, SEED, county_dir  # noqa: E402 - the shared cached demo county

# The inbox page under test: the lead engineer's /cases/inbox/ once it answers 200, /cases/ until then.
INBOX_URL = "/cases/inbox/"
INBOX_FALLBACK = "/cases/"
BASELINE_URL = "/"
INBOX_MARKERS = {INBOX_URL: 'data-testid="section-', INBOX_FALLBACK: 'data-testid="cases"'}
LOCUSTFILE = Path(__file__).with_name("leads_locustfile.py")
PASSWORD = "bench-leads-2026"  # noqa: S105 - the benchmark database's own throwaway accounts
PAYLOADS = ("leads_bench_leads.csv", "leads_bench_truth.csv")
PAYLOAD_COUNT = 5000

# Who the clerks are, per 50 users of the mixed phase, and what each does (locust task weights).
MIX = {"coordinator": 18, "township": 12, "county": 6, "hotline": 8, "baseline": 6}
TASKS = {
    "coordinator": {"inbox": 3, "case_page": 3, "leads_inbox": 1},
    "township": {"inbox": 3, "case_page": 2, "intake": 2, "leads_inbox": 1, "case_list": 1},
    "county": {"inbox": 3, "case_page": 2, "leads_inbox": 1, "case_list": 1},
    "hotline": {"intake": 1},
    "baseline": {"baseline": 1},
}
COORDINATOR_ACCOUNTS = 40  # villages whose coordinators sign in (the others' cases are seen by townships)


# -- data -------------------------------------------------------------------------------------------------


def ensure_users() -> dict[str, list[dict[str, Any]]]:
    """The benchmark's accounts, created once with the application's own service (Argon2 hashes)."""
    from safetynet.access.models import User
    from safetynet.access.services import create_user
    from safetynet.regions.models import Region

    regions = list(Region.objects.order_by("code").values_list("code", "level"))
    county = next(c for c, level in regions if level == "county")
    townships = [c for c, level in regions if level == "township"]
    # Villages spread over the townships: every k-th village in code order.
    villages = [c for c, level in regions if level == "village"]
    step = max(1, len(villages) // COORDINATOR_ACCOUNTS)
    chosen = villages[::step][:COORDINATOR_ACCOUNTS]
    wanted: list[tuple[str, str, str]] = (
        [(f"bench-coord-{code}", "coordinator", code) for code in chosen]
        + [(f"bench-town-{code[:9]}", "township", code) for code in townships]
        + [(f"bench-county-{n}", "county", county) for n in range(1, 4)]
        + [(f"bench-hotline-{n}", "hotline", county) for n in range(1, 6)]
        + [(f"bench-org-{n}", "social_org", county) for n in range(1, 4)]
    )
    existing = set(User.objects.filter(username__startswith="bench-").values_list("username", flat=True))
    for username, role, region in wanted:
        if username not in existing:
            create_user(
                username, PASSWORD, role, region, organisation="压测社会组织" if role == "social_org" else ""
            )
    accounts: dict[str, list[dict[str, Any]]] = {r: [] for r in MIX}
    key = {"social_org": "baseline"}
    for username, role, region in wanted:
        accounts[key.get(role, role)].append({"username": username, "region": region})
    return accounts


SUMMARIES = (
    "独居老人，行动不便，无人照料",
    "家庭主要劳动力因病丧失劳动能力",
    "大病住院，自付费用超过家庭年收入",
    "学生家庭，父母一方去世",
    "房屋存在安全隐患，无力修缮",
    "失业超过半年，无稳定收入",
    "重度残疾人，家庭收入低于低保标准",
    "遭受自然灾害，基本生活困难",
)


def other_columns(model: Any, given: str, alias: str) -> tuple[str, str, dict[str, Any]]:
    """The columns of `model` an INSERT below does not name, each with its field's default as a parameter,
    so a column added to the model later (with a default) does not break the seeding: (", c1, c2",
    ", %(t_c1)s, %(t_c2)s", params)."""
    from django.db import connection

    named = {c.strip() for c in given.split(",")}
    columns, values, params = [], [], {}
    for f in model._meta.concrete_fields:
        if f.column in named or f.primary_key:
            continue
        key = f"{alias}_{f.column}"
        params[key] = f.get_db_prep_save(f.get_default(), connection)
        columns.append(f.column)
        values.append(f"%({key})s")
    return "".join(", " + c for c in columns), "".join(", " + v for v in values), params


CASE_COLUMNS = (
    "id, household_id, region_code, status, urgent, stage, due_on, due_estimated, extended, outcome, "
    "follow_up_on, paperwork_due, pending_amount, coordination, escalated_to, opened_at, version"
)
STEP_COLUMNS = "case_id, action, from_stage, to_stage, data, note, actor_id, at"
LEAD_COLUMNS = (
    "channel, status, urgent, summary, details, match, household_id, id_number, probability, region_code, "
    "case_id, source_ref, reporter_name, created_at"
)
REFERRAL_COLUMNS = (
    "case_id, department, request, due_on, referred_by_id, referred_at, answer, helped, answered_at"
)


def seed_cases(cases: int, today: dt.date) -> dict[str, Any]:
    """Open cases, their steps, leads and referrals, and unidentified leads, written set-wise
    (INSERT … SELECT) in one transaction after emptying those tables; deterministic for a given county
    and --cases."""
    from django.db import connection, transaction

    from safetynet.cases.models import Case, Referral, Step
    from safetynet.leads.models import Lead

    case_cols, case_vals, params = other_columns(Case, CASE_COLUMNS, "c")
    step_cols, step_vals, more = other_columns(Step, STEP_COLUMNS, "s")
    params.update(more)
    lead_cols, lead_vals, more = other_columns(Lead, LEAD_COLUMNS, "l")
    params.update(more)
    ref_cols, ref_vals, more = other_columns(Referral, REFERRAL_COLUMNS, "r")
    params.update(more)
    params.update(today=today, cases=cases, unidentified=max(1, cases // 20))
    summaries = "ARRAY[" + ", ".join(f"'{t}'" for t in SUMMARIES) + "]"
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM registry_household")
        households = cur.fetchone()[0]
        if cases > households:
            raise SystemExit(f"--cases {cases:,} exceeds the county's {households:,} households")
        # Everything that points at leads or cases goes too (TRUNCATE … CASCADE names them).
        cur.execute("TRUNCATE leads_lead, cases_step, cases_referral, cases_case RESTART IDENTITY CASCADE")
        cur.execute("DELETE FROM linkage_review WHERE source = 'lead'")
        # u(n, tag): a uniform number in [0, 1) fixed by the row number and a tag.
        cur.execute(
            "CREATE FUNCTION pg_temp.u(n bigint, tag text) RETURNS float8 LANGUAGE sql IMMUTABLE AS "
            "$$ SELECT (hashtext(n::text || ':' || tag) & 2147483647) / 2147483648.0 $$"
        )
        cur.execute(
            """
            CREATE TEMP TABLE bench_pick ON COMMIT DROP AS
            SELECT row_number() OVER (ORDER BY md5(h.household_id || ':leads')) AS n,
                   h.household_id, h.region_code, h.head_id_number, p.name, p.phone
            FROM registry_household h JOIN registry_person p ON p.id_number = h.head_id_number
            ORDER BY md5(h.household_id || ':leads') LIMIT %(cases)s
            """,
            params,
        )
        # Stage, urgency and dates per case; working days approximated as 7 calendar days per 5.
        cur.execute(
            """
            CREATE TEMP TABLE bench_case ON COMMIT DROP AS
            SELECT *,
                   CASE WHEN stage_index = 0 THEN opened + CASE WHEN urgent THEN 1 ELSE 7 END
                        WHEN stage_index = 3 THEN applied + 42 + CASE WHEN extended THEN 21 ELSE 0 END
                   END AS due_on,
                   CASE WHEN granted THEN %(today)s - 5 + floor(a * 12)::int END AS paperwork_due
            FROM (
                SELECT *,
                       %(today)s - CASE WHEN stage_index = 0 THEN floor(d * 10)::int
                                        ELSE 55 + floor(d * 120)::int END AS opened,
                       %(today)s - floor(a * 51)::int AS applied
                FROM (
                    SELECT n, household_id, region_code, head_id_number, name, phone,
                           CASE WHEN s < 0.35 THEN 0 WHEN s < 0.55 THEN 1 WHEN s < 0.70 THEN 2
                                WHEN s < 0.92 THEN 3 ELSE 4 END AS stage_index,
                           pg_temp.u(n, 'urgent') < 0.06 AS urgent,
                           pg_temp.u(n, 'extend') < 0.10 AS extended,
                           pg_temp.u(n, 'grant') < 0.03 AS granted,
                           pg_temp.u(n, 'coordination') < 0.01 AS coordination,
                           pg_temp.u(n, 'pending') < 0.003 AS pending,
                           pg_temp.u(n, 'day') AS d, pg_temp.u(n, 'applied') AS a, pg_temp.u(n, 'hour') AS h
                    FROM (SELECT *, pg_temp.u(n, 'stage') AS s FROM bench_pick) x
                ) y
            ) z
            """,
            params,
        )
        # A case's id is its n. Overdue cases have climbed to the township, a week overdue to the county.
        cur.execute(
            f"""
            INSERT INTO cases_case ({CASE_COLUMNS}{case_cols})
            SELECT n, household_id, region_code, 'open', urgent,
                   (ARRAY['new', 'verified', 'informed', 'applying', 'helping'])[stage_index + 1],
                   due_on, FALSE, stage_index = 3 AND extended, '',
                   CASE WHEN stage_index = 4 THEN %(today)s - 3 + floor(d * 60)::int END,
                   paperwork_due,
                   CASE WHEN pending THEN 4000 + floor(a * 16000)::int END,
                   coordination,
                   CASE WHEN least(due_on, paperwork_due) < %(today)s - 7 THEN 'county'
                        WHEN least(due_on, paperwork_due) < %(today)s THEN 'township' ELSE '' END,
                   (opened::timestamp + interval '8 hours' + h * interval '9 hours') AT TIME ZONE 'Asia/Shanghai',
                   stage_index + (stage_index = 3 AND extended)::int + granted::int{case_vals}
            FROM bench_case ORDER BY n
            """,
            params,
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %(cases)s)", params)
        cur.execute(
            """
            CREATE TEMP TABLE bench_actor ON COMMIT DROP AS
            SELECT substr(r.code, 1, 9) AS township, u.id AS user_id
            FROM regions_region r JOIN access_user u ON u.username = 'bench-town-' || substr(r.code, 1, 9)
            WHERE r.level = 'township'
            """
        )
        cur.execute(
            f"""
            INSERT INTO cases_step ({STEP_COLUMNS}{step_cols})
            SELECT c.n, s.action, s.from_stage, s.to_stage, s.data, '', a.user_id,
                   k.opened_at + (k.k * 3) * interval '1 day'{step_vals}
            FROM bench_case c
            JOIN (SELECT id, opened_at, generate_series(1, 4) AS k FROM cases_case) k ON k.id = c.n
            JOIN LATERAL (VALUES
                (1, 'verify', 'new', 'verified', jsonb_build_object(
                    'visited_on', (k.opened_at + interval '3 days')::date::text,
                    'situation', '实地查访，情况属实', 'monthly_income', '860.00',
                    'monthly_expense', '1240.00', 'wants_help', true)),
                (2, 'inform', 'verified', 'informed', jsonb_build_object('policies', '低保、临时救助、医疗救助')),
                (3, 'apply', 'informed', 'applying', jsonb_build_object('program', 'dibao')),
                (4, 'decide', 'applying', 'helping', jsonb_build_object(
                    'approved', true, 'monthly_amount', '520.00', 'reason', ''))
            ) s(k, action, from_stage, to_stage, data) ON s.k = k.k
            JOIN bench_actor a ON a.township = substr(c.region_code, 1, 9)
            WHERE k.k <= c.stage_index
            UNION ALL
            SELECT c.n, 'extend', 'applying', 'applying', jsonb_build_object('reason', '需补充收入核对材料'), '',
                   a.user_id, now() - interval '2 days'{step_vals}
            FROM bench_case c JOIN bench_actor a ON a.township = substr(c.region_code, 1, 9)
            WHERE c.stage_index = 3 AND c.extended
            UNION ALL
            SELECT c.n, 'grant_first', st, st,
                   jsonb_build_object('amount', '1500.00', 'reason', '突发困难先行救助', 'routed', 'paid'),
                   '', a.user_id, now() - interval '3 days'{step_vals}
            FROM (SELECT *, (ARRAY['new', 'verified', 'informed', 'applying', 'helping'])[stage_index + 1] AS st
                  FROM bench_case WHERE granted) c
            JOIN bench_actor a ON a.township = substr(c.region_code, 1, 9)
            """,
            params,
        )
        # Complex cases: 1-3 departments each, some already answered, some late.
        cur.execute(
            f"""
            INSERT INTO cases_referral ({REFERRAL_COLUMNS}{ref_cols})
            SELECT c.n, (ARRAY['medical_insurance', 'education', 'housing', 'human_resources'])[g],
                   '请协助落实相关帮扶政策', %(today)s - 20 + floor(pg_temp.u(c.n * 4 + g, 'rdue') * 30)::int,
                   a.user_id, now() - interval '15 days',
                   CASE WHEN answered THEN '已落实' ELSE '' END, CASE WHEN answered THEN TRUE END,
                   CASE WHEN answered THEN now() - interval '2 days' END{ref_vals}
            FROM bench_case c
            JOIN bench_actor a ON a.township = substr(c.region_code, 1, 9)
            JOIN LATERAL (
                SELECT g, pg_temp.u(c.n * 4 + g, 'answered') < 0.4 AS answered FROM generate_series(1, 3) g
                WHERE g = 1 OR pg_temp.u(c.n * 4 + g, 'more') < 0.5
            ) r ON TRUE
            WHERE c.coordination
            """,
            params,
        )
        # 1-3 leads per case (mean about 1.55) from the seven channels, the first one opening the case.
        cur.execute(
            f"""
            INSERT INTO leads_lead ({LEAD_COLUMNS}{lead_cols})
            SELECT ch.channel,
                   (ARRAY['received', 'verifying', 'verifying', 'verifying', 'helped'])[c.stage_index + 1],
                   c.urgent AND l.k = 1,
                   ({summaries})[1 + floor(pg_temp.u(l.m, 'summary') * {len(SUMMARIES)})::int],
                   CASE WHEN ch.channel = 'warning'
                        THEN jsonb_build_object('rule_id', 'medical_burden', 'level', 'yellow')
                        ELSE jsonb_build_object('name', c.name, 'phone', c.phone) END,
                   'matched', c.household_id, c.head_id_number,
                   CASE WHEN ch.channel = 'warning' THEN 1.0 ELSE 0.95 + pg_temp.u(l.m, 'p') * 0.05 END,
                   c.region_code, c.n, 'seed:' || l.m, ch.reporter,
                   k.opened_at + (l.k - 1) * interval '5 days'{lead_vals}
            FROM bench_case c
            JOIN cases_case k ON k.id = c.n
            JOIN LATERAL (
                SELECT g AS k, c.n * 4 + g AS m FROM generate_series(1, 3) g
                WHERE g = 1 OR (g = 2 AND pg_temp.u(c.n, 'leads') < 0.40)
                   OR (g = 3 AND pg_temp.u(c.n, 'leads') < 0.15)
            ) l ON TRUE
            JOIN LATERAL (
                SELECT CASE WHEN v < 0.35 THEN 'warning' WHEN v < 0.55 THEN 'visit' WHEN v < 0.65 THEN 'patrol'
                            WHEN v < 0.82 THEN 'hotline' WHEN v < 0.90 THEN 'self_report'
                            WHEN v < 0.96 THEN 'social_org' ELSE 'referral' END AS channel,
                       CASE WHEN v < 0.35 THEN '数据比对' WHEN v < 0.82 AND v >= 0.65 THEN '12345热线'
                            WHEN v >= 0.90 AND v < 0.96 THEN '县慈善总会' ELSE '' END AS reporter
                FROM (SELECT pg_temp.u(l.m, 'channel') AS v) x
            ) ch ON TRUE
            ORDER BY c.n, l.k
            """,
            params,
        )
        # Unidentified leads (5 % of the cases): a name and a township as the caller gave them.
        cur.execute(
            f"""
            INSERT INTO leads_lead ({LEAD_COLUMNS}{lead_cols})
            SELECT (ARRAY['hotline', 'social_org', 'self_report'])[1 + floor(pg_temp.u(n, 'uch') * 3)::int],
                   'received', pg_temp.u(n, 'uurgent') < 0.05,
                   ({summaries})[1 + floor(pg_temp.u(n, 'usum') * {len(SUMMARIES)})::int],
                   jsonb_build_object('name', p.name, 'address_text', t.name),
                   'unidentified', '', '', NULL, substr(h.region_code, 1, 9) || '000', NULL,
                   'seed-unidentified:' || n, '',
                   now() - floor(pg_temp.u(n, 'uday') * 30) * interval '1 day'{lead_vals}
            FROM (SELECT h.*, row_number() OVER (ORDER BY md5(h.household_id || ':unidentified')) AS n
                  FROM registry_household h ORDER BY md5(h.household_id || ':unidentified')
                  LIMIT %(unidentified)s) h
            JOIN registry_person p ON p.id_number = h.head_id_number
            JOIN regions_region t ON t.code = substr(h.region_code, 1, 9) || '000'
            """,
            params,
        )
        counts = {}
        for table in ("cases_case", "cases_step", "cases_referral", "leads_lead"):
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
        cur.execute(
            "SELECT COUNT(*) FROM cases_case WHERE due_on < %(today)s OR paperwork_due < %(today)s", params
        )
        counts["overdue_cases"] = cur.fetchone()[0]
    with connection.cursor() as cur:
        for table in ("cases_case", "cases_step", "cases_referral", "leads_lead"):
            cur.execute(f"VACUUM ANALYZE {table}")
    counts["seconds"] = round(time.perf_counter() - start, 1)
    return counts


def payload_pools(county: Path, accounts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, str]]]:
    """Lead records as people report them (the demo's labelled-lead writer, errors included), pooled by
    who may report them: the whole county for the hotline, each township's residents for its staff."""
    from safetynet.demo.leads import write_labelled_leads
    from safetynet.registry.models import Household

    leads_path, truth_path = (county / name for name in PAYLOADS)
    if not truth_path.exists():
        write_labelled_leads(
            county, SEED + 6, AS_OF, PAYLOAD_COUNT, leads_name=PAYLOADS[0], truth_name=PAYLOADS[1]
        )
    with leads_path.open(encoding="utf-8-sig", newline="") as f:
        leads = list(csv.DictReader(f))
    with truth_path.open(encoding="utf-8-sig", newline="") as f:
        truth = {r["record_id"]: r["household_id"] for r in csv.DictReader(f)}
    village_of = dict(
        Household.objects.filter(household_id__in=[h for h in truth.values() if h]).values_list(
            "household_id", "region_code"
        )
    )
    fields = ("name", "id_number", "phone", "birth_date", "age", "gender", "region_code", "address_text")
    pools: dict[str, list[dict[str, str]]] = {"county": []}
    townships = {a["region"][:9]: a for a in accounts["township"]}
    names = township_names()
    for lead in leads:
        record = {k: lead[k] for k in fields if lead[k]}
        pools["county"].append(record)
        village = village_of.get(truth.get(lead["record_id"], ""), "")
        township = village[:9] if village else ""
        if not township:  # someone the registry does not know: the township the caller named
            township = next(
                (
                    t
                    for t, name in names.items()
                    if name in lead["address_text"] or lead["region_code"].startswith(t)
                ),
                "",
            )
        if township in townships:
            pools.setdefault(township, []).append(record)
    return pools


def township_names() -> dict[str, str]:
    from safetynet.regions.models import Region

    return {c[:9]: n for c, n in Region.objects.filter(level="township").values_list("code", "name")}


def case_samples(accounts: dict[str, list[dict[str, Any]]], per_account: int = 200) -> None:
    """Case ids each account may open, drawn from its region."""
    from django.db import connection

    from safetynet.regions.services import subtree_range

    levels = {"coordinator": "village", "township": "township", "county": "county"}
    with connection.cursor() as cur:
        for role, level in levels.items():
            for account in accounts[role]:
                low, high = subtree_range(account["region"], level)
                cur.execute(
                    "SELECT id FROM cases_case WHERE region_code BETWEEN %s AND %s ORDER BY md5(id::text) LIMIT %s",
                    [low, high, per_account],
                )
                account["cases"] = [r[0] for r in cur.fetchall()]
        # Coordinators of villages without cases (a small county) are of no use to the inbox.
        accounts["coordinator"] = [a for a in accounts["coordinator"] if a["cases"]]


# -- the server and the load ------------------------------------------------------------------------------


def code_state() -> tuple[str, str]:
    """The commit checked out and a fingerprint of the application's files (paths, sizes, mtimes), to tell
    whether the code the server runs changed during the run (others commit to this tree as it runs)."""
    import hashlib

    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src/safetynet").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".html"):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return head, digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("safetynet")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(  # noqa: S603 - our own entry point
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; see {log}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed_in(base: str, username: str) -> Any:
    import requests

    session = requests.Session()
    session.get(f"{base}/login/", timeout=30)
    answer = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        errors = re.findall(r'class="error"[^>]*>([^<]*)', answer.text)
        raise SystemExit(f"{username} could not sign in ({answer.status_code}: {errors})")
    return session


def choose_inbox(base: str, accounts: dict[str, list[dict[str, Any]]], override: str | None) -> str:
    if override:
        return override
    session = signed_in(base, accounts["township"][0]["username"])
    found = session.get(f"{base}{INBOX_URL}", allow_redirects=False, timeout=60).status_code
    return INBOX_URL if found == 200 else INBOX_FALLBACK


def warm_up(base: str, accounts: dict[str, list[dict[str, Any]]], inbox: str) -> None:
    """A few requests of each kind, one at a time: the server's imports, caches and connections, and
    PostgreSQL's pages, before anything is measured."""
    import requests

    for role in ("coordinator", "township", "county", "baseline"):
        session = requests.Session()
        session.cookies.update(accounts[role][0]["cookies"])
        for case_id in accounts[role][0].get("cases", [])[:3]:
            session.get(f"{base}/cases/{case_id}/", timeout=60)
        for _ in range(3):
            if role == "baseline":
                session.get(f"{base}{BASELINE_URL}", timeout=60)
            else:
                session.get(f"{base}{inbox}", timeout=60)
                session.get(f"{base}/leads/", timeout=60)


def run_locust(
    phase: str, plan: dict[str, Any], args: argparse.Namespace, base: str, server_pid: int
) -> dict[str, Any]:
    plan_path = args.out / f"plan-{phase}.json"
    result_path = args.out / f"samples-{phase}.json"
    result_path.unlink(missing_ok=True)
    plan_path.write_text(
        json.dumps({**plan, "result": str(result_path)}, ensure_ascii=False), encoding="utf-8"
    )
    run_time = args.run_time if phase.startswith("mixed") else args.max_time
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "-u",
        str(sum(plan["users"].values())),
        "-r",
        str(args.spawn_rate),
        "--run-time",
        run_time,
        "--stop-timeout",
        "60",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    print(
        f"\n{phase}: {sum(plan['users'].values())} users {plan['users']}, think time {plan['wait']} s, {run_time}",
        flush=True,
    )
    cpu_before = cpu_seconds(server_pid)
    audit_before = last_audit()
    log = args.out / "server.log"
    queue_before = log.read_text(errors="replace").count("Task queue depth")
    load_before = os.getloadavg()[0]
    done = subprocess.run(  # noqa: S603 - locust from this venv
        command,
        env={**os.environ, "LEADS_BENCH_PLAN": str(plan_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    server_cpu = cpu_seconds(server_pid) - cpu_before
    (args.out / f"locust-{phase}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if not result_path.exists():
        raise SystemExit(
            f"locust wrote no samples ({done.returncode}); see {args.out / f'locust-{phase}.log'}"
        )
    raw = json.loads(result_path.read_text(encoding="utf-8"))
    report = summarise(raw, args.settle)
    report["server_cpu_s"] = round(server_cpu, 1)
    report["load_average_after"] = os.getloadavg()[0]
    report["load_average_before"] = load_before
    report["queue_warnings"] = log.read_text(errors="replace").count("Task queue depth") - queue_before
    report["posted"] = raw["posted"]
    report["audits"] = (audit_before, last_audit())
    report["audited_reads"] = raw["audited_reads"]
    print_phase(report)
    return report


def last_audit() -> int:
    from safetynet.access.models import AuditEntry

    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarise(raw: dict[str, Any], settle: float) -> dict[str, Any]:
    """Per request name, over the requests started from `settle` seconds after the last user was
    spawned until the stop: count, req/s, p50/p95/p99 ms, failures (with their first messages)."""
    begin = raw["spawned_at"] + settle
    end = raw["stopping_at"]
    window = end - begin
    if window <= 0:
        raise SystemExit("no time left to measure: give the phase a longer --run-time")
    by_name: dict[str, list[tuple[float, bool, str]]] = {}
    for name, started, ms, ok, error in raw["samples"]:
        if not begin <= started < end:
            continue
        by_name.setdefault(name, []).append((ms, ok, error))
    groups = dict(by_name)
    for prefix in ("inbox", "leads inbox", "case list"):
        parts = [k for k in by_name if k.startswith(prefix + " (")]
        if len(parts) > 1:
            groups[f"{prefix} (all)"] = [s for k in parts for s in by_name[k]]
    stats = {}
    for name, samples in groups.items():
        times = [ms for ms, _, _ in samples]
        errors = [e for _, ok, e in samples if not ok]
        stats[name] = {
            "count": len(samples),
            "per_s": len(samples) / window,
            "ok_per_s": (len(samples) - len(errors)) / window,
            "p50_ms": statistics.median(times),
            "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99),
            "max_ms": max(times),
            "failures": len(errors),
            "errors": sorted(set(errors))[:5],
        }
    return {"window_s": window, "stats": stats}


def print_phase(report: dict[str, Any]) -> None:
    print(
        f"  measured window {report['window_s']:.0f} s, server CPU {report['server_cpu_s']} s, load average "
        f"{report['load_average_before']:.1f} before, {report['load_average_after']:.1f} after, "
        f"{report['queue_warnings']} waitress queue warnings",
        flush=True,
    )
    for name, s in sorted(report["stats"].items()):
        print(
            f"  {name:<26} {s['count']:>7,} {s['per_s']:8.1f}/s  p50 {s['p50_ms']:7.1f}  p95 {s['p95_ms']:7.1f}  "
            f"p99 {s['p99_ms']:7.1f}  max {s['max_ms']:7.0f} ms  failures {s['failures']}"
            + (f"  {s['errors']}" if s["errors"] else ""),
            flush=True,
        )


def mixed_name(wait: list[float]) -> str:
    return f"mixed {wait[0]:g}–{wait[1]:g} s"


def scaled(mix: dict[str, int], users: int) -> dict[str, int]:
    """MIX scaled to `users`, every role kept, the remainder to the largest."""
    total = sum(mix.values())
    counts = {role: max(1, round(n * users / total)) for role, n in mix.items()}
    counts["coordinator"] += users - sum(counts.values())
    return counts


# -- after the load: correctness, queries, plans ----------------------------------------------------------


def verify(phases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every lead answered 201 exists once, with its id and one report_lead audit entry; no lead exists
    for a post that got no 201; each phase wrote exactly one read audit entry per page it served that
    showed personal data (a case page, an inbox or lead list with rows)."""
    from safetynet.access.models import AuditEntry
    from safetynet.leads.models import Lead

    posted = [p for report in phases.values() for p in report["posted"]]
    accepted = {p["token"]: p["lead_id"] for p in posted if p["status"] == 201}
    found: dict[str, list[int]] = {}
    for lead_id, summary in Lead.objects.filter(summary__contains="压测").values_list("id", "summary"):
        token = re.search(r"（(压测[^）]+)）$", summary)
        if token:
            found.setdefault(token.group(1), []).append(lead_id)
    run_tokens = {p["token"] for p in posted}
    found = {t: ids for t, ids in found.items() if t in run_tokens}
    missing = [t for t in accepted if t not in found]
    repeated = [t for t, ids in found.items() if len(ids) > 1]
    wrong_id = [t for t, i in accepted.items() if t in found and found[t] != [i]]
    unanswered = [t for t in found if t not in accepted]
    first = min(r["audits"][0] for r in phases.values())
    last = max(r["audits"][1] for r in phases.values())
    report_audits: dict[str, int] = {}
    for object_id in AuditEntry.objects.filter(
        id__gt=first, id__lte=last, action="report_lead", object_type="lead"
    ).values_list("object_id", flat=True):
        report_audits[object_id] = report_audits.get(object_id, 0) + 1
    not_audited = [i for i in accepted.values() if report_audits.get(str(i), 0) != 1]
    reads = {}
    for phase, report in phases.items():
        low, high = report["audits"]
        written = AuditEntry.objects.filter(
            id__gt=low, id__lte=high, action="read", object_type__in=("inbox", "cases", "leads", "case")
        ).count()
        reads[phase] = {"pages_showing_personal_data": report["audited_reads"], "read_audit_entries": written}
    result = {
        "posted": len(posted),
        "accepted": len(accepted),
        "found_once": sum(1 for t in accepted if len(found.get(t, [])) == 1),
        "missing": len(missing),
        "repeated": len(repeated),
        "wrong_id": len(wrong_id),
        "found_without_201": len(unanswered),
        "report_lead_audits_ok": len(accepted) - len(not_audited),
        "report_lead_audits_bad": len(not_audited),
        "reads": reads,
    }
    result["ok"] = not (missing or repeated or wrong_id or unanswered or not_audited) and all(
        r["pages_showing_personal_data"] == r["read_audit_entries"] for r in reads.values()
    )
    return result


def profile(accounts: dict[str, list[dict[str, Any]]], inbox: str, out: Path) -> dict[str, Any]:
    """Per request type, in this process with Django's test client on the same database (no load): the
    median of 5 warm requests, the response size, the Django queries of one request and each SELECT's own
    time in PostgreSQL by EXPLAIN (ANALYZE, BUFFERS); every plan goes to `out`."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from safetynet.access.models import User

    def user(role: str) -> User:
        return User.objects.get(username=accounts[role][0]["username"])

    body = {
        "channel": "hotline",
        "summary": "压测剖析：独居老人，生活困难",
        "name": "张伟",
        "age": "67",
        "address_text": next(iter(township_names().values())),
    }
    requests_: list[tuple[str, str, str, str]] = [
        ("inbox", "coordinator", "GET", inbox),
        ("inbox", "township", "GET", inbox),
        ("inbox", "county", "GET", inbox),
        ("leads inbox", "township", "GET", "/leads/"),
        ("leads inbox", "county", "GET", "/leads/"),
        ("case list", "county", "GET", "/cases/?q=王"),
        ("case list", "township", "GET", "/cases/?overdue=1"),
        ("case page", "coordinator", "GET", f"/cases/{accounts['coordinator'][0]['cases'][0]}/"),
        ("baseline", "baseline", "GET", BASELINE_URL),
        ("lead intake", "hotline", "POST", "/api/leads"),
        ("home page of county staff", "county", "GET", "/"),
    ]
    results: dict[str, Any] = {}
    plans: list[str] = []
    for label, role, method, url in requests_:
        client = Client()
        client.force_login(user(role), backend="django.contrib.auth.backends.ModelBackend")

        def send(client: Any = client, method: str = method, url: str = url) -> Any:
            if method == "GET":
                return client.get(url)
            return client.post(url, data=json.dumps(body), content_type="application/json")

        times = []
        for _ in range(6):
            start = time.perf_counter()
            send()
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            answer = send()
        queries = captured.captured_queries
        key = f"{label} ({role})"
        timed = []
        with connection.cursor() as cur:
            for q in queries:
                if not q["sql"].lstrip().upper().startswith("SELECT"):
                    continue
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                plan = "\n".join(r[0] for r in cur.fetchall())
                found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
                pg_ms = float(found.group(1)) if found else 0.0
                timed.append((pg_ms, q["sql"]))
                plans.append(f"-- {key}: {pg_ms:.2f} ms\n{q['sql']}\n{plan}\n")
        timed.sort(key=lambda t: -t[0])
        results[key] = {
            "status": answer.status_code,
            "ms": round(statistics.median(times[1:]), 1),
            "bytes": len(answer.content),
            "queries": len(queries),
            "select_pg_ms": round(sum(t for t, _ in timed), 1),
            "slowest": [(round(t, 2), sql[:400]) for t, sql in timed[:3]],
        }
    out.write_text("\n".join(plans), encoding="utf-8")
    return results


# -- the report -------------------------------------------------------------------------------------------


def markdown(phases: dict[str, dict[str, Any]]) -> str:
    first = next(p for p in phases if p.startswith("mixed"))
    mixed = phases[first]["stats"]
    lines = [
        "| phase | request | count | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase, report in phases.items():
        for name, s in sorted(report["stats"].items()):
            lines.append(
                f"| {phase} | {name} | {s['count']:,} | {s['per_s']:.1f} | {s['p50_ms']:.0f} | "
                f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {s['failures']} |"
            )
    inbox = mixed.get("inbox (all)") or next(v for k, v in mixed.items() if k.startswith("inbox"))
    base = mixed["baseline"]
    intake = phases["intake-max"]["stats"]["lead intake"]
    base_max = phases["baseline-max"]["stats"]["baseline"]
    lines += [
        "",
        f"- inbox p95 {inbox['p95_ms']:.0f} ms / baseline p95 {base['p95_ms']:.0f} ms ({first}) = "
        f"**{inbox['p95_ms'] / base['p95_ms']:.1f}×**; aim p95 ≤ 200 ms: "
        + ("met" if inbox["p95_ms"] <= 200 else "not met"),
        f"- intake {intake['ok_per_s']:.1f} leads/s / baseline {base_max['ok_per_s']:.1f} req/s "
        f"(no think time) = **{intake['ok_per_s'] / base_max['ok_per_s']:.2f}×**",
    ]
    for phase, report in phases.items():
        lines.append(
            f"- {phase}: {report['window_s']:.0f} s measured, server CPU {report['server_cpu_s']:.0f} s, "
            f"{report['queue_warnings']} waitress queue warnings, load average "
            f"{report['load_average_before']:.1f} → {report['load_average_after']:.1f}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=200_000, help="open cases to seed (default 200000)")
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    parser.add_argument("--run-time", default="3m", help="the mixed phase, locust syntax (default 3m)")
    parser.add_argument(
        "--max-time", default=None, help="each no-think-time phase (default: a third of --run-time, ≥ 20s)"
    )
    parser.add_argument(
        "--wait",
        nargs="+",
        default=["2,8", "1,3"],
        help="think time between a user's requests, min,max seconds; one mixed phase per value, the first "
        "is the acceptance figure (default 2,8 1,3)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3,
        help="seconds after the last user started before measuring (default 3)",
    )
    parser.add_argument("--setup-only", action="store_true", help="prepare the database and stop")
    parser.add_argument(
        "--inbox-url",
        default=None,
        help=f"the inbox page (default {INBOX_URL} if it answers 200, else {INBOX_FALLBACK})",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out/leads")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "SAFETYNET_BENCH_DATABASE", "postgresql://postgres@127.0.0.1:5432/bench_leads"
        ),
        help="PostgreSQL URL; _N (persons) is appended (default postgresql://postgres@127.0.0.1:5432/bench_leads)",
    )
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.wait = [[float(x) for x in w.split(",")] for w in args.wait]
    if args.max_time is None:
        seconds = parse_seconds(args.run_time)
        args.max_time = f"{max(20, seconds // 3)}s"
    return args


def parse_seconds(text: str) -> int:
    total = 0
    for number, unit in re.findall(r"(\d+)\s*([hms]?)", text):
        total += int(number) * {"h": 3600, "m": 60, "s": 1, "": 1}[unit]
    return total


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    county = county_dir(ROOT / "bench-out/screening", args.persons)
    database = f"{args.database}_{args.persons}"
    data_dir = args.out / f"data-{args.persons}"
    os.environ["SAFETYNET_DATA_DIR"] = str(data_dir)
    os.environ["SAFETYNET_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    os.environ.pop("SAFETYNET_DEBUG", None)
    setup(database, data_dir)
    from django.conf import settings
    from django.utils import timezone

    assert not settings.DEBUG
    report: dict[str, Any] = {
        "persons": args.persons,
        "cases": args.cases,
        "users": args.users,
        "database": database,
        "date": dt.date.today().isoformat(),
        "cpus": os.cpu_count(),
    }
    report["load"] = load_registry(county)
    print("registry and linkage index:", report["load"] or "cached", flush=True)
    accounts = ensure_users()
    report["seed"] = seed_cases(args.cases, timezone.localdate())
    print("seeded:", report["seed"], flush=True)
    if args.setup_only:
        return
    case_samples(accounts)
    pools = payload_pools(county, accounts)
    for account in accounts["township"]:
        account.update(pool=account["region"][:9], channel="patrol")
    accounts["township"] = [a for a in accounts["township"] if pools.get(a["pool"])]
    for account in accounts["hotline"]:
        account.update(pool="county", channel="hotline")
    print(
        f"accounts: { {r: len(a) for r, a in accounts.items()} }; lead records: {len(pools['county']):,}",
        flush=True,
    )

    code_before = code_state()
    report["commit"] = code_before[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SAFETYNET_DATABASE_URL": database, "SAFETYNET_LOG_LEVEL": "WARNING"}
    server = start_server(port, env, args.out / "server.log")
    phases: dict[str, dict[str, Any]] = {}
    try:
        inbox = choose_inbox(base, accounts, args.inbox_url)
        print(f"server on {base} (pid {server.pid}), inbox page {inbox}", flush=True)
        start = time.perf_counter()
        for role_accounts in accounts.values():
            for account in role_accounts:
                account["cookies"] = signed_in(base, account["username"]).cookies.get_dict()
        print(
            f"signed in {sum(map(len, accounts.values()))} accounts in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        warm_up(base, accounts, inbox)
        common = {
            "host": "127.0.0.1",
            "accounts": accounts,
            "pools": pools,
            "inbox_url": inbox,
            "inbox_marker": INBOX_MARKERS.get(inbox, "<h1>"),
            "baseline_url": BASELINE_URL,
            "baseline_marker": 'data-testid="who"',
            "tasks": TASKS,
        }
        zero = {role: 0 for role in MIX}
        plans = {
            mixed_name(wait): {**common, "users": scaled(MIX, args.users), "wait": wait} for wait in args.wait
        }
        plans |= {
            "baseline-max": {**common, "users": {**zero, "baseline": args.users}, "wait": [0, 0]},
            "intake-max": {
                **common,
                "users": {**zero, "hotline": args.users // 2, "township": args.users - args.users // 2},
                "tasks": {**TASKS, "township": {"intake": 1}},
                "wait": [0, 0],
            },
        }
        run_id = uuid.uuid4().hex[:6]
        for n, (phase, plan) in enumerate(plans.items()):
            phases[phase] = run_locust(phase, {**plan, "run_id": f"{run_id}{n}"}, args, base, server.pid)
            phases[phase]["inbox_url"] = inbox
    finally:
        stop_server(server)
    log = (args.out / "server.log").read_text(encoding="utf-8", errors="replace")
    report["server_log"] = {
        "task_queue_warnings": log.count("Task queue depth"),
        "tracebacks": log.count("Traceback"),
    }
    code_after = code_state()
    report["code_changed_during_run"] = code_after != code_before
    if report["code_changed_during_run"]:
        print(
            f"\nWARNING: the application's code changed during the run ({code_before[0]} → {code_after[0]}): "
            "the server ran the code of the start, the one-request profile below the code of the end",
            flush=True,
        )
    report["phases"] = {p: {k: v for k, v in r.items() if k != "posted"} for p, r in phases.items()}
    report["inbox_url"] = inbox
    report["verify"] = verify(phases)
    print("\nverification:", report["verify"], flush=True)
    report["profile"] = profile(accounts, inbox, args.out / f"plans-{args.persons}.txt")
    print("\none request at a time (test client, warm; PostgreSQL time of its SELECTs by EXPLAIN ANALYZE):")
    for key, p in report["profile"].items():
        print(
            f"  {key:<34} {p['status']} {p['ms']:7.1f} ms {p['bytes'] / 1024:7.0f} KiB {p['queries']:>3} queries, "
            f"SELECTs {p['select_pg_ms']:6.1f} ms in PostgreSQL"
        )
        for ms, sql in p["slowest"][:2]:
            print(f"      {ms:7.2f} ms  {sql[:200]}")
    table = markdown(phases)
    report["markdown"] = table
    path = args.out / f"result-{args.persons}-{args.cases}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print(
        f"\nLeads and inbox at commit {report['commit']}, {args.persons:,} persons, "
        f"{report['seed']['cases_case']:,} open cases, "
        f"{args.users} users; think time in the phase's name, none in the -max phases:\n"
    )
    print(table)
    print(
        f"\nwritten {path}; plans in {args.out / f'plans-{args.persons}.txt'}; server log {args.out / 'server.log'}"
    )
    if not report["verify"]["ok"]:
        raise SystemExit("verification failed (see above)")


if __name__ == "__main__":
    main()
