"""Policies: a county's catalog (county staff keep it), which policies fit a household and why, and the
notification letter (告知书) a clerk prints and leaves with the family."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from safetynet.access.departments import Department
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, PersonalDataScope, record, record_as
from safetynet.policies import conditions
from safetynet.policies.models import Policy
from safetynet.regions import services as regions
from safetynet.registry import services as registry
from safetynet.registry.models import Household

CODE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
MAX_LETTER_POLICIES = 30
LIMITS = {"title": 100, "summary": 2000, "how_to_apply": 2000, "contacts": 500}
FIELD_NAMES = {
    "code": "政策编号",
    "title": "政策名称",
    "department": "主管部门",
    "summary": "政策简介",
    "how_to_apply": "申请方式",
    "contacts": "咨询电话及地址",
}
NO_CONDITIONS = "本政策不设家庭条件"
STAFF_JUDGEMENT = "工作人员根据入户了解的情况，认为可能适用"


class PolicyRejected(ValueError):
    """Input a clerk can correct, said in Chinese."""


class Conflict(Exception):
    """Someone else saved the policy first; nothing of this edit was saved."""


class NotFound(LookupError):
    """No such policy, household or case in the actor's county or region."""


@dataclass
class PolicyInput:
    code: str
    title: str
    department: str
    summary: str = ""
    conditions: Any = field(default_factory=list)  # a list, or its JSON text
    how_to_apply: str = ""
    contacts: str = ""
    active: bool = True


@dataclass(frozen=True)
class PolicyMatch:
    """A policy that fits a household, with the reasons in Chinese (one per condition)."""

    policy_id: int
    code: str
    title: str
    department: str
    department_label: str
    summary: str
    how_to_apply: str
    contacts: str
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        return "；".join(self.reasons)


@dataclass(frozen=True)
class HouseholdFacts:
    household_id: str
    region_code: str
    as_of: dt.date
    values: dict[str, Any]  # fact name -> value (None when unknown); plus dibao_standard for the reasons


# -- who may do what ----------------------------------------------------------------------------------


def _county(actor: Actor) -> str:
    """The county whose catalog the actor reads: their own region's county."""
    user = actor.user
    require(actor, Cap.READ_POLICIES)
    if user.region is None or user.region.level not in ("county", "township", "village"):
        raise PermissionDenied("user is bound to no county")
    return user.region_id[:6]  # type: ignore[index]


def _editor_county(actor: Actor) -> str:
    require(actor, Cap.EDIT_POLICIES)
    county = _county(actor)
    if actor.user.region.level != "county":  # type: ignore[union-attr]
        raise PermissionDenied("only county staff edit the policy catalog")
    return county


def can_edit(actor: Actor) -> bool:
    return Cap.EDIT_POLICIES in actor.user.caps and actor.user.region.level == "county"  # type: ignore[union-attr]


# -- the catalog ---------------------------------------------------------------------------------------


def catalog(actor: Actor, include_inactive: bool = True) -> list[Policy]:
    """The actor's county catalog, by department. Not personal data: read without an audit entry."""
    policies = Policy.objects.filter(county_code=_county(actor))
    if not include_inactive:
        policies = policies.filter(active=True)
    return list(policies)


def get_policy(actor: Actor, policy_id: int) -> Policy | None:
    return Policy.objects.filter(pk=policy_id, county_code=_county(actor)).first()


def _clean_text(value: object, limit: int, name: str) -> str:
    text = "".join(ch for ch in str(value or "") if unicodedata.category(ch)[0] != "C" or ch in "\n").strip()
    if len(text) > limit:
        raise PolicyRejected(f"{FIELD_NAMES[name]}请控制在 {limit} 字以内")
    return text


def _cleaned(data: PolicyInput) -> dict[str, Any]:
    code = str(data.code or "").strip()
    if not CODE.match(code):
        raise PolicyRejected("政策编号应为 2–40 位小写英文字母、数字、下划线或连字符，以字母开头，例如 dibao")
    values: dict[str, Any] = {"code": code}
    for name, limit in LIMITS.items():
        values[name] = _clean_text(getattr(data, name), limit, name)
    if not values["title"]:
        raise PolicyRejected("请填写政策名称")
    if data.department not in Department.values:
        raise PolicyRejected("请选择主管部门")
    values["department"] = data.department
    try:
        values["conditions"] = conditions.validate(data.conditions)
    except conditions.ConditionError as error:
        raise PolicyRejected(str(error)) from None
    values["active"] = bool(data.active)
    return values


def create_policy(actor: Actor, data: PolicyInput) -> Policy:
    """Add a policy to the actor's county catalog (county staff only)."""
    county = _editor_county(actor)
    values = _cleaned(data)
    with transaction.atomic():
        if Policy.objects.filter(county_code=county, code=values["code"]).exists():
            raise PolicyRejected(f"本县已有编号为 {values['code']} 的政策，请换一个编号")
        policy = Policy(county_code=county, updated_by=actor.user.get_username(), **values)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            raise PolicyRejected(f"本县已有编号为 {values['code']} 的政策，请换一个编号") from None
        record(
            actor,
            "create_policy",
            "policy",
            str(policy.pk),
            region_code=county + "000000",
            detail=f"code={policy.code} conditions={len(policy.conditions)}",
        )
    return policy


