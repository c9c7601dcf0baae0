"""A warning's words and evidence: the rule's template filled with the values that fired it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from safetynet.lake import pseudonyms
from safetynet.screening.features import BOOL, DATE, INT, MONEY, RATIO, REFS
from safetynet.screening.packs import PLACEHOLDER, Rule, feature

# Codes a clerk should not have to decode.
WORDS = {
    "none": "不能自理",
    "partial": "部分自理",
    "full": "完全自理",
    "minor": "轻微",
    "moderate": "中等",
    "severe": "严重",
    "total": "全部损毁",
    "visual": "视力",
    "hearing": "听力",
    "speech": "言语",
    "physical": "肢体",
    "intellectual": "智力",
    "mental": "精神",
    "multiple": "多重",
    "preschool": "学前",
    "primary": "小学",
    "junior": "初中",
    "senior": "高中",
    "vocational": "职业教育",
    "college": "高等教育",
    "urban": "城市",
    "rural": "农村",
    "rejected": "驳回",
    "withdrawn": "撤回",
}
_AFTER_PUNCTUATION = re.compile(r"([，。；：、（）])\s+")
_BEFORE_PUNCTUATION = re.compile(r"\s+([，。；：、（）])")


def json_value(kind: str, value: Any) -> Any:
    """A feature value as JSON keeps it, in the feature's own type whatever the engine returned
    (DuckDB sums integers into decimals, Spark into longs): money as exact strings, dates as ISO,
    evidence lists sorted."""
    if value is None:
        return None
    if kind == INT:
        return int(value)
    if kind == MONEY:
        return str(Decimal(value).quantize(Decimal("0.01")))
    if kind == RATIO:
        return str(Decimal(value).quantize(Decimal("0.0001")))
    if kind == BOOL:
        return bool(value)
    if kind == DATE:
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == REFS:
        return sorted(str(v) for v in value if v is not None)
    return str(value)


def shown(kind: str, value: Any, titles: dict[str, str] | None = None) -> str:
    """A value as a clerk reads it."""
    if value is None or value == "":
        return "—"
    if kind == MONEY:
        return f"{Decimal(value):,.2f}"
    if kind == RATIO:
        return f"{Decimal(value) * 100:.1f}%"
    if kind == BOOL:
        return "是" if value else "否"
    if kind == DATE:
        return str(value)
    if kind == REFS:
        items = value if isinstance(value, list) else [value]
        return "、".join(str((titles or {}).get(v, v)) for v in items)
    return WORDS.get(str(value), str(value))


def render(rule: Rule, values: dict[str, Any], windows: dict[str, int], titles: dict[str, str]) -> str:
    """The rule's explanation with every placeholder filled in."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        f = feature(name)
        if f is not None:
            return shown(f.kind, values.get(name), titles)
        if name in rule.params:
            return _number(rule.params[name])
        return str(windows.get(name, name))

    text = PLACEHOLDER.sub(fill, rule.explanation)
    return _BEFORE_PUNCTUATION.sub(r"\1", _AFTER_PUNCTUATION.sub(r"\1", text))


def template_in_words(rule: Rule, windows: dict[str, int]) -> str:
    """The explanation as the rules page shows it before any household: each feature by its label in
    「」, parameters and windows by their current values (no placeholder a clerk cannot read)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        f = feature(name)
        if f is not None:
            return f"「{f.label}」"
        if name in rule.params:
            return _number(rule.params[name])
        return str(windows.get(name, name))

    return PLACEHOLDER.sub(fill, rule.explanation)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


REGISTRY_REF = "registry:0:"


def revealed_refs(refs: list[str]) -> list[str]:
    """`source:batch:key` references whose key is a lake pseudonym (a registry death is referred to by the
    person's ID number) with the ID number again, so evidence and fingerprints never depend on the key."""
    at = [i for i, ref in enumerate(refs) if ref.startswith(REGISTRY_REF)]  # other keys are the feeds' own
    shown = pseudonyms.reveal_ids([refs[i][len(REGISTRY_REF) :] for i in at], strict=False)  # or an application id
    out = list(refs)
    for i, id_number in zip(at, shown, strict=True):
        out[i] = REGISTRY_REF + id_number
    return out


def evidence(refs: list[str], snapshot_id: int | None, household_id: str) -> list[dict[str, Any]]:
    """`source:batch:key` strings as records, plus the registry snapshot the household was read from."""
    rows: list[dict[str, Any]] = []
    for ref in sorted(set(refs)):
        if ref.count(":") < 2:  # not a row: another rule's id
            rows.append({"source": "rule", "key": ref})
            continue
        source, batch, key = ref.split(":", 2)
        if source == "registry":
            rows.append({"source": "registry", "snapshot": snapshot_id, "key": key})
        else:
            rows.append({"source": source, "batch": int(batch), "key": key})
    rows.append({"source": "registry", "snapshot": snapshot_id, "key": household_id})
    return rows


def fingerprint(rule_id: str, household_id: str, id_number: str, refs: list[str]) -> str:
    """What must change for a suppressed warning to be raised again: the person or the source rows."""
    body = json.dumps([rule_id, household_id, id_number, sorted(set(refs))], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
