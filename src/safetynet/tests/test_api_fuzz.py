"""Schemathesis over the whole JSON API, as several roles: no answer is a 5xx, and every answer is one the
OpenAPI document declares, in status, content type and body.

The schema is read from the application (`/api/openapi.json`, signed in), and every request goes through
its WSGI handler in this process, middleware and all: a session cookie and the CSRF header for the staff
routes, a department's bearer token for the lake's push routes. Each role walks every operation with a
bounded number of examples, seeded per role and operation so every run is the same, drawn from three sources: the schema alone (positive), inputs
that break it (negative), and a valid request of the route with a few of its fields fuzzed, aimed at
objects that exist (a case with a referral, a lead, a review, a campaign and its tasks, a policy, a run and
its warnings, a pushed batch), so the fuzz reaches past "not found" and "not allowed" into the services.
Failures are gathered across operations and roles and reported together, each with its request and, for
a 5xx, the server's traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import traceback
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from safetynet import testing
from safetynet.access.models import User
from safetynet.access.services import Actor, create_user
from safetynet.campaigns import services as campaigns
from safetynet.cases.models import Case, Referral
from safetynet.lake import services as lake
from safetynet.leads import services as leads
from safetynet.leads.models import Channel
from safetynet.linkage.models import Review
from safetynet.policies import services as policies
from safetynet.policies.models import Policy
from safetynet.registry.models import Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

COUNTY, TOWNSHIP, VILLAGE = "371522000000", "371522100000", "371522100201"  # 莘县 > 燕店镇 > 东王村
ROLES = [  # (username, role, region, organisation)
    ("admin", "county_admin", COUNTY, ""),
    ("town", "township", TOWNSHIP, ""),
    ("village", "coordinator", VILLAGE, ""),
    ("hotline", "hotline", COUNTY, ""),
    ("ngo", "social_org", COUNTY, ""),
    ("yb", "liaison", COUNTY, "医保局"),
]
# Examples per operation and role: bounded for the test command; raise it for a deeper local walk.
EXAMPLES = int(os.environ.get("SAFETYNET_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CSRF = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # a 32-character CSRF secret, sent as cookie and header alike
TODAY = testing.FROZEN_NOW.date()
# The channel each role reports leads through (access.permissions.REPORT_CHANNELS).
CHANNELS = {
    "admin": "hotline",
    "town": "patrol",
    "village": "visit",
    "hotline": "hotline",
    "ngo": "social_org",
    "yb": "referral",
}
FEED_HEADER = ["claim_id", "id_number", "name", "settle_date", "out_of_pocket"]
# The lake's routes do not declare their errors yet (lake/api.py is to use apierrors.answers): until they
# do, these statuses pass the status check there, and their bodies must still be the API's error shape.


@dataclass
class World:
    known: dict[str, Any]  # path parameter -> an object that exists
    valid: dict[str, dict[str, tuple[Any, ...]]]  # operation label -> its valid request, by field
    token: str


@pytest.fixture
def world(screened_county, make_user) -> World:  # type: ignore[no-untyped-def]
    for username, role, region, organisation in ROLES:
        create_user(username, "correct-horse-battery", role, region, organisation=organisation)

    def actor(name: str) -> Actor:
        return Actor(user=User.objects.get(username=name), purpose="fuzz setup")

    policies.seed_catalog(testing.COUNTY)
    lead = leads.report(
        actor("hotline"),
        leads.LeadInput(Channel.HOTLINE, "孙女无人照顾", {"name": "王建国", "phone": "13812345678"}),
    )
    unidentified = leads.report(
        actor("hotline"),
        leads.LeadInput(Channel.HOTLINE, "有人生病", {"name": "赵无名", "address_text": "燕店镇"}),
    )
    assert lead.case_id and not unidentified.case_id
    referral = Referral.objects.create(
        case_id=lead.case_id,
        department="medical_insurance",
        request="大病医疗再报销",
        due_on=TODAY + dt.timedelta(days=14),
        referred_by=actor("admin").user,
    )
    campaign = campaigns.declare(
        actor("admin"),
        name="汛期排查",
        kind="disaster",
        region_codes=[TOWNSHIP],
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=30),
        target_groups=["covered", "low_income", "elderly_alone", "disabled", "serious_illness"],
    )
    task = campaign.tasks.filter(region_code=VILLAGE).order_by("id").first() or campaign.tasks.first()
    people = list(Person.objects.filter(household__region_code=VILLAGE).order_by("id_number")[:2])
    review = Review.objects.create(
        source="hotline",
        source_ref="fuzz:1",
        fingerprint="f" * 64,
        record={"name": people[0].name, "phone": ""},
        candidates=[
            {"id_number": p.id_number, "probability": 0.6, "explanation": "姓名相同"} for p in people
        ],
        region_code=VILLAGE,
    )
    token = lake.create_token("医保局", ["medical_claims"])
    pushed = Client().post(
        "/api/lake/medical_claims/batches",
        {"file": SimpleUploadedFile("claims.csv", _feed_file(), content_type="text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pushed.status_code == 201, pushed.content
    run = screened_county
    policy = Policy.objects.order_by("id").first()
    assert task and policy
    known = {
        "case_id": lead.case_id,
        "referral_id": referral.pk,
        "lead_id": unidentified.pk,
        "review_id": review.pk,
        "campaign_id": campaign.pk,
        "task_id": task.pk,
        "policy_id": policy.pk,
        "household_id": "H001",
        "run_id": run.pk,
        "warning_id": run.warnings.order_by("id").first().pk,
        "source": "medical_claims",
        "batch_id": pushed.json()["batch_id"],
    }
    # Each route's valid request, field by field: (the good value, odd values to put in its place).
    # A dotted name is a field inside a field. A good value that is a dict maps usernames to values; one
    # that is a function is called when the example is drawn (versions change as the walk goes on).
    text = ("老人独居，无人照顾", "<script>alert(1)</script>", "困" * 3000, " ", "\u202e\x00", "")
    person, other = people[0].id_number, people[1].id_number
    huge = 2**70
    valid = {
        "POST /api/leads": {
            "channel": (CHANNELS, "warning", "x", ""),
            "summary": text,
            "urgent": (False, True),
            "name": ("王建国", "", "王" * 500),
            "phone": ("13812345678", "1381234567x", "+86 138 1234 5678"),
            "id_number": ("", person, person[:-1] + "X", "9" * 18),
            "address_text": ("燕店镇东王村", "", "火星"),
            "birth_date": ("", "1950-02-30", "1950-01-01", "0000-00-00", "昨天"),
            "age": ("", "70", "-1", "9" * 40),
            "region_code": ("", VILLAGE, "x"),
        },
        "POST /api/leads/{lead_id}/assign": {
            "household_id": ("H001", "H002", "nope", ""),
            "region_code": ("", VILLAGE, "x"),
        },
        "POST /api/cases/{case_id}/steps": {
            "action": ("verify", "coordinate", "refer", "decline", "extend", "close", "x"),
            "version": (lambda: Case.objects.get(pk=lead.case_id).version, 0, -1, huge),
            "data.visited_on": (TODAY.isoformat(), "2026-02-30", "9999-12-31", "0", None),
            "data.situation": text,
            "data.monthly_income": ("500", "-1", "1e400", "NaN", "9" * 40, 1e308, huge),
            "data.monthly_expense": ("1200", "0", "inf"),
            "data.hardship": (True, False, "yes"),
            "data.wants_help": (True, False, None),
            "note": text,
        },
        "POST /api/cases/referrals/{referral_id}/answer": {"answer": text, "helped": (True, False)},
        "POST /api/campaigns": {
            "name": ("汛期排查", *text[1:]),
            "kind": ("disaster", "epidemic", "war"),
            "region_codes": ([TOWNSHIP], [VILLAGE], [COUNTY], ["999999999999"], [], ["x" * 500]),
            "starts_on": (TODAY.isoformat(), "2026-02-30", "0001-01-01", "99999-01-01"),
            "ends_on": ((TODAY + dt.timedelta(days=9)).isoformat(), "9999-12-31", "x"),
            "target_groups": (["covered", "low_income"], ["aliens"], []),
        },
        "POST /api/campaigns/tasks/{task_id}/visit": {
            "outcome": ("hardship", "no_hardship", "unreachable", "pending"),
            "findings": text,
            "urgent": (False, True),
        },
        "POST /api/linkage/reviews/{review_id}": {
            "version": (lambda: Review.objects.get(pk=review.pk).version, 0, huge),
            "id_number": (person, other, None, "x", person[:6] + "*" * 12),
        },
        "PUT /api/linkage/thresholds": {"match": (0.9, 0.3, 1e308, 5e-324), "review": (0.4, 0.95, -0.0)},
        "POST /api/policies": _policy(policy, text),
        "PUT /api/policies/{policy_id}": {
            **_policy(policy, text),
            "version": (lambda: Policy.objects.get(pk=policy.pk).version, 99, huge),
        },
        "POST /api/screening/runs": {
            "as_of": (None, TODAY.isoformat(), "2020-01-01", "2099-01-01"),
            "engine": ("duckdb", None),
        },
        "GET /api/linkage/candidates": {
            "name": ("王建国", "王", "赵无名", "%", "_"),
            "phone": ("13812345678", ""),
            "birth_date": ("", "1950-02-30", "1950-01-01"),
            "age": ("", "70", "-1", "9" * 40),
            "region_code": ("", VILLAGE, "x"),
            "limit": ("5", "0", "-1", "100000", "9" * 25),
        },
        "GET /api/registry/persons": {"q": ("王", "1381234", "%", "_", "\\")},
        "GET /api/leads": {"status": ("", "new"), "limit": ("10", "0", "-5", "9" * 25)},
        "GET /api/screening/warnings": {
            "run": (str(run.pk), "0", "9" * 25),
            "region": ("", VILLAGE, "%"),
            "limit": ("10", "0", "9" * 25),
        },
        "GET /api/campaigns/{campaign_id}/tasks": {
            "village": ("", VILLAGE, "%"),
            "limit": ("10", "0", "-5", "9" * 25),
        },
        "GET /api/cases/referrals": {"all": ("true", "false")},
        "POST /api/lake/{source}/batches": {"file": (_feed_file, b"", "\ufeff".encode() + _feed_file())},
    }
    return World(known=known, valid=valid, token=token)


def _policy(policy: Policy, text: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    return {
        "code": ("", "fuzz", policy.code, "x" * 200),
        "title": ("临时救助", *text[1:]),
        "department": ("civil_affairs", "medical_insurance", "mars"),
        "summary": text,
        "conditions": (
            policy.conditions,
            [{"fact": "income_ratio", "op": "<", "value": 1e308}],
            [{"fact": "income_ratio", "op": "<", "value": 2**70}],
            [{"fact": "nope", "op": "==", "value": 1}],
            "x",
            [{}],
        ),
        "active": (True, False),
    }


def _feed_file() -> bytes:
    """A small medical-claims file, new content each time (one good row, one bad)."""
    global _pushes
    _pushes += 1
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FEED_HEADER)
    good_id = testing.make_id_number(dt.date(1970, 1, 1), 1, True)
    writer.writerow([f"C{_pushes}", good_id, "王建国", "2026-01-15", "1200"])
    writer.writerow([f"D{_pushes}", "110105197001010000", "李秀英", "2026-02-30", "-3"])
    return out.getvalue().encode()


_pushes = 0


def _session(username: str) -> dict[str, str]:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


def _schema() -> Any:
    """The OpenAPI document as the application serves it to a signed-in person."""
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    response = client.get("/api/openapi.json")
    assert response.status_code == 200, response
    return schemathesis.openapi.from_dict(response.json())


@contextmanager
def _application() -> Iterator[Any]:
    """The WSGI application, each request inside the test's transaction (as Django's test client keeps
    it: no connection is closed between requests), noting the traceback of any unhandled exception."""
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    app.errors = []  # type: ignore[attr-defined]

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        app.errors.append(traceback.format_exc())  # type: ignore[attr-defined]

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.got_request_exception.connect(record)
    try:
        yield app
    finally:
        signals.got_request_exception.disconnect(record)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_every_operation_answers_within_its_schema_for_every_role(world: World) -> None:
    schema = _schema()
    sessions = {username: _session(username) for username, *_ in ROLES}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    failures: list[str] = []
    with _application() as app:
        for username, *_ in ROLES:
            for operation in operations:
                lake_route = operation.path.startswith("/api/lake/")
                if lake_route and username != "admin":
                    continue  # a department's token, not a role: walked once
                if lake_route:
                    headers, cookies = {"Authorization": f"Bearer {world.token}"}, {}
                else:
                    headers, cookies = {"X-CSRFToken": CSRF}, sessions[username]
                failure = _fuzz(operation, world, username, app, headers, cookies)
                if failure:
                    failures.append(f"== {username} {operation.label}\n{failure}")
    assert not failures, "\n\n".join(failures)


def _strategy(operation: Any, world: World, username: str) -> Any:
    params = {p.name for p in operation.path_parameters}
    known = {name: world.known[name] for name in params if name in world.known}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    valid = world.valid.get(operation.label)
    if known or valid is not None:
        near = _near_valid(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known), valid, username
        )
        strategies += [near, near]  # half of the examples
    strategy = st.one_of(*strategies)
    if operation.label == "POST /api/screening/runs":
        strategy = strategy.map(_duckdb)  # Spark starts a JVM per run: named in the fuzz, run on DuckDB
    return strategy


@st.composite
def _near_valid(draw: Any, cases: Any, valid: dict[str, tuple[Any, ...]] | None, username: str) -> Any:
    """A generated case with the route's valid body (or query) in place of its own, except for at most two
    fields: each of those gets one of its odd values, or keeps what was generated."""
    case = draw(cases)
    if valid is None:
        return case
    odd = draw(st.sets(st.sampled_from(sorted(valid)), max_size=2))
    get = case.operation.method.upper() == "GET"
    generated = (case.query if get else case.body) or {}
    values: dict[str, Any] = {}
    for name, (good, *others) in valid.items():
        if name not in odd:
            values[name] = (
                good.get(username, "") if isinstance(good, dict) else good() if callable(good) else good
            )
        elif others and draw(st.booleans()):
            values[name] = draw(st.sampled_from(others))
        elif isinstance(generated, dict) and name in generated:
            values[name] = generated[name]
    built: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split(".")
        place = built
        for parent in parents:
            place = place.setdefault(parent, {})
        place[leaf] = value
    if get:
        case.query = built
    elif isinstance(generated, dict):
        case.body = built
    return case


def _duckdb(case: Any) -> Any:
    if isinstance(case.body, dict) and case.body.get("engine") == "spark":
        case.body = {**case.body, "engine": "duckdb"}
    return case


def _fuzz(
    operation: Any, world: World, username: str, app: Any, headers: dict[str, str], cookies: dict[str, str]
) -> str:
    """Walk one operation; the first failure found, as text ("" when none)."""
    seen: list[str] = []
    checks = CHECKS

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a bounded run reports what it found
        suppress_health_check=list(HealthCheck),
    )
    @seed(zlib.crc32(f"{username} {operation.label}".encode()))  # deterministic, and different per walk
    @given(case=_strategy(operation, world, username))
    def walk(case: Any) -> None:
        del app.errors[:]
        with transaction.atomic():
            response = case.call(headers=headers, cookies=cookies, app=app)
            if response.status_code >= 500:  # PostgreSQL aborts a transaction on error: undo this one alone
                transaction.set_rollback(True)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, AssertionError) as failure:
            seen.append(str(failure) + "".join(app.errors))
            raise

    try:
        walk()
    except (FailureGroup, AssertionError):
        return seen[-1] if seen else traceback.format_exc()[-4000:]
    except Exception:
        return traceback.format_exc()[-6000:] + "".join(app.errors)
    return ""