def update_policy(actor: Actor, policy_id: int, data: PolicyInput, version: int | None = None) -> Policy:
    """Change a policy of the actor's county. With `version`, an edit based on an older copy is refused
    (Conflict) instead of overwriting someone else's. The code stays: recorded notifications cite it."""
    county = _editor_county(actor)
    with transaction.atomic():
        policy = Policy.objects.select_for_update().filter(pk=policy_id, county_code=county).first()
        if policy is None:
            raise NotFound("no such policy in your county")
        if version is not None and version != policy.version:
            raise Conflict("该政策已被他人修改，请刷新页面后重新编辑")
        if not data.code:
            data.code = policy.code
        values = _cleaned(data)
        if values["code"] != policy.code:
            raise PolicyRejected("政策编号保存后不能修改（已告知的记录引用它）；如需新编号请新增一项政策")
        changed = [k for k, v in values.items() if getattr(policy, k) != v]
        for key, value in values.items():
            setattr(policy, key, value)
        policy.version += 1
        policy.updated_by = actor.user.get_username()
        policy.save()
        record(
            actor,
            "update_policy",
            "policy",
            str(policy.pk),
            region_code=county + "000000",
            detail=f"code={policy.code} changed={','.join(changed) or '-'} version={policy.version}",
        )
    return policy


def catalog_titles(county_code: str) -> dict[str, str]:
    """Code -> title of the county's active policies: what a case's inform step may cite (the titles are
    recorded with it, since a title may change later)."""
    return dict(
        Policy.objects.filter(county_code=county_code[:6], active=True)
        .order_by("department", "code")
        .values_list("code", "title")
    )


# -- household facts and matching ----------------------------------------------------------------------


def household_facts(household_id: str) -> HouseholdFacts:
    """The facts conditions are written over: the household's facts (registry.services.household_facts,
    one definition for every page) and its open warnings. Unscoped and unaudited: callers check the
    actor's scope first (as `matching` and `letter_pdf` do). Before any run has computed the household's
    facts, only what the registry says directly is known (the rest is None, which holds nothing)."""
    from safetynet.screening import services as screening

    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise NotFound("no such household")
    facts = registry.household_facts(household_id)
    warned = screening.open_warning_rules(household_id)
    values: dict[str, Any] = {"area_type": household.area_type, "warned_for": sorted(warned)}
    if facts is not None:
        oldest = facts.oldest_age
        values.update(
            {
                "per_capita_income": facts.per_capita_income,
                "income_ratio": facts.income_ratio,
                "dibao_standard": facts.dibao_line,
                "members": facts.members,
                "oldest_age": oldest,
                "has_elderly": facts.has_elderly,
                "has_elderly_60": oldest is not None and oldest >= 60,
                "has_elderly_70": oldest is not None and oldest >= 70,
                "has_elderly_80": oldest is not None and oldest >= 80,
                "elderly_alone": facts.members == 1 and facts.has_elderly,
                "has_child": facts.has_minor,
                "has_student": facts.has_student,
                "has_disabled": facts.has_disabled,
                "disability_level": facts.disability_level,
                "has_severe_disability": facts.has_severe_disability,
                "self_care": facts.self_care or None,
                "serious_illness": facts.serious_illness,
                "medical_hardship": facts.serious_illness or bool(warned & MEDICAL_RULES),
                "has_unemployed": facts.has_unemployed,
                "no_able_worker": facts.able_adults == 0,
                "programs": facts.programs,
                "is_covered": facts.covered,
                "out_of_pocket": facts.out_of_pocket,
                "out_of_pocket_share": facts.out_of_pocket_share,
            }
        )
    return HouseholdFacts(household.household_id, household.region_code, timezone.localdate(), values)


# Open warnings that say the household carries medical hardship, whatever its registry flags say.
MEDICAL_RULES = frozenset({"medical_burden", "serious_illness"})


def reasons_for(policy: Policy, facts: HouseholdFacts) -> tuple[str, ...] | None:
    """Why the policy fits, one sentence per condition; None when a condition does not hold."""
    if not all(conditions.holds(c, facts.values) for c in policy.conditions):
        return None
    return tuple(conditions.explain(c, facts.values) for c in policy.conditions) or (NO_CONDITIONS,)


def _match(policy: Policy, reasons: tuple[str, ...]) -> PolicyMatch:
    return PolicyMatch(
        policy_id=policy.pk,
        code=policy.code,
        title=policy.title,
        department=policy.department,
        department_label=policy.get_department_display(),
        summary=policy.summary,
        how_to_apply=policy.how_to_apply,
        contacts=policy.contacts,
        reasons=reasons,
    )


