"""The filters every staff list shares: a narrower region, a date range and a search box.

A list's own filters (stage, rule, channel …) stay with its service; these three mean the same on every
list, so they are read once from the query string (`ListQuery.from_params`) and applied the same way
(`narrow`). Bad input filters nothing rather than failing: a date that is not a date is dropped and the
page says so (`problems`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from safetynet.access.masking import mask_in_text

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ListQuery:
    region: str = ""  # a region code prefix (a township's 9 digits, a village's 12) inside the reader's scope
    since: dt.date | None = None
    until: dt.date | None = None
    q: str = ""  # the search box: a member's name, a whole ID number, a phone, or a household code
    sort: str = ""  # one of the list's own orders (`ordering`); "" is its default, most urgent first
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ListQuery:
        region = str(params.get("region", ""))[:12]
        problems = []
        dates: dict[str, dt.date | None] = {}
        for name in ("since", "until"):
            text = str(params.get(name, "")).strip()[:10]
            try:
                dates[name] = dt.date.fromisoformat(text) if text else None
            except ValueError:
                dates[name] = None
                problems.append(text)
        return cls(
            region=region if region.isdigit() else "",
            since=dates["since"],
            until=dates["until"],
            q=" ".join(str(params.get("q", "")).split())[:40],
            sort=str(params.get("sort", ""))[:20],
            problems=tuple(problems),
        )

    def narrow(self, rows: QuerySet[M], region_field: str, date_field: str) -> QuerySet[M]:
        """The rows in the chosen region and dates; the caller has already scoped them to the reader, so a
        region outside that scope leaves nothing rather than widening anything."""
        if self.region:
            rows = rows.filter(**{f"{region_field}__startswith": self.region})
        if self.since:
            rows = rows.filter(**{f"{date_field}__date__gte": self.since})
        if self.until:
            rows = rows.filter(**{f"{date_field}__date__lte": self.until})
        return rows

    def ordering(self, orders: Mapping[str, tuple[Any, ...]]) -> tuple[Any, ...]:
        """The list's order for the chosen sort; an unknown sort is the default ("")."""
        return orders.get(self.sort, orders[""])

    def describe(self) -> str:
        """For the audit trail: what the list was narrowed to (an ID number or phone searched for, masked)."""
        parts = [
            f"{label}={value}"
            for label, value in (
                ("区域", self.region), ("起", self.since), ("止", self.until), ("查询", mask_in_text(self.q))
            )
            if value
        ]  # fmt: skip
        return " ".join(parts)


EVERYTHING = ListQuery()  # a list not narrowed at all
