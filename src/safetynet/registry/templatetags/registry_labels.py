"""Template filter turning stored codes (head, farmer, dibao …) into their translated labels."""

from __future__ import annotations

from django import template
from django.db.models import TextChoices

from safetynet.registry import models

register = template.Library()

CHOICES: tuple[type[TextChoices], ...] = (
    models.Relation,
    models.Employment,
    models.Program,
    models.AssistanceStatus,
    models.Decision,
    models.SelfCare,
    models.AreaType,
    models.Gender,
)
LABELS = {value: label for choices in CHOICES for value, label in choices.choices if value}


@register.filter
def label(code: str) -> str:
    return str(LABELS.get(code, code))
