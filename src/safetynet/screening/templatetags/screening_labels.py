"""Template filters naming screening's codes in words: windows, kinds of feature values, levels."""

from __future__ import annotations

from django import template

from safetynet.screening.explain import template_in_words
from safetynet.screening.features import KIND_LABELS, WINDOW_LABELS
from safetynet.screening.packs import LEVEL_LABELS, Rule

register = template.Library()


@register.filter
def window_label(name: str) -> str:
    return WINDOW_LABELS.get(name, name)


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


@register.filter
def level_label(level: str) -> str:
    return LEVEL_LABELS.get(level, level)


@register.filter
def explained(rule: Rule, windows: dict[str, int]) -> str:
    return template_in_words(rule, windows)
