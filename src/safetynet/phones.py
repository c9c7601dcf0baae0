"""Phone numbers as people give them (+86, dashes, brackets, an area code left off), read one way.

Shared by the registry's search (a hotline operator pastes "138 1234 5678") and the matcher."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Phone:
    digits: str  # mobile: 11 digits; landline: area code + number when the area code was given
    mobile: bool

    @property
    def local(self) -> str:
        """The number without its area code: what a caller gives when they leave it off."""
        if self.mobile:
            return self.digits
        area = _AREA_CODE.match(self.digits)
        return self.digits[area.end() :] if area and len(self.digits) - area.end() >= 7 else self.digits


_AREA_CODE = re.compile(r"^0(10|2\d|[3-9]\d\d)")


@lru_cache(maxsize=65536)  # a batch reads the same household numbers for every member
def normalise_phone(text: str) -> Phone | None:
    """+86 / 0086 prefixes, spaces, dashes and brackets removed; None when no plausible number is left."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (10, 11, 12):
            digits = digits[len(prefix) :]
            break
    if len(digits) == 11 and digits.startswith("1"):
        return Phone(digits, True)
    if 7 <= len(digits) <= 12:
        return Phone(digits, False)
    return None


def phones_agree(a: Phone, b: Phone) -> bool:
    if a.mobile or b.mobile:
        return a.digits == b.digits
    # A landline given without its area code still agrees with the same number with one.
    if _AREA_CODE.match(a.digits) and _AREA_CODE.match(b.digits):
        return a.digits == b.digits
    return a.local == b.local
