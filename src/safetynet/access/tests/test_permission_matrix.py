"""Every (role, capability) pair over HTTP: the server allows exactly what `access.permissions` grants.

For each capability there is a probe: a request that performs the action against state prepared so the
action would succeed. Each role in turn sends it, signed in at a region of its level that holds the
state. A role the table grants must succeed; any other gets 403, nothing changes, and the refusal is in
the audit trail. A capability added to the table without a probe fails this test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from safetynet import testing
from safetynet.access.models import AuditEntry, User
from safetynet.access.permissions import GRANTS, Cap
from safetynet.access.roles import Role
from safetynet.cases.models import Case, Referral, Step

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

COUNTY, TOWNSHIP, VILLAGE = "371522000000", "371522100000", "371522100201"  # 莘县 > 燕店镇 > 东王村 (H001)
HOME = {
    Role.COORDINATOR: VILLAGE,
    Role.TOWNSHIP: TOWNSHIP,
    Role.COUNTY: COUNTY,
    Role.COUNTY_ADMIN: COUNTY,
    Role.HOTLINE: COUNTY,
    Role.SOCIAL_ORG: COUNTY,
    Role.LIAISON: COUNTY,
    Role.LEADER: COUNTY,
    Role.AUDITOR: COUNTY,
}
PNG = testing.picture("PNG")
SUCCESS = (200, 201, 302)


@dataclass
class World:
    """The state probes act on, built once per capability; `other` is a second staff account, so
    two-person steps (confirm, paperwork, case-by-case) have someone else's step before them."""

    users: dict[str, User]
    other: User
    made: list[Any] = field(default_factory=list)

    def case(self, stage: str, **extra: Any) -> Case:
        """H001's open case at `stage` (any earlier open case of H001 is closed first)."""
        Case.objects.filter(household_id="H001", status="open").update(status="closed", stage="closed")
        return Case.objects.create(household_id="H001", region_code=VILLAGE, stage=stage, **extra)

    def step(self, case: Case, action: str, data: dict[str, Any]) -> None:
        Step.objects.create(
            case=case, action=action, from_stage=case.stage, to_stage=case.stage, data=data, actor=self.other
        )


def step_probe(stage: str, action: str, data: dict[str, Any], prepare: Callable[..., Any] | None = None):  # type: ignore[no-untyped-def]
    def probe(world: World, client: Client, role: str) -> Any:
        case = world.case(stage)
        if prepare:
            prepare(world, case)
            case.refresh_from_db()
        body = {"action": action, "version": case.version, "data": data}
        return post(client, f"/api/cases/{case.pk}/steps", body)

    return probe


def post(client: Client, url: str, body: Any, method: str = "post") -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


TODAY = testing.FROZEN_NOW.date()
VISIT = {
    "visited_on": TODAY.isoformat(),
    "hardship": True,
    "situation": "核实",
    "monthly_income": "600",
    "monthly_expense": "0",
    "wants_help": True,
}
LATER = (TODAY + dt.timedelta(days=30)).isoformat()


def applied(world: World, case: Case) -> None:
    world.step(case, "verify", VISIT)
    world.step(case, "apply", {"program": "dibao"})


def reviewed(world: World, case: Case) -> None:
    # Each role's confirmation grants dibao; the next one starts from a household without it.
    from safetynet.registry.models import Assistance

    Assistance.objects.filter(household_id="H001", program__in=["dibao", "tekun"]).delete()
    applied(world, case)
    world.step(case, "review", {"approved": True, "monthly_amount": "500.00"})


def paid_first(world: World, case: Case) -> None:
    world.step(case, "grant_first", {"amount": "500.00", "reason": "急难", "routed": "paid"})
    Case.objects.filter(pk=case.pk).update(paperwork_due=TODAY + dt.timedelta(days=5))


def asked_first(world: World, case: Case) -> None:
    world.step(case, "grant_first", {"amount": "9000.00", "reason": "房屋倒塌", "routed": "case_by_case"})
    Case.objects.filter(pk=case.pk).update(pending_amount=Decimal("9000"))


def verified_visit(world: World, case: Case) -> None:
    world.step(case, "verify", VISIT)


def photo_probe(world: World, client: Client, role: str) -> Any:
    case = world.case("verified")
    verified_visit(world, case)
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(f"/api/cases/{case.pk}/photos", {"files": [SimpleUploadedFile("a.png", PNG)]})


def letter_probe(world: World, client: Client, role: str) -> Any:
    case = world.case("verified")
    return client.get(f"/cases/{case.pk}/letter/")


