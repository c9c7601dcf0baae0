"""Rule packs as data: parse the YAML, validate every expression against the feature schema, compile.

An expression is parsed by sqlglot and accepted only if every node is one of a few plain forms (features,
parameters, literals, comparisons, arithmetic, and/or/not, IN and BETWEEN over literals) and its types
agree. What is accepted is rebuilt from the syntax tree with parameters as literals, so nothing a user
typed reaches an engine as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from safetynet.screening.features import (
    BOOL,
    DATE,
    FACT_PARAMS,
    HOUSEHOLD_FEATURES,
    INT,
    MONEY,
    PERSON_FEATURES,
    RATIO,
    REFS,
    STAGE_TWO_FEATURES,
    TEXT,
    WINDOWS,
    Feature,
)

LEVELS = ("red", "orange", "yellow")
LEVEL_LABELS = {"red": "红色", "orange": "橙色", "yellow": "黄色"}  # as the notice names them
LEVEL_RANK = {"yellow": 1, "orange": 2, "red": 3}
NUMBER = "number"
NUMERIC = {INT, MONEY, RATIO, NUMBER}
RULE_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_EXPRESSION = 600
MAX_RULES = 100
# Windows added after packs were first saved: a stored pack without them takes these defaults.
LATER_WINDOWS = {"verified_income_months": 12}

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)


class PackError(ValueError):
    """A pack that cannot run; `problems` lists every reason, in Chinese, for the editor to show."""

    def __init__(self, problems: list[str]):
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Raise:
    level: str
    when: str


@dataclass
class Rule:
    id: str
    title: str
    condition: str
    level: str
    weight: float = 1.0
    hardship: bool = False
    persons: str = "living"  # or "deceased": the rows the rule looks at
    raise_: list[Raise] = field(default_factory=list)
    rank: list[str] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)
    enabled: bool = True

    def features_used(self) -> set[str]:
        """Qualified feature names (`p.age`) this rule reads anywhere."""
        used = set()
        for text in [self.condition, *(r.when for r in self.raise_), *self.rank]:
            try:
                tree = sqlglot.parse_one(text, read="duckdb")
            except (ParseError, TokenError):
                continue  # reported by validation
            used |= {f"{c.table}.{c.name}" for c in tree.find_all(exp.Column) if c.table}
        used |= {name for name in PLACEHOLDER.findall(self.explanation) if "." in name}
        used |= set(self.evidence)
        return used

    @property
    def stage(self) -> int:
        """2 when the rule reads which other rules fired; it then runs after them."""
        return 2 if any(f.split(".", 1)[1] in STAGE_TWO_FEATURES for f in self.features_used()) else 1


@dataclass
class Pack:
    name: str
    windows: dict[str, int]
    unfounded_days: int
    rules: list[Rule]
    facts: dict[str, int] = field(default_factory=lambda: {k: d for k, (d, _, _) in FACT_PARAMS.items()})

    @property
    def enabled_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=110)

    def to_dict(self) -> dict[str, Any]:
        rules = []
        for r in self.rules:
            body: dict[str, Any] = {"id": r.id, "title": r.title}
            if r.hardship:
                body["hardship"] = True
            if r.persons != "living":
                body["persons"] = r.persons
            if not r.enabled:
                body["enabled"] = False
            body["level"] = r.level
            if r.raise_:
                body["raise"] = [{"level": x.level, "when": x.when} for x in r.raise_]
            body["weight"] = r.weight
            if r.params:
                body["params"] = dict(r.params)
            body.update(condition=r.condition, rank=list(r.rank), explanation=r.explanation)
            body["evidence"] = list(r.evidence)
            rules.append(body)
        return {
            "name": self.name,
            "windows": dict(self.windows),
            "facts": dict(self.facts),
            "suppression": {"unfounded_days": self.unfounded_days},
            "rules": rules,
        }


@lru_cache(maxsize=1)
def default_pack_text() -> str:
    return resources.files("safetynet.screening").joinpath("default_pack.yaml").read_text(encoding="utf-8")


def default_pack() -> Pack:
    return parse_pack(default_pack_text())


# -- parsing ------------------------------------------------------------------------------------------


def parse_pack(text: str) -> Pack:
    """Parse and validate a pack; raise PackError with every problem found."""
    if any(not (ch.isprintable() or ch in "\n\t\r") for ch in text):
        raise PackError(["规则包中有不可见的控制字符（如 NUL），请删除后再保存"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PackError([f"YAML 格式错误：{error}"]) from None
    if not isinstance(data, dict):
        raise PackError(["规则包应为 YAML 映射（name、windows、rules）"])
    problems: list[str] = []
    windows = _windows(data.get("windows"), problems)
    facts = _facts(data.get("facts"), problems)
    suppression = data.get("suppression") or {}
    unfounded_days = _integer(suppression.get("unfounded_days", 180), "suppression.unfounded_days", problems)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append("rules 应为非空列表")
        raw_rules = []
    if len(raw_rules) > MAX_RULES:
        problems.append(f"规则数不能超过 {MAX_RULES}")
        raw_rules = raw_rules[:MAX_RULES]
    rules = [r for r in (_rule(raw, i, problems) for i, raw in enumerate(raw_rules, 1)) if r is not None]
    ids = [r.id for r in rules]
    for rule_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"规则编号 {rule_id} 重复")
    pack = Pack(str(data.get("name") or "未命名规则包")[:100], windows, unfounded_days, rules, facts)
    for rule in rules:
        problems.extend(validate_rule(rule, windows))
    if problems:
        raise PackError(problems)
    return pack


def _integer(value: Any, where: str, problems: list[str], low: int = 1, high: int = 3660) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where} 应为 {low} 到 {high} 之间的整数，而不是 {value!r}")
        return low
    return value


def _windows(raw: Any, problems: list[str]) -> dict[str, int]:
    raw = raw if isinstance(raw, dict) else {}
    unknown = sorted(set(raw) - set(WINDOWS))
    if unknown:
        problems.append(f"未知的时间窗口：{'、'.join(map(str, unknown))}")
    missing = sorted(set(WINDOWS) - set(raw) - set(LATER_WINDOWS))
    if missing:
        problems.append(f"缺少时间窗口：{'、'.join(missing)}")
    return {
        name: _integer(raw.get(name, LATER_WINDOWS.get(name, 1)), f"windows.{name}", problems)
        for name in WINDOWS
    }


def _facts(raw: Any, problems: list[str]) -> dict[str, int]:
    """The household-fact parameters; a pack saved before they existed takes the defaults."""
    raw = raw if isinstance(raw, dict) else {}
    unknown = sorted(set(map(str, raw)) - set(FACT_PARAMS))
    if unknown:
        problems.append(f"未知的家庭事实参数：{'、'.join(unknown)}")
    return {
        name: _integer(raw.get(name, default), f"facts.{name}", problems, low, high)
        for name, (default, low, high) in FACT_PARAMS.items()
    }


def _rule(raw: Any, position: int, problems: list[str]) -> Rule | None:
    where = f"第 {position} 条规则"
    if not isinstance(raw, dict):
        problems.append(f"{where}应为映射")
        return None
    rule_id = str(raw.get("id", ""))
    if not RULE_ID.match(rule_id):
        problems.append(f"{where}的编号 {rule_id!r} 无效：小写字母开头，只含小写字母、数字和下划线")
        return None
    where = f"规则 {rule_id}"
    level = raw.get("level")
    if level not in LEVELS:
        problems.append(f"{where}：level 应为 red、orange 或 yellow")
    raises = []
    for item in raw.get("raise") or []:
        if (
            not isinstance(item, dict)
            or item.get("level") not in LEVELS
            or not isinstance(item.get("when"), str)
        ):
            problems.append(f"{where}：raise 每项应有 level（red/orange/yellow）和 when 条件")
            continue
        raises.append(Raise(item["level"], item["when"]))
    params: dict[str, float] = {}
    raw_params = raw.get("params") or {}
    if not isinstance(raw_params, dict):
        problems.append(f"{where}：params 应为映射")
        raw_params = {}
    for name, value in raw_params.items():
        if not PARAM_NAME.match(str(name)) or str(name) in WINDOWS:
            problems.append(f"{where}：参数名 {name!r} 无效")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}：参数 {name} 应为数字，而不是 {value!r}")
        else:
            params[str(name)] = value
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
        problems.append(f"{where}：weight 应为 0 到 100 之间的数字")
        weight = 1.0
    persons = raw.get("persons", "living")
    if persons not in ("living", "deceased"):
        problems.append(f"{where}：persons 应为 living 或 deceased")
    rank = raw.get("rank") or []
    evidence = raw.get("evidence") or []
    if not isinstance(rank, list) or not all(isinstance(x, str) for x in rank):
        problems.append(f"{where}：rank 应为表达式列表")
        rank = []
    if not isinstance(evidence, list) or not all(isinstance(x, str) for x in evidence):
        problems.append(f"{where}：evidence 应为特征名列表")
        evidence = []
    return Rule(
        id=rule_id,
        title=str(raw.get("title") or rule_id)[:100],
        condition=str(raw.get("condition") or ""),
        level=level if level in LEVELS else "yellow",
        weight=float(weight),
        hardship=bool(raw.get("hardship", False)),
        persons=persons if persons in ("living", "deceased") else "living",
        raise_=raises,
        rank=rank,
        params=params,
        explanation=" ".join(str(raw.get("explanation") or "").split()),
        evidence=evidence,
        enabled=bool(raw.get("enabled", True)),
    )


# -- validation ---------------------------------------------------------------------------------------


def feature(qualified: str) -> Feature | None:
    table, _, name = qualified.partition(".")
    if table == "p":
        return PERSON_FEATURES.get(name)
    if table == "h":
        return HOUSEHOLD_FEATURES.get(name) or STAGE_TWO_FEATURES.get(name)
    return None


def validate_rule(rule: Rule, windows: dict[str, int]) -> list[str]:
    """Every problem with one rule's expressions, placeholders and evidence, in Chinese."""
    where = f"规则 {rule.id}"
    problems = []
    try:
        if not rule.condition.strip():
            raise PackError(["条件不能为空"])
        expect(rule.condition, BOOL, rule.params)
    except PackError as error:
        problems.append(f"{where} 的条件：{error}")
    for item in rule.raise_:
        try:
            expect(item.when, BOOL, rule.params)
        except PackError as error:
            problems.append(f"{where} 的升级条件：{error}")
    for text in rule.rank:
        try:
            kind = check_expression(text, rule.params)
            if kind == REFS:
                raise PackError(["排序不能用来源列表"])
        except PackError as error:
            problems.append(f"{where} 的排序：{error}")
    for name in PLACEHOLDER.findall(rule.explanation):
        if not (feature(name) or name in rule.params or name in windows):
            problems.append(f"{where} 的说明模板：未知的占位符 {{{name}}}")
    if "{" in PLACEHOLDER.sub("", rule.explanation) or "}" in PLACEHOLDER.sub("", rule.explanation):
        problems.append(f"{where} 的说明模板：花括号不成对")
    for name in rule.evidence:
        f = feature(name)
        if f is None or f.kind != REFS:
            problems.append(f"{where} 的证据：{name} 不是来源特征（*_refs）")
    if rule.hardship and rule.stage == 2:
        problems.append(f"{where}：困难规则不能读取 hardship_rules（其他困难规则的结果）")
    return problems


