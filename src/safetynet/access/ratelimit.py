"""Limits on the look-ups that answer questions about people, so no one can fish: a search by ID number,
a "who is this" look-up, a social organisation's known / not known. Going over a limit is refused (429)
and the first refusal of a window goes into the audit trail as an alert (`rate_limited`).

Counts live in Django's cache: in memory for the embedded single-process server; a deployment with
several processes names a shared cache (SAFETYNET_CACHE_URL, e.g. redis://…) so the limit holds across
them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from safetynet.access.services import Actor, record


@dataclass(frozen=True)
class Limit:
    name: str
    label: str
    per_window: int
    window_seconds: int


# The windows and counts a county may change in settings (SAFETYNET_RATE_LIMITS), by name.
LIMITS = {
    limit.name: limit
    for limit in (
        Limit("search", "人员查询", 60, 600),
        Limit("id_search_masked", "按身份证号查询（号码遮蔽的角色）", 10, 3600),
        Limit("lookup", "身份比对查询", 120, 600),
        Limit("known", "是否在册查询", 20, 3600),
    )
}


class RateLimited(Exception):
    """Over the limit: nothing was looked up."""

    def __init__(self, limit: Limit, wait: int):
        minutes = max(1, round(wait / 60))
        super().__init__(
            f"{limit.label}过于频繁（{limit.per_window} 次 / {limit.window_seconds // 60} 分钟），请 {minutes} 分钟后再试"
        )
        self.limit = limit


def check(actor: Actor, name: str) -> None:
    """Count one use of `name` by the actor; raise RateLimited beyond its limit."""
    limit = LIMITS[name]
    per_window = int(getattr(settings, "SAFETYNET_RATE_LIMITS", {}).get(name, limit.per_window))
    now = int(time.time())
    window = now // limit.window_seconds
    key = f"ratelimit:{name}:{actor.user.pk}:{window}"
    cache.add(key, 0, limit.window_seconds + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, limit.window_seconds + 60)
        used = 1
    if used <= per_window:
        return
    if used == per_window + 1:  # the first refusal of the window: an alert for the auditor
        record(
            actor,
            "rate_limited",
            "rate_limit",
            name,
            region_code=actor.user.region_id or "",
            detail=f"{limit.label}：{limit.window_seconds // 60} 分钟内超过 {per_window} 次，疑似批量查询",
        )
    raise RateLimited(limit, (window + 1) * limit.window_seconds - now)