def referral(world: World) -> Referral:
    case = world.case("helping", coordination=True)
    return Referral.objects.create(
        case=case, department="medical_insurance", request="大病再报销", due_on=LATER, referred_by=world.other
    )


def answer_probe(world: World, client: Client, role: str) -> Any:
    found = referral(world)
    return post(client, f"/api/cases/referrals/{found.pk}/answer", {"answer": "已办理", "helped": True})


def unidentified_lead(world: World, region: str) -> int:
    from safetynet.leads.models import Lead

    lead = Lead.objects.create(
        channel="hotline", summary="有人生病", details={"name": "赵无名"}, region_code=region
    )
    return lead.pk


def identify_probe(world: World, client: Client, role: str) -> Any:
    lead_id = unidentified_lead(world, VILLAGE)
    return post(client, f"/api/leads/{lead_id}/assign", {"household_id": "H001"})


def assign_probe(world: World, client: Client, role: str) -> Any:
    lead_id = unidentified_lead(world, TOWNSHIP if role != Role.COORDINATOR else VILLAGE)
    return post(client, f"/api/leads/{lead_id}/assign", {"region_code": VILLAGE})


def report_probe(world: World, client: Client, role: str) -> Any:
    from safetynet.access.permissions import REPORT_CHANNELS

    channel = (REPORT_CHANNELS.get(role) or ("visit",))[0]
    body = {"channel": channel, "summary": "老人独居无人照料", "name": "王建国", "phone": "13812345678"}
    return post(client, "/api/leads", body)


def review_probe(world: World, client: Client, role: str) -> Any:
    from safetynet.linkage.services import Linker, queue_reviews

    # A record of its own for each role: a decided record is not queued twice.
    raw = {"name": "王建国", "phone": "13812345678", "age": str(60 + list(Role).index(Role(role)))}
    result = Linker().link(raw)
    result.decision = "review"
    queue_reviews("test", [(f"r{role}", raw, result)])
    from safetynet.linkage.models import Review

    found = Review.objects.order_by("-id").first()
    assert found is not None and found.region_code == VILLAGE
    return post(client, f"/api/linkage/reviews/{found.pk}", {"version": found.version, "id_number": None})


def campaign_body(role: str) -> dict[str, Any]:
    return {
        "name": "暴雨排查",
        "kind": "disaster",
        "region_codes": [TOWNSHIP],
        "starts_on": TODAY.isoformat(),
        "ends_on": LATER,
        "target_groups": ["all"],
    }


def visit_probe(world: World, client: Client, role: str) -> Any:
    from safetynet.access.services import Actor
    from safetynet.campaigns import services as campaigns

    campaign = campaigns.declare(Actor(world.other, "test"), **campaign_body(role))  # type: ignore[arg-type]
    task = campaign.tasks.get(household_id="H001")
    return post(client, f"/api/campaigns/tasks/{task.pk}/visit", {"outcome": "no_hardship"})


def settings_probe(world: World, client: Client, role: str) -> Any:
    from safetynet.cases.actions import DEFAULT_DEADLINES

    form = {**{k: str(v) for k, v in DEFAULT_DEADLINES.items()}, "temporary_cap": "3000"}
    form.update(amount_rounding="1", repeat_window_days="90", township_decides="no")
    return client.post("/cases/settings/", form)


def full_identifiers_probe(world: World, client: Client, role: str) -> Any:
    """Granted: whole ID numbers on the household API (any reader of the registry; else 403)."""
    response = client.get("/api/registry/households/H001")
    if response.status_code != 200:
        return response
    from safetynet.registry.models import Person

    whole = Person.objects.get(name="王建国").id_number
    shown = [m["id_number"] for m in response.json()["members"]]
    response.status_code = 200 if whole in shown else 403  # masked: the whole number was refused
    return response


def sensitive_probe(world: World, client: Client, role: str) -> Any:
    """Granted: health, disability and income on the household API (any reader of the registry; else 403)."""
    response = client.get("/api/registry/households/H001")
    if response.status_code != 200:
        return response
    shown = response.json()
    hidden = shown["monthly_income"] is None and all(m["disability_level"] is None for m in shown["members"])
    response.status_code = 403 if hidden else 200
    return response


