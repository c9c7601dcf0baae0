"""Who a policy is for, as data: a short list of checks over household facts, all of which must hold.

A condition is `{"fact": "income_ratio", "op": "<=", "value": 1.5}`. Facts, operators and value types are
a closed table below; anything else is refused with a message a county clerk can act on. Conditions are
compared in Python against a household's facts: never evaluated as code, never pasted into SQL.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_CONDITIONS = 20
MAX_JSON_CHARS = 4000
NUMBER_OPS = ("<", "<=", ">", ">=", "==", "!=")
BOOL_OPS = ("==", "!=")
CHOICE_OPS = ("==", "!=", "in", "not_in")
SET_OPS = ("includes", "excludes", "includes_any")
OPS_BY_KIND = {"number": NUMBER_OPS, "bool": BOOL_OPS, "choice": CHOICE_OPS, "set": SET_OPS}
OP_WORDS = {
    "<": "低于",
    "<=": "不超过",
    ">": "高于",
    ">=": "不低于",
    "==": "等于",
    "!=": "不等于",
    "in": "属于",
    "not_in": "不属于",
    "includes": "包含",
    "excludes": "不包含",
    "includes_any": "包含其一",
}
OP_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
YES = {"是", "有", "true", "yes", "y", "1", "真"}
NO = {"否", "无", "false", "no", "n", "0", "假"}

PROGRAMS = {
    "dibao": "低保",
    "tekun": "特困供养",
    "dibao_edge": "低保边缘",
    "rigid_expense": "刚性支出困难救助",
    "relapse_monitoring": "防止返贫监测帮扶",
    "temporary": "临时救助",
    "medical": "医疗救助",
    "education": "教育救助",
    "housing": "住房救助",
    "employment": "就业救助",
}
# The default pack's rules, for conditions on a household's open warnings.
WARNING_RULES = {
    "medical_burden": "医疗支出负担重",
    "serious_illness": "大病且低收入",
    "breadwinner_death": "主要劳动力死亡",
    "severe_disability": "重度残疾且低收入",
    "elderly_alone": "老年人独居或仅与老人同住",
    "unemployment_dependents": "失业且有老幼需抚养",
    "disaster_loss": "近期受灾",
    "relapse_risk": "防止返贫监测对象",
    "child_without_guardian": "未成年人无监护能力人",
    "tekun_candidate": "疑似特困供养对象",
    "student_dropout": "学生辍学且低收入",
    "dangerous_housing": "危房且低收入",
    "rejected_then_hardship": "申请未获批但仍有困难",
    "repeat_hotline": "多次拨打求助热线",
}
SELF_CARE = {"full": "能够自理", "partial": "部分自理", "none": "完全不能自理"}
AREA_TYPES = {"urban": "城市", "rural": "农村"}


class ConditionError(ValueError):
    """A condition list that cannot be saved; the message says, in Chinese, what to fix."""


@dataclass(frozen=True)
class Fact:
    name: str
    label: str
    kind: str  # number, bool, choice, set
    unit: str = ""
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(10_000_000)
    choices: dict[str, str] = field(default_factory=dict)
    yes: str = ""  # how a true bool fact reads in a letter; {name} fields come from the facts
    no: str = ""


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("per_capita_income", "家庭人均月收入", "number", "元", high=Decimal(1_000_000)),
        Fact("income_ratio", "人均收入与低保标准之比", "number", "倍", high=Decimal(100)),
        Fact("members", "共同生活家庭人口", "number", "人", high=Decimal(100)),
        Fact("oldest_age", "最年长成员年龄", "number", "岁", high=Decimal(150)),
        Fact(
            "has_elderly",
            "有老年人（规则包所定老年年龄）",
            "bool",
            yes="家中有老年人（最年长 {oldest_age} 岁）",
            no="家中没有老年人",
        ),
        Fact(
            "has_elderly_60",
            "有 60 周岁及以上老人",
            "bool",
            yes="家中有 60 周岁及以上老人（最年长 {oldest_age} 岁）",
            no="家中没有 60 周岁及以上老人",
        ),
        Fact(
            "has_elderly_70",
            "有 70 周岁及以上老人",
            "bool",
            yes="家中有 70 周岁及以上老人（最年长 {oldest_age} 岁）",
            no="家中没有 70 周岁及以上老人",
        ),
        Fact(
            "has_elderly_80",
            "有 80 周岁及以上老人",
            "bool",
            yes="家中有 80 周岁及以上老人（最年长 {oldest_age} 岁）",
            no="家中没有 80 周岁及以上老人",
        ),
        Fact(
            "elderly_alone",
            "老年人独居",
            "bool",
            yes="老年人独自生活（{oldest_age} 岁）",
            no="家中没有独居老人",
        ),
        Fact(
            "has_child",
            "有未满 18 周岁的未成年人",
            "bool",
            yes="家中有未满 18 周岁的未成年人",
            no="家中没有未成年人",
        ),
        Fact("has_student", "有在校学生", "bool", yes="家中有在校学生", no="家中没有在校学生"),
        Fact(
            "has_disabled",
            "有残疾人",
            "bool",
            yes="家中有持证残疾人（最重为 {disability_level} 级）",
            no="家中没有持证残疾人",
        ),
        Fact("disability_level", "最重残疾等级（1 级最重）", "number", "级", low=Decimal(1), high=Decimal(4)),
        Fact(
            "has_severe_disability",
            "有一、二级重度残疾人",
            "bool",
            yes="家中有一、二级重度残疾人",
            no="家中没有一、二级重度残疾人",
        ),
        Fact("self_care", "成员生活自理能力（最差）", "choice", choices=SELF_CARE),
        Fact(
            "serious_illness",
            "有患重特大疾病的成员",
            "bool",
            yes="家中有患重特大疾病的成员",
            no="家中没有患重特大疾病的成员",
        ),
        Fact(
            "medical_hardship",
            "重病或医疗支出负担重",
            "bool",
            yes="家中有重病患者，或近期医疗自付负担重（数据比对预警）",
            no="家中没有重病患者或医疗负担预警",
        ),
        Fact("out_of_pocket", "近 12 个月家庭医疗自付", "number", "元", high=Decimal(100_000_000)),
        Fact("out_of_pocket_share", "医疗自付占家庭年收入的比例", "number", "倍", high=Decimal(10_000)),
        Fact("has_unemployed", "有失业成员", "bool", yes="家中有失业成员", no="家中没有失业成员"),
        Fact(
            "no_able_worker",
            "无劳动能力家庭",
            "bool",
            yes="家中没有劳动年龄内且无重度残疾的成年人",
            no="家中有劳动年龄内且无重度残疾的成年人",
        ),
        Fact("area_type", "城乡类别", "choice", choices=AREA_TYPES),
        Fact("programs", "正在享受的救助", "set", choices=PROGRAMS),
        Fact("warned_for", "数据比对预警（未结）", "set", choices=WARNING_RULES),
        Fact(
            "is_covered",
            "已享受低保或特困供养",
            "bool",
            yes="家庭已享受低保或特困供养",
            no="家庭目前未享受低保或特困供养",
        ),
    )
}


def _shown(text: object, limit: int = 30) -> str:
    """What the clerk typed, quoted back safely: printable, short."""
    value = "".join(ch for ch in str(text) if ch.isprintable())
    return value if len(value) <= limit else value[:limit] + "…"


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip().replace("，", "").replace(",", "")
        if not re.fullmatch(r"-?\d{1,9}(\.\d{1,4})?", text):
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _code(fact: Fact, value: object) -> str | None:
    """A choice's code, given the code or its Chinese label."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in fact.choices:
        return text
    return next((code for code, label in fact.choices.items() if label == text), None)