def _scoped_household(scope: PersonalDataScope, household_id: str) -> Household:
    household = (
        scope.restrict(Household.objects.all(), "region_code").filter(household_id=household_id).first()
    )
    if household is None:
        raise NotFound("no such household in your region")
    return household


def matching(actor: Actor, household_id: str) -> list[PolicyMatch]:
    """The active policies of the household's county that fit it, each with why. Region-scoped and audited;
    NotFound for a household outside the actor's region."""
    require(actor, Cap.READ_POLICIES)
    require(actor, Cap.SENSITIVE)  # why a policy fits says a household's income, health and disability
    scope = PersonalDataScope(actor)
    household = _scoped_household(scope, household_id)
    facts = household_facts(household.household_id)
    found = []
    for policy in Policy.objects.filter(county_code=household.region_code[:6], active=True):
        reasons = reasons_for(policy, facts)
        if reasons is not None:
            found.append(_match(policy, reasons))
    scope.audit_read(
        "policy_match",
        household.household_id,
        region_code=household.region_code,
        detail=f"{len(found)} 项政策：{','.join(m.code for m in found)}",
    )
    return found


# -- the notification letter ---------------------------------------------------------------------------


def letter_pdf(actor: Actor, household_id: str, case_id: int, policy_codes: list[str] | None = None) -> bytes:
    """The notification letter (告知书) of a household's case as A4 PDF: the chosen policies (by default
    every policy that fits), why each may apply, how to apply, the right to apply and to decline, and
    signature lines. The head's ID number is masked as the actor's role sees it. Scoped, audited."""
    from safetynet.policies import letter
    from safetynet.registry.models import Person

    require(actor, Cap.PRINT_LETTER, target=f"case {case_id}")
    scope = PersonalDataScope(actor)
    household = _scoped_household(scope, household_id)
    as_of = timezone.localdate()
    facts = household_facts(household.household_id)
    county = household.region_code[:6]
    codes = list(dict.fromkeys(c.strip() for c in policy_codes or [] if c and c.strip()))
    if len(codes) > MAX_LETTER_POLICIES:
        raise PolicyRejected(f"一份告知书最多列 {MAX_LETTER_POLICIES} 项政策")
    active = Policy.objects.filter(county_code=county, active=True)
    if codes:
        chosen = {p.code: p for p in active.filter(code__in=codes)}
        unknown = [c for c in codes if c not in chosen]
        if unknown:
            raise PolicyRejected(f"本县政策目录中没有在用的政策「{conditions._shown(unknown[0])}」")
        items = [(chosen[c], reasons_for(chosen[c], facts) or (STAFF_JUDGEMENT,)) for c in codes]
    else:
        items = [(p, r) for p in active if (r := reasons_for(p, facts)) is not None]
        if not items:
            raise PolicyRejected("没有符合该家庭情况的政策，请选择要告知的政策")
    head = Person.objects.filter(pk=household.head_id_number).first()
    region = regions.get(household.region_code)
    chain = regions.ancestors(region) if region else []
    place = "".join(r.name for r in chain[2:]) or household.region_code
    county_region = next((r for r in chain if r.level == "county"), None)
    content = letter.Letter(
        case_id=case_id,
        head_name=head.name if head else "",
        id_number=scope.mask_id(household.head_id_number),
        place=place,
        address=household.address,
        county_name=county_region.name if county_region else "",
        staff_name=actor.user.get_full_name() or actor.user.get_username(),
        date=as_of,
        items=[
            letter.Item(
                title=p.title,
                department=p.get_department_display(),
                reasons=list(reasons),
                summary=p.summary,
                how_to_apply=p.how_to_apply,
                contacts=p.contacts,
            )
            for p, reasons in items
        ],
    )
    pdf = letter.render(content)
    record(
        actor,
        "notification_letter",
        "case",
        str(case_id),
        region_code=household.region_code,
        detail=f"告知书 household={household.household_id} policies={','.join(p.code for p, _ in items)}",
    )
    return pdf


# -- a default catalog ---------------------------------------------------------------------------------


def seed_catalog(county_code: str, by: str = "cli") -> int:
    """Add the default catalog (policies.catalog) to a county; policies it already has are left as the
    county edited them. Returns how many were added."""
    from safetynet.policies.catalog import DEFAULT_POLICIES

    if not re.fullmatch(r"\d{6}", county_code or ""):
        raise PolicyRejected("县级区划代码应为 6 位数字，例如 371522")
    if regions.get(county_code + "000000") is None:
        raise PolicyRejected(f"区划中没有县级代码 {county_code}，请先导入名册（区划）")
    created = 0
    with transaction.atomic():
        existing = set(Policy.objects.filter(county_code=county_code).values_list("code", flat=True))
        for entry in DEFAULT_POLICIES:
            if entry["code"] in existing:
                continue
            Policy(county_code=county_code, updated_by=by, **entry).save()
            created += 1
        record_as(by, "system", "seed_policies", "county", county_code, detail=f"added={created}")
    return created
