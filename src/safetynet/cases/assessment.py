"""Eligibility pre-assessment for an assisted application (协助申请), against the county's standards.

It advises, it does not decide: the household may apply whatever it says, and the township's decision is
recorded separately. It uses the income and rigid expenses found at the verification visit (what the
household told staff on site), and the registry for who lives there:

- dibao: per-capita income below the county's dibao standard;
- dibao_edge (低保边缘): below dibao × edge_multiplier;
- rigid_expense (支出型困难): monthly rigid expenses (medical, schooling) of at least rigid_expense_ratio of
  the household's income, and income after those expenses below the low-income line;
- tekun (特困): one person living alone who is ≥ 60, a minor or level 1-2 disabled, with income below the
  dibao standard (the contract's tekun_candidate rule; no supporter able to support is checked on site).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from safetynet.cases.models import Case, Step
from safetynet.registry import services as registry
from safetynet.registry.models import Household


@dataclass(frozen=True)
class Assessment:
    suggested: tuple[str, ...]  # programs the facts point to, strongest first
    lines: tuple[str, ...]  # why, in Chinese, for the case page and the application file

    @property
    def text(self) -> str:
        return "；".join(self.lines)


def pre_assess(case: Case, today: dt.date) -> Assessment | None:
    """None until the household was verified on site (no income facts yet) or without a standard."""
    visit = (
        Step.objects.filter(case=case, action="verify").order_by("-id").values_list("data", flat=True).first()
    )
    household = Household.objects.filter(pk=case.household_id).first()
    if not visit or household is None:
        return None
    standard = registry.standard_for(household, today)
    members = registry.members_alive(household, today)
    if standard is None or not members:
        return None
    income = Decimal(str(visit.get("monthly_income", "0")))
    expense = Decimal(str(visit.get("monthly_expense", "0")))
    per_capita = (income / len(members)).quantize(Decimal("0.01"))
    line = (standard.dibao_monthly * standard.edge_multiplier).quantize(Decimal("0.01"))
    lines = [f"家庭 {len(members)} 人，核实月收入 {income} 元，人均 {per_capita} 元"]
    suggested: list[str] = []
    alone = len(members) == 1 and (
        registry.age_on(members[0].birth_date, today) >= 60
        or registry.age_on(members[0].birth_date, today) < 18
        or 1 <= members[0].disability_level <= 2
    )
    if alone and per_capita < standard.dibao_monthly:
        suggested.append("tekun")
        lines.append(
            f"独居且为老年人、未成年人或重度残疾人，收入低于低保标准 {standard.dibao_monthly} 元，可评估特困供养"
        )
    if per_capita < standard.dibao_monthly:
        suggested.append("dibao")
        lines.append(f"人均收入低于低保标准 {standard.dibao_monthly} 元")
    elif per_capita < line:
        suggested.append("dibao_edge")
        lines.append(f"人均收入低于低收入线 {line} 元（低保标准 × {standard.edge_multiplier}），属低保边缘")
    after = ((income - expense) / len(members)).quantize(Decimal("0.01"))
    if expense > 0 and expense >= income * standard.rigid_expense_ratio and after < line:
        suggested.append("rigid_expense")
        lines.append(
            f"刚性支出 {expense} 元达到收入的 {standard.rigid_expense_ratio} 倍以上，扣除后人均 {after} 元，属支出型困难"
        )
    if not suggested:
        lines.append(f"人均收入不低于低收入线 {line} 元，可考虑临时救助或专项救助")
    return Assessment(tuple(suggested), tuple(lines))
