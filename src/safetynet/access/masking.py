"""Masking of ID numbers and phones for roles that may not see them whole."""

from __future__ import annotations

import re

# An ID number or a mobile number inside free text, as people type them: spaced or dashed in groups
# ("3714 2419 5003 0100 1X", "176-1234-5015"), full-width digits already folded by the caller or not.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d(?:[ \t\-]?\d){16}[ \t\-]?[\dXx](?![0-9A-Za-z])")
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[ \t\-]?)?1[3-9]\d(?:[ \t\-]?\d){8}(?![0-9])")


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


def mask_in_text(text: str) -> str:
    """Free text (a reported situation, a lead's details) with every ID number and mobile number in it
    masked as above, however it was spaced: what a reader without whole identifiers may see of it."""
    if not text:
        return text
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(re.sub(r"[ \t\-]", "", m.group())), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[^0-9]", "", m.group())[-11:]), text)