def expect(text: str, kind: str, params: dict[str, float]) -> None:
    found = check_expression(text, params)
    if found != kind:
        raise PackError([f"结果应为{_kind_name(kind)}，而不是{_kind_name(found)}"])


def _kind_name(kind: str) -> str:
    return {
        BOOL: "是/否",
        INT: "整数",
        MONEY: "金额",
        RATIO: "比例",
        NUMBER: "数字",
        TEXT: "文字",
        DATE: "日期",
        REFS: "来源列表",
    }.get(kind, kind)


def parse_expression(text: str) -> exp.Expr:
    if len(text) > MAX_EXPRESSION:
        raise PackError([f"表达式过长（超过 {MAX_EXPRESSION} 个字符）"])
    if any(not (ch.isprintable() or ch in "\n\t\r") for ch in text):
        raise PackError(["表达式中有不可见的控制字符（如 NUL），请删除"])
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except (ParseError, TokenError) as error:
        raise PackError([f"无法解析：{str(error).splitlines()[0][:200]}"]) from None
    if tree is None:
        raise PackError(["表达式为空"])
    if any(node.comments for node in tree.walk()):
        raise PackError(["表达式中不能有注释（-- 或 /* */）"])
    return tree


def check_expression(text: str, params: dict[str, float]) -> str:
    """The type of a valid expression; PackError naming the first thing that is not allowed."""
    return _type_of(parse_expression(text), params)


