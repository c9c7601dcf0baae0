"""The lake's background jobs: landing an accepted push, and the daily check of feed freshness."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse

from safetynet.jobs.services import Work
from safetynet.lake import services
from safetynet.lake.sources import FEED_TITLES

log = logging.getLogger("safetynet.lake")


def ingest_push(work: Work) -> dict[str, Any]:
    batch = services.land_push(work.params["batch_id"], work.params["file"])
    summary = f"批次 {batch.pk}：{batch.get_status_display()}，入湖 {batch.accepted} 行，隔离 {batch.rejected} 行"
    return {"url": reverse("lake:batch", args=[batch.pk]), "summary": summary}


def freshness_check(work: Work) -> dict[str, Any]:
    """Feeds past their expected interval: a warning line each in the log (for the bureau's monitoring)
    and the list in the job's record; the department-data page shows them too."""
    late = [f for f in services.feed_freshness() if f.late]
    for f in late:
        log.warning(
            "feed %s late: last landed %s days ago, expected every %s days",
            f.source,
            f.age_days if f.age_days is not None else "never",
            f.late_after_days,
        )
    names = "、".join(FEED_TITLES.get(f.source, f.source) for f in late)
    summary = f"{len(late)} 个部门数据超期未更新：{names}" if late else "各部门数据均按期更新"
    return {"url": reverse("lake:index"), "summary": summary, "late": [f.source for f in late]}