def call_probe(world: World, client: Client, role: str) -> Any:
    """Granted: ringing 王建国 from his household's page hands the dialer his whole number."""
    from safetynet.access.services import subject_of
    from safetynet.registry.models import Person

    wang = Person.objects.get(name="王建国")
    response = client.post(
        f"/registry/households/{wang.household_id}/call/", {"member": subject_of(wang.id_number)}
    )
    if response.status_code == 302:
        assert response["Location"] == "tel:" + wang.phone
        response.status_code = 200
    return response


def referral_identity_probe(world: World, client: Client, role: str) -> Any:
    """Granted: the whole ID number of the head of a household referred to the department (else masked,
    or no referral page at all)."""
    found = referral(world)
    response = client.get("/cases/referrals/")
    if response.status_code != 200:
        return response
    from safetynet.registry.models import Household

    whole = Household.objects.get(pk=found.case.household_id).head_id_number
    response.status_code = 200 if whole in response.content.decode() else 403
    return response


# Answers that show less rather than refuse: a 403 stands for "shown masked or without the details".
SHOWN_LESS = {Cap.FULL_IDENTIFIERS, Cap.SENSITIVE, Cap.REFERRAL_IDENTITY}

PROBES: dict[Cap, Callable[[World, Client, str], Any]] = {
    Cap.READ_REGISTRY: lambda w, c, r: c.get("/api/registry/households/H001"),
    Cap.FULL_IDENTIFIERS: full_identifiers_probe,
    Cap.SENSITIVE: sensitive_probe,
    Cap.CALL: call_probe,
    Cap.READ_WARNINGS: lambda w, c, r: c.get("/api/screening/warnings"),
    Cap.READ_STATISTICS: lambda w, c, r: c.get("/api/registry/statistics"),
    Cap.READ_AUDIT: lambda w, c, r: c.get("/audit/"),
    Cap.MANAGE_USERS: lambda w, c, r: c.post(
        "/users/",
        {
            "username": f"new_{r}",
            "full_name": "王新",
            "password": "correct-horse-9",
            "role": "coordinator",
            "region_code": VILLAGE,
        },
    ),
    Cap.READ_BATCHES: lambda w, c, r: c.get("/lake/"),
    Cap.MANAGE_TOKENS: lambda w, c, r: c.post(
        "/lake/", {"department": "医保局", "sources": ["medical_claims"]}
    ),
    Cap.READ_JOBS: lambda w, c, r: c.get("/jobs/"),
    Cap.MANAGE_SCHEDULES: lambda w, c, r: c.post(
        "/jobs/schedules/save/", {"kind": "nightly_screening", "enabled": "on", "time": "03:00"}
    ),
    Cap.RUN_SCREENING: lambda w, c, r: post(c, "/api/screening/runs", {}),
    Cap.TUNE_RULES: lambda w, c, r: c.get("/screening/rules/"),
    Cap.EXPORT_WARNINGS: lambda w, c, r: c.get("/screening/warnings/export.csv"),
    Cap.EXPORT_CASES: lambda w, c, r: c.get("/cases/export.xlsx"),
    Cap.LOOKUP: lambda w, c, r: c.get("/api/linkage/candidates", {"name": "王建国", "phone": "13812345678"}),
    Cap.DECIDE_REVIEWS: review_probe,
    Cap.LINKAGE_SETTINGS: lambda w, c, r: post(
        c, "/api/linkage/thresholds", {"match": 0.9, "review": 0.5}, "put"
    ),
    Cap.REPORT_LEAD: report_probe,
    Cap.READ_LEADS: lambda w, c, r: c.get("/api/leads"),
    Cap.EXPORT_LEADS: lambda w, c, r: c.get("/leads/export.xlsx"),
    Cap.IDENTIFY_LEAD: identify_probe,
    Cap.ASSIGN_LEAD: assign_probe,
    Cap.READ_CASES: lambda w, c, r: c.get("/api/cases"),
    Cap.VERIFY: step_probe("new", "verify", VISIT),
    Cap.INFORM: step_probe("verified", "inform", {"policies": "低保"}, verified_visit),
    Cap.DECLINE: step_probe(
        "verified", "decline", {"reason": "不愿申请", "follow_up_on": LATER}, verified_visit
    ),
    Cap.APPLY: step_probe("informed", "apply", {"program": "dibao"}, verified_visit),
    Cap.EXTEND: step_probe("applying", "extend", {"reason": "补材料"}, applied),
    Cap.REVIEW: step_probe("applying", "review", {"approved": True, "monthly_amount": "500"}, applied),
    Cap.DECIDE: step_probe("reviewed", "decide", {"approved": True, "monthly_amount": "500"}, reviewed),
    Cap.FOLLOW_UP: step_probe("helping", "follow_up", {"findings": "稳定", "follow_up_on": LATER}),
    Cap.CLOSE: step_probe("helping", "close", {}),
    Cap.COORDINATE: step_probe("verified", "coordinate", {"reason": "多部门"}, verified_visit),
    Cap.REFER: step_probe(
        "verified", "refer", {"department": "education", "request": "复学"}, verified_visit
    ),
    Cap.GRANT_FIRST: step_probe("new", "grant_first", {"amount": "800", "reason": "急难"}),
    Cap.COMPLETE_PAPERWORK: step_probe("verified", "complete_paperwork", {"reason": "已补齐"}, paid_first),
    Cap.APPROVE_AMOUNT: step_probe(
        "verified", "approve_amount", {"approved": True, "reason": "集体研究"}, asked_first
    ),
    Cap.ADD_PHOTOS: photo_probe,
    Cap.PRINT_LETTER: letter_probe,
    Cap.READ_REFERRALS: lambda w, c, r: c.get("/api/cases/referrals"),
    Cap.ANSWER_REFERRAL: answer_probe,
    Cap.REFERRAL_IDENTITY: referral_identity_probe,
    Cap.CASE_SETTINGS: settings_probe,
    Cap.READ_POLICIES: lambda w, c, r: c.get("/api/policies"),
    Cap.EDIT_POLICIES: lambda w, c, r: post(
        c, "/api/policies", {"code": f"p-{r}", "title": "取暖", "department": "civil_affairs"}
    ),
    Cap.DECLARE_CAMPAIGN: lambda w, c, r: post(c, "/api/campaigns", campaign_body(r)),
    Cap.VISIT: visit_probe,
    Cap.CAMPAIGN_PROGRESS: lambda w, c, r: c.get("/api/campaigns"),
}

