"""Rule packs: the default pack parses; anything that is not a plain expression over features is refused."""

from __future__ import annotations

import pytest
import yaml

from safetynet.screening.packs import (
    PackError,
    check_expression,
    default_pack,
    default_pack_text,
    parse_pack,
    to_sql,
)


def pack_with(**changes: object) -> str:
    """The default pack's YAML with the first rule changed."""
    data = yaml.safe_load(default_pack_text())
    data["rules"][0].update(changes)
    return yaml.safe_dump(data, allow_unicode=True)


def problems(text: str) -> str:
    with pytest.raises(PackError) as caught:
        parse_pack(text)
    return "；".join(caught.value.problems)


def test_default_pack_has_every_contract_rule_with_its_defaults() -> None:
    pack = default_pack()
    assert [r.id for r in pack.rules] == [
        "medical_burden",
        "serious_illness",
        "breadwinner_death",
        "severe_disability",
        "elderly_alone",
        "unemployment_dependents",
        "disaster_loss",
        "relapse_risk",
        "child_without_guardian",
        "tekun_candidate",
        "student_dropout",
        "dangerous_housing",
        "rejected_then_hardship",
        "repeat_hotline",
    ]
    assert pack.rule("medical_burden").params == {
        "min_out_of_pocket": 10000,
        "burden_share": 0.5,
        "red_share": 1.0,
    }
    assert pack.windows["medical_months"] == 12 and pack.windows["death_days"] == 90
    assert pack.unfounded_days == 180
    assert [r.id for r in pack.rules if r.stage == 2] == ["rejected_then_hardship"]
    assert all(r.hardship for r in pack.rules[:12]) and not any(r.hardship for r in pack.rules[12:])
    # A pack written back and read again is the same pack.
    assert parse_pack(pack.to_yaml()).to_dict() == pack.to_dict()


def test_parameters_become_literals_in_the_tree() -> None:
    sql = to_sql("h.out_of_pocket >= min_oop and not h.covered", {"min_oop": 12345.5})
    assert sql == "h.out_of_pocket >= 12345.5 AND NOT h.covered"


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("h.no_such_thing > 1", "未知的特征"),
        ("q.age > 1", "未知的特征"),
        ("age > 60", "未知的名称 age"),
        ("p.age", "结果应为是/否"),
        ("p.age and h.covered", "两侧应为是/否"),
        ("h.covered > 3", "不能比较"),
        ("p.self_care > 1", "不能比较"),
        ("p.self_care + 1 > 2", "只有数字可以做加减乘除"),
        ("h.claim_refs = 'x'", "来源列表"),
        ("read_csv('/etc/passwd') IS NULL", "不允许的写法"),
        ("p.age > length('x')", "不允许的写法"),
        ("p.age > (SELECT 1)", "不允许的写法"),
        ("p.age IN (SELECT age FROM reg_persons)", "IN 只能跟常量列表"),
        ("p.age > 1; DROP TABLE screening_run", "不允许的写法"),
        ("p.age > 1 OR 1 = 1 -- and more", "不能有注释"),
        ("p.age > 1 /* note */", "不能有注释"),
        ("p.age > 'x", "无法解析"),
        ("p.age > 1 UNION SELECT 1", "不允许的写法"),
        ("h.covered OR pg_sleep(5) IS NULL", "不允许的写法"),
        ("main.reg_persons.age > 1", "未知的特征"),
        ("p.self_care LIKE '%'", "不允许的写法"),
        ("p.age > 1 " + "AND p.age > 1 " * 60, "表达式过长"),
        ("", "条件不能为空"),
    ],
)
def test_conditions_that_are_not_plain_expressions_are_refused(condition: str, reason: str) -> None:
    assert reason in problems(pack_with(condition=condition))