def _type_of(node: exp.Expr, params: dict[str, float]) -> str:  # noqa: C901 - one case per form
    if isinstance(node, exp.Paren):
        return _type_of(node.this, params)
    if isinstance(node, exp.Column):
        if not node.table:
            name = node.name
            if name in params:
                return NUMBER
            raise PackError([f"未知的名称 {name}（特征请写 p.{name} 或 h.{name}，参数须在 params 中定义）"])
        qualified = f"{node.table}.{node.name}"
        f = feature(qualified)
        if f is None or node.args.get("db") or node.args.get("catalog"):
            raise PackError([f"未知的特征 {node.sql()}"])
        if f.kind == REFS:
            raise PackError([f"{qualified} 是来源列表，只能用作证据"])
        return f.kind
    if isinstance(node, exp.Literal):
        return TEXT if node.is_string else NUMBER
    if isinstance(node, exp.Boolean):
        return BOOL
    if isinstance(node, exp.Not):
        _need(node.this, BOOL, params, "not")
        return BOOL
    if isinstance(node, exp.And | exp.Or):
        _need(node.this, BOOL, params, node.key)
        _need(node.expression, BOOL, params, node.key)
        return BOOL
    if isinstance(node, _COMPARISONS):
        _comparable(_type_of(node.this, params), _type_of(node.expression, params), node)
        return BOOL
    if isinstance(node, _ARITHMETIC):
        for side in (node.this, node.expression):
            if _type_of(side, params) not in NUMERIC:
                raise PackError([f"{node.sql()}：只有数字可以做加减乘除"])
        return NUMBER
    if isinstance(node, exp.Neg):
        if _type_of(node.this, params) not in NUMERIC:
            raise PackError([f"{node.sql()}：只有数字可以取负"])
        return NUMBER
    if isinstance(node, exp.Between):
        kind = _type_of(node.this, params)
        _comparable(kind, _type_of(node.args["low"], params), node)
        _comparable(kind, _type_of(node.args["high"], params), node)
        return BOOL
    if isinstance(node, exp.In):
        kind = _type_of(node.this, params)
        if node.args.get("query") or node.args.get("unnest") or not node.expressions:
            raise PackError([f"{node.sql()}：IN 只能跟常量列表"])
        for item in node.expressions:
            if not isinstance(item, exp.Literal):
                raise PackError([f"{node.sql()}：IN 只能跟常量列表"])
            _comparable(kind, _type_of(item, params), node)
        return BOOL
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        _type_of(node.this, params)
        return BOOL
    raise PackError(
        [
            f"不允许的写法：{node.sql()[:80]}（只能使用特征、参数、常量、比较、四则运算、and/or/not、in、between）"
        ]
    )