def _value(fact: Fact, op: str, value: object, where: str, from_text: bool) -> object:
    """The normalized value of one condition, or ConditionError."""
    if fact.kind == "number":
        number = _number(value) if from_text or not isinstance(value, str) else None
        if number is None:
            raise ConditionError(f"{where}「{fact.label}」的值应为数字，收到「{_shown(value)}」")
        if not fact.low <= number <= fact.high:
            raise ConditionError(
                f"{where}「{fact.label}」的值应在 {fact.low} 到 {fact.high} {fact.unit}之间，收到 {number}"
            )
        return _json_number(number)
    if fact.kind == "bool":
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str) and value.strip().lower() in YES | NO:
            return value.strip().lower() in YES
        raise ConditionError(
            f"{where}「{fact.label}」的值应为 是 或 否（true/false），收到「{_shown(value)}」"
        )
    allowed = "、".join(f"{code}（{label}）" for code, label in fact.choices.items())
    if op in ("in", "not_in", "includes_any"):
        items: object = value
        if from_text and isinstance(value, str):
            items = [v for v in re.split(r"[,，、;；\s]+", value) if v]
        if not isinstance(items, list) or not items or len(items) > len(fact.choices):
            raise ConditionError(f"{where}「{fact.label}」的值应为若干选项，可选：{allowed}")
        codes = [_code(fact, v) for v in items]
        bad = [v for v, c in zip(items, codes, strict=True) if c is None]
        if bad:
            raise ConditionError(f"{where}「{fact.label}」没有选项「{_shown(bad[0])}」，可选：{allowed}")
        return sorted({c for c in codes if c is not None})
    code = _code(fact, value)
    if code is None:
        raise ConditionError(f"{where}「{fact.label}」没有选项「{_shown(value)}」，可选：{allowed}")
    return code