# What a refused request must leave as it was.
WATCHED = [
    "cases.Case",
    "cases.Step",
    "cases.Referral",
    "cases.Photo",
    "cases.DeadlinePolicy",
    "leads.Lead",
    "registry.Assistance",
    "registry.VerifiedIncome",
    "policies.Policy",
    "campaigns.Campaign",
    "campaigns.VisitTask",
    "access.User",
    "lake.DepartmentToken",
    "screening.Run",
    "screening.RulePack",
    "linkage.LinkageModel",
]


def state() -> tuple[Any, ...]:
    counts = tuple(apps.get_model(name).objects.count() for name in WATCHED)
    cases = tuple(Case.objects.order_by("id").values_list("id", "stage", "status", "version"))
    leads = tuple(
        apps.get_model("leads.Lead").objects.order_by("id").values_list("id", "region_code", "case_id")
    )
    tasks = tuple(apps.get_model("campaigns.VisitTask").objects.order_by("id").values_list("id", "status"))
    reviews = tuple(apps.get_model("linkage.Review").objects.order_by("id").values_list("id", "status"))
    answers = tuple(Referral.objects.order_by("id").values_list("id", "answered_at"))
    active = tuple(User.objects.order_by("id").values_list("id", "is_active"))
    return counts, cases, leads, tasks, reviews, answers, active


@pytest.fixture
def world(household_facts, make_user) -> World:  # type: ignore[no-untyped-def]
    from safetynet.policies import services as policies

    policies.seed_catalog("371522", by="test")
    users = {}
    for role, region in HOME.items():
        extra = {"organisation": "医保局"} if role == Role.LIAISON else {}
        user = make_user(role.value, role.value, region)
        if extra:
            User.objects.filter(pk=user.pk).update(**extra)
            user.refresh_from_db()
        users[role.value] = user
    other = make_user("other_county", "county_admin", COUNTY)  # holds every step capability used before
    return World(users, other)


def test_every_capability_has_a_probe() -> None:
    assert set(PROBES) == set(Cap), set(Cap) - set(PROBES)