def _need(node: exp.Expr, kind: str, params: dict[str, float], operator: str) -> None:
    found = _type_of(node, params)
    if found != kind:
        raise PackError([f"{operator} 两侧应为是/否，{node.sql()} 是{_kind_name(found)}"])


def _comparable(left: str, right: str, node: exp.Expr) -> None:
    if left in NUMERIC and right in NUMERIC:
        return
    # A date may be compared with a 'YYYY-MM-DD' literal.
    if left == right or {left, right} == {DATE, TEXT}:
        return
    raise PackError([f"{node.sql()}：不能比较{_kind_name(left)}和{_kind_name(right)}"])


# -- compiling ----------------------------------------------------------------------------------------


VALUE_WORDS = {"none": "不能自理", "partial": "部分自理", "full": "完全自理"}  # coded values rules compare
COMPARISONS = {exp.EQ: "=", exp.NEQ: "≠", exp.GT: ">", exp.GTE: "≥", exp.LT: "<", exp.LTE: "≤"}
ARITHMETIC = {exp.Add: "+", exp.Sub: "−", exp.Mul: "×", exp.Div: "÷"}


def in_words(text: str, params: dict[str, float]) -> str:
    """A rule's condition as a person reads it: features by their Chinese labels, parameters by their
    values, 且 / 或 / 非 for and / or / not (`p.minor and h.able_adults = 0` → 「未成年人」，且「家中 18 至 59 岁
    无重度残疾的成年人数」= 0). The condition itself stays what runs; this is only how a page shows it."""

    def words(node: exp.Expr) -> str:  # noqa: C901 - one case per form
        if isinstance(node, exp.Paren):
            return f"（{words(node.this)}）"
        if isinstance(node, exp.And):
            return f"{words(node.left)}，且{words(node.right)}"
        if isinstance(node, exp.Or):
            return f"{words(node.left)}，或{words(node.right)}"
        if isinstance(node, exp.Not):
            return f"非{words(node.this)}"
        if isinstance(node, exp.Column):
            name = f"{node.table}.{node.name}" if node.table else node.name
            found = feature(name)
            if found is not None:
                return f"「{found.label}」"
            return f"{params[node.name]:g}" if node.name in params else name
        if isinstance(node, exp.Boolean):
            return "是" if node.this else "否"
        if isinstance(node, exp.Literal):
            return VALUE_WORDS.get(node.this, node.this) if node.is_string else node.this
        if isinstance(node, exp.Neg):
            return f"−{words(node.this)}"
        if isinstance(node, exp.In):
            return f"{words(node.this)}为{'、'.join(words(e) for e in node.expressions)}之一"
        if isinstance(node, exp.Is):
            return f"{words(node.this)}为空" if isinstance(node.expression, exp.Null) else node.sql()
        for kind, sign in (*COMPARISONS.items(), *ARITHMETIC.items()):
            if isinstance(node, kind):
                return f"{words(node.left)} {sign} {words(node.right)}"
        return node.sql(dialect="duckdb")

    try:
        return words(parse_expression(text))
    except PackError:
        return text


def to_sql(text: str, params: dict[str, float]) -> str:
    """The validated expression as DuckDB SQL, parameters replaced by literals."""
    tree = parse_expression(text)
    _type_of(tree, params)

    def bind(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            value = params[node.name]
            return exp.Literal.number(str(Decimal(str(value))))
        return node

    return tree.transform(bind).sql(dialect="duckdb", comments=False)