def test_comment_and_string_tricks_stay_data() -> None:
    # A quote inside a string literal is a value, compared as text; nothing escapes the expression.
    assert check_expression("p.self_care = 'none'' OR 1=1 --'", {}) == "bool"
    assert "'none'' OR 1=1 --'" in to_sql("p.self_care = 'none'' OR 1=1 --'", {})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": "bad id; drop"}, "编号"),
        ({"level": "purple"}, "level 应为"),
        ({"params": {"min_out_of_pocket": "ten thousand"}}, "应为数字"),
        ({"params": {"x-y": 1}}, "参数名"),
        ({"explanation": "费用 {h.nope} 元"}, "未知的占位符"),
        ({"explanation": "费用 {h.out_of_pocket 元"}, "花括号不成对"),
        ({"explanation": "{__class__}"}, "未知的占位符"),
        ({"evidence": ["p.age"]}, "不是来源特征"),
        ({"rank": ["h.claim_refs"]}, "排序"),
        ({"raise": [{"level": "red"}]}, "raise 每项"),
        ({"raise": [{"level": "red", "when": "p.age"}]}, "升级条件"),
        ({"condition": "h.hardship_rules >= 1"}, "困难规则不能读取"),
        ({"weight": -1}, "weight"),
        ({"persons": "everyone"}, "persons"),
    ],
)
def test_rule_fields_are_checked(changes: dict, reason: str) -> None:
    assert reason in problems(pack_with(**changes))


def test_pack_level_problems() -> None:
    assert "YAML" in problems("rules: [unclosed")
    assert "映射" in problems("- just a list")
    data = yaml.safe_load(default_pack_text())
    data["rules"].append(dict(data["rules"][0]))
    assert "重复" in problems(yaml.safe_dump(data, allow_unicode=True))
    del data["windows"]["death_days"]
    data["windows"]["forever_days"] = 1
    text = problems(yaml.safe_dump(data, allow_unicode=True))
    assert "缺少时间窗口：death_days" in text and "未知的时间窗口：forever_days" in text
    data = yaml.safe_load(default_pack_text())
    data["windows"]["death_days"] = 0
    assert "windows.death_days" in problems(yaml.safe_dump(data, allow_unicode=True))
    data["rules"] = []
    assert "rules 应为非空列表" in problems(yaml.safe_dump(data, allow_unicode=True))


def test_every_problem_is_reported_at_once() -> None:
    data = yaml.safe_load(default_pack_text())
    data["rules"][0]["condition"] = "h.nope > 1"
    data["rules"][1]["level"] = "purple"
    found = problems(yaml.safe_dump(data, allow_unicode=True))
    assert "medical_burden" in found and "serious_illness" in found


def test_rejected_then_hardship_is_orange_below_three_hardship_rules_and_red_from_three() -> None:
    """The contract: orange; red when 3 or more hardship rules fire. Households at 1, 2, 3 and 4 rules,
    each with a refused application, go through the rule's own SQL on DuckDB."""
    import datetime as dt

    from safetynet.screening.engines.duckdb import DuckDBEngine
    from safetynet.screening.plan import Plan

    pack = default_pack()
    rule = next(r for r in pack.rules if r.id == "rejected_then_hardship")
    engine = DuckDBEngine()
    engine.db.execute(
        "CREATE TABLE f_persons AS SELECT 'H' || n AS household_id, 'P' || n AS id_number, TRUE AS alive, "
        "TRUE AS rejected_application, FALSE AS is_head FROM range(0, 5) t(n)"
    )
    engine.db.execute(
        "CREATE TABLE f_households_2 AS SELECT 'H' || n AS household_id, '371427100001' AS region_code, "
        "1 AS rejected_applications, CAST(n AS INTEGER) AS hardship_rules, ['applications:1:A' || n] AS application_refs, "
        "list_transform(range(0, n), lambda i: 'rule' || i) AS hardship_rule_ids FROM range(0, 5) t(n)"
    )
    rows = engine.fetch(Plan(pack, dt.date(2026, 11, 1)).rule_select(rule, "f_households_2")).to_pylist()
    assert {r["household_id"]: r["level"] for r in rows} == {
        "H1": "orange",
        "H2": "orange",
        "H3": "red",
        "H4": "red",
    }  # H0: no hardship rule fires, so the rule does not either