@pytest.mark.parametrize("cap", list(Cap), ids=lambda c: c.value)
def test_each_role_may_do_exactly_what_the_table_grants(cap: Cap, world: World, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    for role in Role:
        client = Client()
        client.force_login(world.users[role.value])
        granted = role in GRANTS[cap]
        probe = PROBES[cap]
        if granted:
            response = probe(world, client, role.value)
            assert response.status_code in SUCCESS, (
                cap.value,
                role.value,
                response.status_code,
                body(response),
            )
            continue
        # Prepare the state first, then see that the refused request changes none of it.
        last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = run_refused(probe, world, client, role.value)
        assert response.status_code == 403, (cap.value, role.value, response.status_code, body(response))
        denied = AuditEntry.objects.filter(id__gt=last_audit, action="denied", username=role.value)
        if cap not in SHOWN_LESS or Cap.READ_REGISTRY not in world.users[role.value].caps:
            assert denied.exists(), (cap.value, role.value, "refusal not audited")


def run_refused(probe: Callable[[World, Client, str], Any], world: World, client: Client, role: str) -> Any:
    """Runs the probe, comparing the world before and after the request itself (not the preparation):
    a refused probe's preparation is captured by wrapping the client."""
    before: list[Any] = []

    class Watching:
        def __getattr__(self, name: str) -> Any:
            method = getattr(client, name)
            if name not in ("get", "post", "put", "patch", "delete"):
                return method

            def call(*args: Any, **kwargs: Any) -> Any:
                before.append(state())
                response = method(*args, **kwargs)
                assert state() == before[-1], (role, args[0], "a refused request changed something")
                return response

            return call

    return probe(world, Watching(), role)  # type: ignore[arg-type]


def body(response: Any) -> str:
    return response.content.decode(errors="replace")[:300]


def test_a_township_confirms_only_where_its_county_delegates(world: World) -> None:
    town = Client()
    town.force_login(world.users["township"])
    decide = PROBES[Cap.DECIDE]
    assert decide(world, town, "township").status_code == 403
    admin = Client()
    admin.force_login(world.other)
    assert settings_probe(world, admin, "county_admin").status_code == 302
    from safetynet.cases.actions import DEFAULT_DEADLINES

    form = {**{k: str(v) for k, v in DEFAULT_DEADLINES.items()}, "temporary_cap": "3000"}
    form.update(amount_rounding="1", repeat_window_days="90", township_decides="yes")
    assert admin.post("/cases/settings/", form).status_code == 302
    town = Client()
    town.force_login(User.objects.get(pk=world.users["township"].pk))
    response = decide(world, town, "township")
    assert response.status_code == 200, body(response)
    assert response.json()["stage"] == "helping"
    # The same person may not review and confirm.
    case = world.case("applying")
    reviewed(world, case)  # clears the dibao just granted …
    Step.objects.filter(case=case, action="review").delete()  # … and leaves the application to review
    case.refresh_from_db()
    reviewed_now = post(
        town,
        f"/api/cases/{case.pk}/steps",
        {"action": "review", "version": case.version, "data": {"approved": True, "monthly_amount": "500"}},
    )
    assert reviewed_now.status_code == 200
    assert "decide" not in reviewed_now.json()["next_actions"]  # not offered to the reviewer …
    again = post(
        town,
        f"/api/cases/{case.pk}/steps",
        {
            "action": "decide",
            "version": reviewed_now.json()["version"],
            "data": {"approved": True, "monthly_amount": "500"},
        },
    )
    assert again.status_code == 422 and again.json()["code"] == "same_person"  # … nor allowed


def test_amounts_follow_the_county_standard(world: World) -> None:
    """H001: three members, 1,100 a month (366.67 each) against a rural dibao of 780: at most
    (780 − 366.67) × 3 = 1,239.99, rounded up to whole yuan: 1,240. Tekun: 1,014 × 3."""
    county = Client()
    county.force_login(world.users["county"])
    for amount, ok in (("9999999", False), ("1241", False), ("1240", True)):
        case = world.case("reviewed")
        reviewed(world, case)
        case.refresh_from_db()
        response = post(
            county,
            f"/api/cases/{case.pk}/steps",
            {
                "action": "decide",
                "version": case.version,
                "data": {"approved": True, "monthly_amount": amount},
            },
        )
        assert (response.status_code == 200) == ok, (amount, body(response))
        if not ok:
            assert (
                "monthly_amount" in response.json()["fields"] and "低保金最多" in response.json()["message"]
            )
    from safetynet.registry.models import Assistance

    Assistance.objects.filter(household_id="H001", program="dibao").delete()
    case = world.case("reviewed")
    world.step(case, "apply", {"program": "tekun"})
    world.step(case, "review", {"approved": True})
    case.refresh_from_db()
    refused = post(
        county,
        f"/api/cases/{case.pk}/steps",
        {"action": "decide", "version": case.version, "data": {"approved": True, "monthly_amount": "50000"}},
    )
    assert refused.status_code == 422 and "特困供养金最多" in refused.json()["message"]
