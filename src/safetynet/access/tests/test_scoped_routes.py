"""Walks every registered route: personal data is region-scoped, audited and masked on each one.

A route added later is walked too. If it takes a path parameter this test has no sample for, or it is
not declared public, the test fails until someone decides how it must be scoped.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from safetynet.access.masking import mask_id_number, mask_phone
from safetynet.access.models import AuditEntry
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db

# Routes that show no personal data to anyone, by design.
PUBLIC = {"login/", "logout/", "i18n/setlang/", "api/", "api/docs", "api/openapi.json"}
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def all_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    routes = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += all_routes(entry, route)
        elif isinstance(entry, URLPattern):
            routes.append(route.lstrip("^").rstrip("$"))
    return routes


def identifiers(person: Person) -> list[str]:
    values = [person.name, person.id_number, mask_id_number(person.id_number)]
    if person.phone:
        values += [person.phone, mask_phone(person.phone)]
    return values


def fill(route: str, household_id: str) -> str:
    # Lake pages and the department push API: data admins and department tokens only (lake/tests).
    # Screening: the run, and a warning of the household asked for.
    # Linkage: a review whose best candidate lives in the household's village.
    from safetynet.linkage.models import Review
    from safetynet.registry.models import Household
    from safetynet.screening.models import RiskWarning

    warning = RiskWarning.objects.filter(household_id=household_id).order_by("id").first()
    village = Household.objects.get(pk=household_id).region_code
    review = Review.objects.filter(region_code=village).first()
    from safetynet.leads.models import Lead

    lead = Lead.objects.filter(household_id=household_id).first()
    # Policies: any policy of the county (catalog pages); letters take the household's case above.
    from safetynet.policies.models import Policy

    policy = Policy.objects.order_by("id").first()
    from safetynet.campaigns.models import VisitTask

    task = VisitTask.objects.filter(household_id=household_id).first()
    samples = {
        "household_id": household_id,
        "batch_id": "1",
        "source": "medical_claims",
        "run_id": str(warning.run_id if warning else 1),
        "warning_id": str(warning.pk if warning else 1),
        "review_id": str(review.pk if review else 1),
        "lead_id": str(lead.pk if lead else 1),
        "case_id": str(lead.case_id if lead and lead.case_id else 1),
        "referral_id": "1",  # answered only by POST from the department's liaison (cases.coordination)
        "photo_id": "1",  # none stored in the walk: 404 inside the scope, 403 outside
        "policy_id": str(policy.pk if policy else 1),
        # Campaigns: the campaign of the household's visit task, and that task.
        "campaign_id": str(task.campaign_id if task else 1),
        "task_id": str(task.pk if task else 1),
        # Reports: a monthly report (none made in the walk: 404 to who reads statistics, 403 to others).
        "report_id": "1",
        "kind": "pdf",
        # Jobs hold no personal data (their parameters are ids and dates); a job is shown to whoever may do
        # its work (jobs/tests): none was started in the walk, so 404 to all.
        "job_id": "1",
    }
    missing = [p for p in PARAM.findall(route) if p not in samples]
    assert not missing, f"route {route!r} has parameters {missing}: add samples and decide its scoping"
    return "/" + PARAM.sub(lambda m: samples[m.group(1)], route)


def queue_review_for(person: Person) -> None:
    from safetynet.linkage.services import Linker, queue_reviews

    raw = {"name": person.name, "address_text": person.household.region_code}
    result = Linker().link(raw)
    result.decision = "review"  # whatever the model says: the page must be scoped either way
    if result.best is None:
        raw = {"name": person.name, "id_number": person.id_number}
        result = Linker().link(raw)
        result.decision = "review"
    queue_reviews("hotline", [(person.id_number, raw, result)])


def declare_campaign(user) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from safetynet.access.services import Actor
    from safetynet.campaigns import services as campaigns

    today = dt.date.today()
    campaigns.declare(
        Actor(user=user, purpose="test"),
        name="集中排查",
        kind="disaster",
        region_codes=["371522000000"],
        starts_on=today,
        ends_on=today + dt.timedelta(days=7),
        target_groups=["all"],
    )


def get(client: Client, url: str, query: str) -> tuple[int, str]:
    response = client.get(url, {"q": query, "object_id": query, "name": query})
    if response.get("Content-Type", "").startswith("application/json"):
        # JSON escapes non-ASCII (王 is \u738b): read it decoded, or no name would ever be found in it.
        return response.status_code, json.dumps(response.json(), ensure_ascii=False)
    # A binary body (a PDF letter) is searched as text too, with undecodable bytes replaced.
    return response.status_code, response.content.decode(errors="replace")


def test_every_route_is_scoped_audited_and_masked(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    wang = Person.objects.get(name="王建国")  # H001, 东王村: inside the coordinator's village
    zhang = Person.objects.get(name="张桂兰")  # H002, 西李村: same township, other village
    coordinator = Client()
    coordinator.force_login(make_user("coord", "coordinator", "371522100201"))
    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))

    for person in (wang, zhang):  # a review waiting for each, so the review pages have something to show
        queue_review_for(person)
    from safetynet.policies.services import seed_catalog

    seed_catalog("371522")  # the default catalog, so matches and letters have policies to show
    declare_campaign(make_user("campaigns", "county", "371522000000"))  # a visit task for every household

    routes = [r for r in all_routes() if r not in PUBLIC]
    assert any("households" in r for r in routes) and any("persons" in r for r in routes)
    for route in routes:
        # Outside the region: nothing of 张桂兰 shows, however she is asked for. (A page may echo
        # what was typed, so each query counts as a leak of every identifier but itself.)
        for query in (zhang.name, zhang.id_number, zhang.phone):
            _, body = get(coordinator, fill(route, "H002"), query)
            leaked = [v for v in identifiers(zhang) if v not in query and v in body]
            assert not leaked, f"{route} leaks {leaked} outside the user's region"

        # Inside the region: a read that shows 王建国 is audited, and his identifiers are masked.
        before = AuditEntry.objects.count()
        status, body = get(coordinator, fill(route, "H001"), wang.name)
        # what was typed, echoed back into the form's own field, is not a read of the registry
        if status == 200 and wang.name in body.replace(f'value="{wang.name}"', ""):
            assert AuditEntry.objects.count() > before, f"{route} shows personal data without an audit entry"
            assert wang.id_number not in body and wang.phone not in body, (
                f"{route} shows identifiers unmasked"
            )

        # A social organisation never reads the registry.
        for query in (wang.name, wang.id_number):
            _, body = get(ngo, fill(route, "H001"), query)
            body = body.replace(f'value="{query}"', "")  # their own typing, echoed into the form
            assert wang.name not in body and wang.id_number not in body, (
                f"{route} shows the registry to an NGO"
            )


def test_a_leader_sees_no_person_on_any_route(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    """A leader reads figures only: no name, ID number (whole or masked), phone or household code of any
    person of the county on any page or API route, whatever is asked."""
    leader = Client()
    leader.force_login(make_user("leader", "leader", "371500000000"))
    seen = [v for p in Person.objects.all() for v in (*identifiers(p), p.household_id)]
    for route in (r for r in all_routes() if r not in PUBLIC):
        for household in ("H001", "H002"):
            url = fill(route, household)
            status, body = get(leader, url, "查询")
            leaked = [v for v in seen if v in body and v not in url]  # a page may name the address asked for
            assert not leaked, f"{route} shows {leaked} to a leader (status {status})"


def test_anonymous_requests_see_nothing(screened_county) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    wang = Person.objects.get(name="王建国")
    for route in all_routes():
        if route in PUBLIC:
            continue
        status, body = get(client, fill(route, "H001"), wang.name)
        # 405: a POST-only route refuses the GET before it looks at who asks; it shows nothing either way.
        assert status in (302, 401, 403, 405), f"{route} answers {status} without login"
        assert wang.name not in body
