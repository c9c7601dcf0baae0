"""The registry files of docs/data-contract.md as data: columns, kinds, keys and target tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from safetynet.regions.models import Level
from safetynet.registry import models as m
from safetynet.validation import Column


@dataclass(frozen=True)
class FileSpec:
    file: str
    table: str  # the Django table this file loads into
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: unique within the file, the upsert conflict target
    optional_columns: tuple[str, ...] = field(default=())  # may be absent from the header

    @property
    def name(self) -> str:
        return self.file.removesuffix(".csv")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _enum(name: str, choices: type, required: bool = True) -> Column:
    values = tuple(v for v in choices.values if v)  # type: ignore[attr-defined]
    return Column(name, "enum", required=required, choices=values)


REGIONS = FileSpec(
    file="regions.csv",
    table="regions_region",
    columns=(
        Column("code", "region_code"),
        Column("name", "text", max_length=100),
        _enum("level", Level),
        Column("parent_code", "region_code", required=False, db_column="parent_id"),
    ),
    key=("code",),
)

HOUSEHOLDS = FileSpec(
    file="households.csv",
    table=m.Household._meta.db_table,
    columns=(
        Column("household_id", "text", max_length=32),
        Column("region_code", "region_code"),
        Column("address", "text", required=False, max_length=200),
        _enum("area_type", m.AreaType),
        Column("head_id_number", "id_number"),
    ),
    key=("household_id",),
)

PERSONS = FileSpec(
    file="persons.csv",
    table=m.Person._meta.db_table,
    columns=(
        Column("id_number", "id_number"),
        Column("name", "text", max_length=50),
        _enum("gender", m.Gender),
        Column("birth_date", "date", not_future=True),
        Column("household_id", "text", max_length=32),
        _enum("relation", m.Relation),
        Column("phone", "phone", required=False),
        Column("disability_level", "int", required=False, low=0, high=4),
        _enum("disability_type", m.DisabilityType, required=False),
        _enum("self_care", m.SelfCare, required=False),
        Column("serious_illness", "bool", required=False),
        _enum("employment", m.Employment),
        Column("monthly_income", "money", required=False),
    ),
    key=("id_number",),
    optional_columns=("phone", "disability_type"),
)

ASSISTANCE = FileSpec(
    file="assistance.csv",
    table=m.Assistance._meta.db_table,
    columns=(
        Column("id_number", "id_number"),
        Column("household_id", "text", max_length=32),
        _enum("program", m.Program),
        _enum("status", m.AssistanceStatus),
        Column("start_date", "date"),
        Column("end_date", "date", required=False),
        Column("monthly_amount", "money", required=False),
    ),
    key=("id_number", "household_id", "program", "start_date"),
)

APPLICATIONS = FileSpec(
    file="applications.csv",
    table=m.Application._meta.db_table,
    columns=(
        Column("application_id", "text", max_length=32),
        Column("household_id", "text", max_length=32),
        Column("id_number", "id_number"),
        _enum("program", m.Program),
        Column("applied_on", "date", not_future=True),
        _enum("decision", m.Decision),
        Column("decided_on", "date", required=False, not_future=True),
        Column("reason", "text", required=False, max_length=500),
    ),
    key=("application_id",),
    optional_columns=("reason",),
)

STANDARDS = FileSpec(
    file="standards.csv",
    table=m.Standard._meta.db_table,
    columns=(
        Column("county_code", "county_code"),
        Column("year", "int", low=2000, high=2100),
        _enum("area_type", m.AreaType),
        Column("dibao_monthly", "money"),
        Column("tekun_monthly", "money"),
        Column("edge_multiplier", "ratio"),
        Column("rigid_expense_ratio", "ratio"),
    ),
    key=("county_code", "year", "area_type"),
)

# Load order: a file comes after every file it refers to.
SPECS = (REGIONS, HOUSEHOLDS, PERSONS, ASSISTANCE, APPLICATIONS, STANDARDS)

# Chinese column labels for error reports a clerk reads.
LABELS = {
    "code": "区划代码",
    "name": "名称/姓名",
    "level": "级别",
    "parent_code": "上级区划代码",
    "household_id": "户编号",
    "region_code": "区划代码",
    "address": "地址",
    "area_type": "城乡类别",
    "head_id_number": "户主身份证号码",
    "id_number": "身份证号码",
    "gender": "性别",
    "birth_date": "出生日期",
    "relation": "与户主关系",
    "phone": "电话",
    "disability_level": "残疾等级",
    "disability_type": "残疾类别",
    "self_care": "自理能力",
    "serious_illness": "重病",
    "employment": "就业状况",
    "monthly_income": "月收入",
    "program": "救助项目",
    "status": "状态",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "monthly_amount": "月救助金额",
    "application_id": "申请编号",
    "applied_on": "申请日期",
    "decision": "审批结果",
    "decided_on": "审批日期",
    "reason": "理由",
    "county_code": "县级代码",
    "year": "年度",
    "dibao_monthly": "低保标准",
    "tekun_monthly": "特困供养标准",
    "edge_multiplier": "低保边缘倍数",
    "rigid_expense_ratio": "刚性支出比例",
}
