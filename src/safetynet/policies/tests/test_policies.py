"""Policies on the small test county: facts, matching with reasons, condition checks, scope, the catalog."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from typer.testing import CliRunner

from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cli import app
from safetynet.policies import conditions, services
from safetynet.policies.catalog import DEFAULT_POLICIES
from safetynet.policies.models import Policy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
COUNTY = "371522"


def actor(make_user, name: str, role: str, region: str) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user=make_user(name, role, region), purpose="test")


def good(**changes: object) -> services.PolicyInput:
    values: dict = {
        "code": "heating",
        "title": "取暖补贴",
        "department": "civil_affairs",
        "summary": "冬季取暖",
        "conditions": [{"fact": "income_ratio", "op": "<=", "value": 1.5}],
        "how_to_apply": "向乡镇提出",
        "contacts": "县民政局",
    }
    values.update(changes)
    return services.PolicyInput(**values)


def test_household_facts_from_the_registry(household_facts) -> None:  # type: ignore[no-untyped-def]
    h1 = services.household_facts("H001").values
    assert h1["members"] == 3 and h1["per_capita_income"] == Decimal("366.67")
    assert h1["dibao_standard"] == Decimal("780") and h1["income_ratio"] == Decimal("0.47")
    assert h1["has_child"] and h1["has_student"] and h1["has_elderly_60"] and not h1["has_elderly_70"]
    assert not h1["elderly_alone"] and not h1["has_disabled"] and h1["disability_level"] is None
    assert h1["programs"] == [] and not h1["is_covered"]  # the 2023 temporary help has ended
    assert h1["area_type"] == "rural" and h1["self_care"] == "full"
    assert h1["no_able_worker"]  # two people over 60 and a child: nobody of working age

    h2 = services.household_facts("H002").values
    assert h2["members"] == 1 and h2["oldest_age"] == 85 and h2["elderly_alone"] and h2["has_elderly_80"]
    assert h2["has_disabled"] and h2["disability_level"] == 2 and h2["has_severe_disability"]
    assert h2["self_care"] == "none" and h2["no_able_worker"]
    assert h2["programs"] == ["tekun"] and h2["is_covered"] and h2["income_ratio"] == 0

    h3 = services.household_facts("H003").values
    assert h3["income_ratio"] == Decimal("3.21") and h3["has_unemployed"] is False
    assert not h3["no_able_worker"] and not h3["has_elderly_60"]

    # No standard on file for the year: the ratio is unknown and a condition over it holds nothing.
    from safetynet import testing
    from safetynet.registry.models import Standard

    Standard.objects.filter(year=2026).delete()
    testing.compute_facts()
    old = services.household_facts("H001").values
    assert old["income_ratio"] is None
    assert not conditions.holds({"fact": "income_ratio", "op": "<=", "value": 100}, old)


def test_matching_says_why_in_chinese_and_is_audited(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    assert services.seed_catalog(COUNTY) == len(DEFAULT_POLICIES) >= 12
    assert services.seed_catalog(COUNTY) == 0  # idempotent
    town = actor(make_user, "town", "township", "371522100000")
    found = {m.code: m for m in services.matching(town, "H001")}
    assert {"dibao", "education_aid", "rural_housing", "relapse_monitoring", "legal_aid"} <= set(found)
    assert not {"tekun", "elderly_allowance", "disability_care", "insurance_subsidy"} & set(found)
    assert found["dibao"].why == "家庭人均月收入 366.67 元，低于低保标准 780 元；家庭目前未享受低保或特困供养"
    assert "不超过低保标准 780 元的 1.5 倍" in found["education_aid"].why
    assert "家中有在校学生" in found["education_aid"].reasons
    entry = AuditEntry.objects.get(action="read", object_type="policy_match", object_id="H001")
    assert entry.username == "town" and entry.region_code == "371522100201" and "dibao" in entry.detail

    found = {m.code: m for m in services.matching(town, "H002")}
    assert {
        "disability_care",
        "elderly_allowance",
        "elderly_visits",
        "insurance_subsidy",
        "winter_heating",
    } <= set(found)
    assert "dibao" not in found and "tekun" not in found  # already covered by tekun
    assert found["elderly_allowance"].why == "家中有 80 周岁及以上老人（最年长 85 岁）"
    assert found["elderly_visits"].why == "老年人独自生活（85 岁）"
    county_staff = actor(make_user, "staff", "county", "371522000000")
    assert services.matching(county_staff, "H003") == []  # 刘强: income 3.2 times the standard

    # A retired policy is never offered.
    Policy.objects.filter(code="elderly_allowance").update(active=False)
    assert "elderly_allowance" not in {m.code for m in services.matching(town, "H002")}


def test_matching_is_scoped_to_the_actor_region(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    services.seed_catalog(COUNTY)
    coordinator = actor(make_user, "coord", "coordinator", "371522100201")  # 东王村: H001
    assert services.matching(coordinator, "H001")
    with pytest.raises(services.NotFound):
        services.matching(coordinator, "H002")  # 西李村, same township
    with pytest.raises(services.NotFound):
        services.matching(coordinator, "NOPE")
    assert not AuditEntry.objects.filter(object_type="policy_match", object_id="H002").exists()
    ngo = actor(make_user, "ngo", "social_org", "371522000000")
    for call in (
        lambda: services.matching(ngo, "H001"),
        lambda: services.catalog(ngo),
        lambda: services.create_policy(ngo, good()),
        lambda: services.letter_pdf(ngo, "H001", 1, []),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_catalog_titles_for_the_inform_step(county) -> None:  # type: ignore[no-untyped-def]
    services.seed_catalog(COUNTY)
    titles = services.catalog_titles(COUNTY)
    assert titles["dibao"] == "最低生活保障" and titles["legal_aid"] == "法律援助"
    assert services.catalog_titles("371522100201") == titles  # any code of the county
    assert services.catalog_titles("110105") == {}
    Policy.objects.filter(code="legal_aid").update(active=False)
    assert "legal_aid" not in services.catalog_titles(COUNTY)  # a retired policy is not told any more


HOSTILE = "__import__('os').system('id')"
SQL = "1; DROP TABLE policies_policy; --"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([{"fact": "income", "op": "<", "value": 1}], "未知的条件项「income」"),
        ([{"fact": HOSTILE, "op": "==", "value": True}], "未知的条件项"),
        ([{"fact": "income_ratio", "op": HOSTILE, "value": 1}], "不能使用运算符"),
        ([{"fact": "income_ratio", "op": SQL, "value": 1}], "不能使用运算符"),
        (
            [{"fact": "has_disabled", "op": "<", "value": True}],
            "「有残疾人」不能使用运算符「<」，可用：==、!=",
        ),
        ([{"fact": "income_ratio", "op": "<=", "value": "1.5"}], "的值应为数字"),
        ([{"fact": "income_ratio", "op": "<=", "value": HOSTILE}], "的值应为数字"),
        ([{"fact": "income_ratio", "op": "<=", "value": True}], "的值应为数字"),
        ([{"fact": "income_ratio", "op": "<=", "value": float("nan")}], "的值应为数字"),
        ([{"fact": "income_ratio", "op": "<=", "value": 1000}], "的值应在 0 到 100"),
        ([{"fact": "has_disabled", "op": "==", "value": 1}], "的值应为 是 或 否"),
        ([{"fact": "area_type", "op": "==", "value": SQL}], "没有选项"),
        ([{"fact": "area_type", "op": "in", "value": [["rural"]]}], "没有选项"),
        ([{"fact": "programs", "op": "includes", "value": "dibao' OR 1=1 --"}], "没有选项"),
        ([{"fact": "income_ratio", "op": "<=", "value": 1, "__class__": "x"}], "不认识的字段"),
        ([{"fact": "income_ratio", "op": "<="}], "缺少「value」"),
        (["income_ratio <= 1.5"], "应为包含 fact、op、value 三项的对象"),
        ({"fact": "income_ratio", "op": "<=", "value": 1}, "应为条件列表"),
        (HOSTILE, "不是有效的 JSON"),
        ("[{", "不是有效的 JSON"),
        ([{"fact": "income_ratio", "op": "<=", "value": 1}] * 200, "内容过长"),
        ([{"fact": "income_ratio", "op": "<=", "value": 1}] * 21, "最多 20 条"),
        ([{"fact": "x" * 10_000, "op": "<=", "value": 1}], "内容过长"),
    ],
)
def test_bad_conditions_are_refused_in_chinese_and_nothing_is_saved(county, make_user, bad, message) -> None:  # type: ignore[no-untyped-def]
    admin = actor(make_user, "admin", "county_admin", "371522000000")
    with pytest.raises(services.PolicyRejected) as refused:
        services.create_policy(admin, good(conditions=bad))
    assert message in str(refused.value)
    assert len(str(refused.value)) < 300  # the hostile text is quoted back short, if at all
    assert not Policy.objects.exists()
    assert not AuditEntry.objects.filter(action="create_policy").exists()
    with pytest.raises(conditions.ConditionError):
        Policy(county_code=COUNTY, code="x1", title="t", department="civil_affairs", conditions=bad).save()
    assert not Policy.objects.exists()


def test_form_rows_accept_words_a_clerk_types() -> None:
    rows = [
        ("income_ratio", "<=", "1.5"),
        ("", "", ""),
        ("has_disabled", "==", "是"),
        ("self_care", "in", "完全不能自理、partial"),
        ("programs", "excludes", "低保"),
        ("area_type", "==", "农村"),
    ]
    assert conditions.from_rows(rows) == [
        {"fact": "income_ratio", "op": "<=", "value": 1.5},
        {"fact": "has_disabled", "op": "==", "value": True},
        {"fact": "self_care", "op": "in", "value": ["none", "partial"]},
        {"fact": "programs", "op": "excludes", "value": "dibao"},
        {"fact": "area_type", "op": "==", "value": "rural"},
    ]
    with pytest.raises(
        conditions.ConditionError, match="第 1 行条件：「人均收入与低保标准之比」的值应为数字"
    ):
        conditions.from_rows([("income_ratio", "<=", "一点五")])
    with pytest.raises(conditions.ConditionError, match="第 2 行条件：请填写值"):
        conditions.from_rows([("members", ">=", "2"), ("has_child", "==", " ")])
    assert (
        conditions.describe({"fact": "income_ratio", "op": "<=", "value": 1.5})
        == "人均收入与低保标准之比 ≤ 1.5倍"
    )


def test_catalog_is_kept_by_county_staff_only_and_every_write_is_audited(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = actor(make_user, "admin", "county_admin", "371522000000")
    staff = actor(make_user, "staff", "county", "371522000000")
    policy = services.create_policy(admin, good())
    assert policy.county_code == COUNTY and policy.version == 0
    created = AuditEntry.objects.get(action="create_policy")
    assert created.object_id == str(policy.pk) and created.region_code == "371522000000"
    with pytest.raises(services.PolicyRejected, match="本县已有编号为 heating 的政策"):
        services.create_policy(staff, good(title="重复"))

    changed = services.update_policy(staff, policy.pk, good(title="冬季取暖补贴"), version=0)
    assert changed.title == "冬季取暖补贴" and changed.version == 1 and changed.updated_by == "staff"
    assert "changed=title" in AuditEntry.objects.get(action="update_policy").detail
    with pytest.raises(services.Conflict, match="已被他人修改"):
        services.update_policy(admin, policy.pk, good(title="旧稿"), version=0)
    with pytest.raises(services.PolicyRejected, match="政策编号保存后不能修改"):
        services.update_policy(admin, policy.pk, good(code="other"))
    assert Policy.objects.get().title == "冬季取暖补贴"

    for role, region in (
        ("township", "371522100000"),
        ("coordinator", "371522100201"),
        ("hotline", "371522000000"),
        ("leader", "371500000000"),
        ("auditor", "371522000000"),
    ):
        other = actor(make_user, role, role, region)
        with pytest.raises(PermissionDenied):
            services.create_policy(other, good(code=f"by_{role}"))
        with pytest.raises(PermissionDenied):
            services.update_policy(other, policy.pk, good(title="改"))
    town = actor(make_user, "town2", "township", "371522100000")
    assert [p.code for p in services.catalog(town)] == ["heating"]  # townships read the catalog

    # Another county's policy is out of reach: not found, not changed.
    elsewhere = Policy.objects.create(
        county_code="371521", code="heating", title="别县", department="civil_affairs"
    )
    with pytest.raises(services.NotFound):
        services.update_policy(admin, elsewhere.pk, good(title="改"))
    assert services.get_policy(admin, elsewhere.pk) is None
    assert [p.county_code for p in services.catalog(admin)] == [COUNTY]


def test_seed_command(county) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    first = runner.invoke(app, ["policies", "seed", COUNTY])
    assert first.exit_code == 0, first.output
    assert first.output.strip().splitlines()[-1] == f"county={COUNTY} added={len(DEFAULT_POLICIES)}"
    again = runner.invoke(app, ["policies", "seed", COUNTY])
    assert again.output.strip().splitlines()[-1] == f"county={COUNTY} added=0"
    departments = set(Policy.objects.values_list("department", flat=True))
    assert len(departments) >= 7
    for bad in ("37152", "999999"):
        refused = runner.invoke(app, ["policies", "seed", bad])
        assert refused.exit_code == 2
    assert Policy.objects.count() == len(DEFAULT_POLICIES)
