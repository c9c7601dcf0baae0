"""Eligibility pre-assessment for an assisted application (协助申请), against the county's standards.

It advises, it does not decide: the household may apply whatever it says, and the decision is recorded
separately. It reads the household's facts (registry.services.household_facts: members, income — the
verification visit's where there is one — and the county's lines) and the rigid expenses found at the
visit:

- dibao: per-capita income below the county's dibao standard;
- dibao_edge (低保边缘): below dibao × edge_multiplier;
- rigid_expense (支出型困难): monthly rigid expenses (medical, schooling) of at least rigid_expense_ratio of
  the household's income, and income after those expenses below the low-income line;
- tekun (特困): one person living alone who is ≥ 60, a minor or level 1-2 disabled, with income below the
  dibao standard (the contract's tekun_candidate rule; no supporter able to support is checked on site).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from safetynet.cases.models import Step
from safetynet.registry.services import Facts


@dataclass(frozen=True)
class Assessment:
    suggested: tuple[str, ...]  # programs the facts point to, strongest first
    lines: tuple[str, ...]  # why, in Chinese, for the case page and the application file

    @property
    def text(self) -> str:
        return "；".join(self.lines)


def pre_assess(facts: Facts | None, visit: Step | None) -> Assessment | None:
    """None until the household was verified on site (its expenses) and a run computed its facts with a
    local standard. Income, members and lines are the household's facts (the visit's income among them)."""
    if visit is None or facts is None or not facts.has_standard or not facts.members:
        return None
    members = facts.members
    income, per_capita = facts.monthly_income, facts.per_capita_income
    expense = Decimal(str(visit.data.get("monthly_expense", "0")))
    dibao, line = facts.dibao_line, facts.low_income_line
    lines = [f"家庭 {members} 人，月收入 {income} 元，人均 {per_capita} 元（{facts.source}）"]
    suggested: list[str] = []
    if facts.covered:
        lines.append("已享受低保或特困供养：不再评估低保、特困，可考虑专项救助或临时救助")
        return Assessment((), tuple(lines))
    alone = members == 1 and (facts.has_elderly or facts.has_minor or facts.has_severe_disability)
    if alone and facts.below_dibao:
        suggested.append("tekun")
        lines.append(f"独居且为老年人、未成年人或重度残疾人，收入低于低保标准 {dibao} 元，可评估特困供养")
    if facts.below_dibao:
        suggested.append("dibao")
        lines.append(f"人均收入低于低保标准 {dibao} 元")
    elif facts.low_income:
        suggested.append("dibao_edge")
        lines.append(f"人均收入低于低收入线 {line} 元，属低保边缘")
    ratio = facts.rigid_expense_ratio or Decimal(0)
    after = ((income - expense) / members).quantize(Decimal("0.01"))
    if expense > 0 and expense >= income * ratio and line is not None and after < line:
        suggested.append("rigid_expense")
        lines.append(f"刚性支出 {expense} 元达到收入的 {ratio} 倍以上，扣除后人均 {after} 元，属支出型困难")
    if not suggested:
        lines.append(f"人均收入不低于低收入线 {line} 元，可考虑临时救助或专项救助")
    return Assessment(tuple(suggested), tuple(lines))
