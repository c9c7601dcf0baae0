"""Masking of ID numbers and phones for roles that may not see them whole."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """370102199001011234 -> 370102********1234: birthplace and last four stay, birth date hidden."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
