"""Template filter naming a feed in words (medical_claims → 医疗费用结算)."""

from __future__ import annotations

from django import template

from safetynet.lake.sources import feed_title

register = template.Library()


@register.filter
def source_title(source: str) -> str:
    return feed_title(source)
