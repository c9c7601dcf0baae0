"""The reports app's background job: last month's workbook and brief for every region that has none yet
(it waits for the month's first working day and never makes a report twice, so it may run daily)."""

from __future__ import annotations

from typing import Any

from safetynet.jobs.services import Work
from safetynet.reports import monthly


def monthly_reports(work: Work) -> dict[str, Any]:
    made = monthly.produce()
    return {"summary": f"生成月度报表 {len(made)} 份", "made": len(made)}
