"""The cases app's background job: the daily escalation of overdue cases (idempotent: a case climbs to
each level once, so a retried or repeated job changes nothing more)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from safetynet.cases import inbox
from safetynet.jobs.services import Work


def escalate(work: Work) -> dict[str, Any]:
    as_of = work.params.get("as_of")
    counts = inbox.escalate(dt.date.fromisoformat(as_of) if as_of else None)
    return {"summary": f"逾期上提：乡镇 {counts['township']} 件，县级 {counts['county']} 件", **counts}