def _one(item: object, where: str, from_text: bool = False) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ConditionError(f"{where}应为包含 fact、op、value 三项的对象")
    extra = [k for k in item if k not in ("fact", "op", "value")]
    if extra:
        raise ConditionError(f"{where}含有不认识的字段「{_shown(extra[0])}」，只能有 fact、op、value")
    missing = [k for k in ("fact", "op", "value") if k not in item]
    if missing:
        raise ConditionError(f"{where}缺少「{missing[0]}」")
    name, op = item["fact"], item["op"]
    fact = FACTS.get(name) if isinstance(name, str) else None
    if fact is None:
        raise ConditionError(f"{where}未知的条件项「{_shown(name)}」，可用的条件项见表格说明")
    ops = OPS_BY_KIND[fact.kind]
    if not isinstance(op, str) or op not in ops:
        raise ConditionError(f"{where}「{fact.label}」不能使用运算符「{_shown(op)}」，可用：{'、'.join(ops)}")
    return {"fact": fact.name, "op": op, "value": _value(fact, op, item["value"], where, from_text)}


def validate(conditions: object) -> list[dict[str, Any]]:
    """Checked and normalized conditions (choice labels become codes), or ConditionError in Chinese."""
    if isinstance(conditions, str):
        if len(conditions) > MAX_JSON_CHARS:
            raise ConditionError(f"适用条件内容过长，请控制在 {MAX_JSON_CHARS} 个字符以内")
        try:
            conditions = json.loads(conditions or "[]")
        except (ValueError, RecursionError):
            raise ConditionError("适用条件不是有效的 JSON，请检查括号、引号和逗号") from None
    try:
        size = len(json.dumps(conditions, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        raise ConditionError("适用条件只能包含文字、数字、是/否和列表") from None
    if size > MAX_JSON_CHARS:
        raise ConditionError(f"适用条件内容过长，请控制在 {MAX_JSON_CHARS} 个字符以内")
    if not isinstance(conditions, list):
        raise ConditionError(
            '适用条件应为条件列表（JSON 数组），例如 [{"fact": "income_ratio", "op": "<=", "value": 1.5}]'
        )
    if len(conditions) > MAX_CONDITIONS:
        raise ConditionError(f"适用条件最多 {MAX_CONDITIONS} 条")
    return [_one(item, f"第 {i} 条条件：") for i, item in enumerate(conditions, 1)]


def from_rows(rows: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Conditions from a form's (fact, op, value text) rows; rows without a fact are skipped."""
    found = []
    for i, (fact, op, text) in enumerate(rows, 1):
        if not fact.strip():
            continue
        where = f"第 {i} 行条件："
        if not text.strip():
            raise ConditionError(f"{where}请填写值")
        found.append(_one({"fact": fact.strip(), "op": op.strip(), "value": text}, where, from_text=True))
    if len(found) > MAX_CONDITIONS:
        raise ConditionError(f"适用条件最多 {MAX_CONDITIONS} 条")
    return validate(found)


# -- evaluation and explanation -----------------------------------------------------------------------


def _compare(op: str, actual: Decimal, expected: Decimal) -> bool:
    return {
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
        "==": actual == expected,
        "!=": actual != expected,
    }[op]


def holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether one validated condition holds; an unknown fact (None) holds nothing."""
    fact = FACTS[condition["fact"]]
    op, expected = condition["op"], condition["value"]
    actual = facts.get(fact.name)
    if actual is None:
        return False
    if fact.kind == "number":
        return _compare(op, Decimal(str(actual)), Decimal(str(expected)))
    if fact.kind == "bool":
        return (bool(actual) == expected) == (op == "==")
    if fact.kind == "choice":
        inside = actual in expected if op in ("in", "not_in") else actual == expected
        return inside == (op in ("==", "in"))
    if op == "includes_any":
        return bool(set(expected) & set(actual))
    return (expected in actual) == (op == "includes")


def amount(value: object) -> str:
    """620.00 -> 620, 366.67 -> 366.67: money and ratios as a clerk writes them."""
    number = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{number:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def explain(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """Why a condition holds for this household, in a sentence for the letter."""
    fact = FACTS[condition["fact"]]
    op, expected = condition["op"], condition["value"]
    actual = facts.get(fact.name)
    word = OP_WORDS[op]
    if fact.name == "income_ratio":
        standard = facts.get("dibao_standard")
        times = "" if Decimal(str(expected)) == 1 else f"的 {amount(expected)} 倍"
        return (
            f"家庭人均月收入 {amount(facts.get('per_capita_income') or 0)} 元，"
            f"{word}低保标准 {amount(standard or 0)} 元{times}"
        )
    if fact.kind == "number":
        return f"{fact.label} {amount(actual)} {fact.unit}，{word} {amount(expected)} {fact.unit}".replace(
            " ，", "，"
        ).strip()
    if fact.kind == "bool":
        shown = {k: ("" if v is None else v) for k, v in facts.items()}
        return (fact.yes if actual else fact.no).format(**shown)
    if fact.kind == "choice":
        return f"{fact.label}为「{fact.choices.get(str(actual), str(actual))}」"
    actual = actual or []
    if fact.name == "warned_for":
        fired = [fact.choices.get(r, r) for r in actual if op != "includes_any" or r in expected]
        return (
            f"数据比对预警：{'、'.join(fired)}"
            if op != "excludes"
            else f"没有「{fact.choices.get(expected, expected)}」预警"
        )
    if op == "includes_any":
        held = [fact.choices.get(p, p) for p in actual if p in expected]
        return f"家庭正在享受{'、'.join(held)}"
    label = PROGRAMS.get(expected, expected)
    return f"家庭正在享受{label}" if op == "includes" else f"家庭目前未享受{label}"


def describe(condition: Mapping[str, Any]) -> str:
    """A condition as the catalog shows it, without any household."""
    fact = FACTS.get(condition.get("fact", ""))
    if fact is None:
        return _shown(condition)
    op, value = condition["op"], condition["value"]
    if fact.kind == "number":
        return f"{fact.label} {OP_SYMBOLS[op]} {amount(value)}{fact.unit}"
    if fact.kind == "bool":
        return f"{fact.label}：{'是' if (op == '==') == bool(value) else '否'}"
    if fact.kind == "choice":
        values = value if isinstance(value, list) else [value]
        labels = "、".join(fact.choices.get(str(v), str(v)) for v in values)
        return f"{fact.label}{'为' if op in ('==', 'in') else '不为'}{labels}"
    if op == "includes_any":
        return f"{fact.label}包含其一：{'、'.join(fact.choices.get(v, v) for v in value)}"
    prefix = {"programs": ("正在享受", "未享受"), "warned_for": ("有预警：", "无预警：")}[fact.name]
    return f"{prefix[0] if op == 'includes' else prefix[1]}{fact.choices.get(value, value)}"


def text_value(condition: Mapping[str, Any]) -> str:
    """A condition's value as the form's text box shows it, so a saved row can be edited again."""
    fact, value = FACTS.get(condition.get("fact", "")), condition.get("value")
    if fact is None:
        return ""
    if fact.kind == "bool":
        return "是" if value else "否"
    if fact.kind == "number":
        return amount(value)
    if isinstance(value, list):
        return "、".join(fact.choices.get(str(v), str(v)) for v in value)
    return fact.choices.get(str(value), str(value))
