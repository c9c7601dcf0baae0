"""The departmental feeds of docs/data-contract.md as data: columns, required headers, keys, freshness."""

from __future__ import annotations

from dataclasses import dataclass

from safetynet.validation import Column


@dataclass(frozen=True)
class FeedSpec:
    source: str
    department: str  # who sends it, in Chinese, for pages
    columns: tuple[Column, ...]
    required_headers: tuple[str, ...]  # a file without one of these is rejected whole
    key: tuple[str, ...] = ()  # unique within and across batches; a repeat is quarantined
    late_after_days: int | None = 31  # a feed older than this is flagged late; None: event-driven
    id_or_region: bool = False  # disasters: a row needs an id_number or a region_code

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _id() -> Column:
    """Every feed's ID number may be empty where the source does not know it (the contract): such a row
    lands and is left to identity resolution; a filled-in one must be valid."""
    return Column("id_number", "id_number", required=False)


def _name() -> Column:
    return Column("name", "text", required=False, max_length=50)


def _date(name: str, required: bool = True) -> Column:
    return Column(name, "date", required=required, not_future=True)


def _as_of() -> Column:
    return Column("as_of", "date", not_future=True)


def _enum(name: str, *choices: str, required: bool = True) -> Column:
    return Column(name, "enum", required=required, choices=choices)


FEEDS: dict[str, FeedSpec] = {
    spec.source: spec
    for spec in (
        FeedSpec(
            "medical_claims",
            "医保局",
            (
                Column("claim_id", "text", max_length=64),
                _id(),
                _name(),
                _date("settle_date"),
                Column("inpatient", "bool", required=False),
                Column("total_cost", "money", required=False),
                Column("fund_paid", "money", required=False),
                Column("out_of_pocket", "money"),
                Column("diagnosis_code", "text", required=False, max_length=20),
                Column("serious_illness", "bool", required=False),
            ),
            required_headers=("claim_id", "id_number", "settle_date", "out_of_pocket"),
            key=("claim_id",),
        ),
        FeedSpec(
            "disability",
            "残联",
            (
                _id(),
                _name(),
                _enum(
                    "disability_type",
                    "visual",
                    "hearing",
                    "speech",
                    "physical",
                    "intellectual",
                    "mental",
                    "multiple",
                    required=False,
                ),
                Column("level", "int", low=1, high=4),
                _date("issued_on", required=False),
                _enum("status", "valid", "revoked"),
            ),
            required_headers=("id_number", "level", "status"),
        ),
        FeedSpec(
            "deaths",
            "公安/卫健",
            (_id(), _name(), _date("death_date")),
            required_headers=("id_number", "death_date"),
        ),
        FeedSpec(
            "unemployment",
            "人社局",
            (
                _id(),
                _name(),
                _date("registered_on"),
                _enum("status", "registered", "reemployed"),
                Column("benefit_monthly", "money", required=False),
            ),
            required_headers=("id_number", "registered_on", "status"),
        ),
        FeedSpec(
            "pensions",
            "人社局",
            (_id(), Column("monthly_amount", "money"), _as_of()),
            required_headers=("id_number", "monthly_amount", "as_of"),
        ),
        FeedSpec(
            "students",
            "教育局",
            (
                _id(),
                _name(),
                Column("school", "text", required=False, max_length=100),
                _enum(
                    "stage",
                    "preschool",
                    "primary",
                    "junior",
                    "senior",
                    "vocational",
                    "college",
                    required=False,
                ),
                _enum("status", "enrolled", "dropped_out", "suspended"),
                _as_of(),
            ),
            required_headers=("id_number", "status", "as_of"),
            late_after_days=93,
        ),
        FeedSpec(
            "disasters",
            "应急管理局",
            (
                Column("event_id", "text", max_length=64),
                Column("event_name", "text", required=False, max_length=100),
                _id(),
                Column("region_code", "region_code", required=False),
                _date("occurred_on"),
                _enum("loss_level", "minor", "moderate", "severe", "total"),
                Column("house_damaged", "bool", required=False),
            ),
            required_headers=("event_id", "occurred_on", "loss_level"),
            key=("event_id", "id_number", "region_code"),
            late_after_days=None,
            id_or_region=True,
        ),
        FeedSpec(
            "relapse_monitoring",
            "乡村振兴局",
            (
                _id(),
                _name(),
                _enum("status", "monitoring", "risk_eliminated"),
                Column("risk_type", "text", required=False, max_length=50),
                _as_of(),
            ),
            required_headers=("id_number", "status", "as_of"),
        ),
        FeedSpec(
            "housing_safety",
            "住建局",
            (
                _id(),
                Column("region_code", "region_code", required=False),
                _enum("rating", "A", "B", "C", "D"),
                _date("assessed_on"),
            ),
            required_headers=("id_number", "rating", "assessed_on"),
            late_after_days=93,
        ),
        FeedSpec(
            "vehicles",
            "公安交管",
            (
                _id(),
                Column("plate", "text", required=False, max_length=20),
                _date("registered_on", required=False),
                Column("vehicle_type", "text", required=False, max_length=30),
            ),
            required_headers=("id_number",),
            late_after_days=93,
        ),
        FeedSpec(
            "businesses",
            "市场监管局",
            (
                _id(),
                Column("business_name", "text", required=False, max_length=100),
                _date("registered_on", required=False),
                _enum("status", "active", "closed"),
            ),
            required_headers=("id_number", "status"),
            late_after_days=93,
        ),
        FeedSpec(
            "hotline",
            "社会救助热线",
            (
                Column("call_id", "text", max_length=64),
                Column("called_at", "timestamp", not_future=True),
                Column("caller_name", "text", required=False, max_length=50),
                Column("caller_phone", "phone", required=False),
                _id(),
                Column("region_text", "text", required=False, max_length=200),
                Column("summary", "text", required=False, max_length=2000),
            ),
            required_headers=("call_id", "called_at"),
            key=("call_id",),
            late_after_days=7,
        ),
    )
}


def feed(source: str) -> FeedSpec:
    try:
        return FEEDS[source]
    except KeyError:
        raise ValueError(f"未知的数据来源 {source}，应为 {'、'.join(FEEDS)} 之一") from None


# What each feed is called on pages (a clerk reads "医疗费用结算", not medical_claims).
FEED_TITLES = {
    "medical_claims": "医疗费用结算",
    "disability": "残疾人证",
    "deaths": "死亡登记",
    "pensions": "养老金发放",
    "unemployment": "失业登记",
    "students": "学籍",
    "disasters": "灾情",
    "relapse_monitoring": "防止返贫监测",
    "housing_safety": "农房安全鉴定",
    "hotline": "救助热线",
    "businesses": "市场主体登记",
    "vehicles": "机动车登记",
    "linkage_hotline": "热线来电身份匹配",
}


def feed_title(source: str) -> str:
    return FEED_TITLES.get(source, source)

