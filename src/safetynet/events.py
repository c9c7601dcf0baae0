"""Domain events: what happened, told to whichever apps care, so no app has to call the ones above it.

The apps are layered (docs/architecture.md): an app imports only the apps below it. When something that
happens in a higher app changes what a lower one keeps — a case step changes a lead's visible status and
a warning's verdict — the higher app publishes an event here and the lower app subscribes in its
`AppConfig.ready()`. And when a lower app produces work for a higher one — a matched lead must land in its
household's case — it publishes, and the higher app subscribes.

Subscribers run synchronously, inside the transaction of the step that published: if one fails, the step
is not recorded either, so an event is never half applied. The step itself (a `cases.Step` row, a
`leads.Lead` row) is the record of the event; subscribers must be idempotent on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal


@dataclass(frozen=True)
class CaseEvent:
    """One step of a case: `kind` is what happened (verified, informed, declined, applied, reviewed,
    decided, paid, amount_approved, paperwork_completed, referred, answered, followed_up, closed,
    escalated, extended, coordination_requested)."""

    kind: str
    case_id: int
    household_id: str
    region_code: str
    at: dt.datetime
    step_id: int | None = None
    by: str = ""  # a username, or "system"
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadMatched:
    """A lead now names a household: it joins the household's open case, or opens one."""

    lead_id: int
    household_id: str
    region_code: str
    urgent: bool


case_event = Signal()  # kwargs: event (CaseEvent)
lead_matched = Signal()  # kwargs: event (LeadMatched)


def publish(event: CaseEvent | LeadMatched) -> None:
    signal = case_event if isinstance(event, CaseEvent) else lead_matched
    signal.send(sender=type(event), event=event)
