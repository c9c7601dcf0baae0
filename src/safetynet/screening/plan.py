"""A screening run as a plan of SQL steps: features, then each rule, then the rules that read others.

The plan is built once as sqlglot syntax trees (DuckDB dialect) and handed to any engine, which renders it
in its own dialect: one definition of every rule and feature (docs/architecture.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from dataclasses import dataclass, field
from functools import cache

import pyarrow as pa
import sqlglot
from sqlglot import exp

from safetynet.screening.engines.base import Engine
from safetynet.screening.features import DEFERRED_EVIDENCE, STEPS, WINDOWS
from safetynet.screening.packs import Pack, Rule, to_sql


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (the month's last day where it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def window_starts(windows: dict[str, int], as_of: dt.date) -> dict[str, dt.date]:
    """First day inside each window; windows include both ends."""
    starts = {}
    for name, placeholder in WINDOWS.items():
        length = windows[name]
        starts[placeholder] = (
            months_before(as_of, length) if name.endswith("_months") else as_of - dt.timedelta(days=length)
        )
    return starts


def _date(day: dt.date) -> exp.Expr:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.build("date"))


@cache
def _parsed(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def bind(sql: str, values: dict[str, exp.Expr]) -> exp.Expr:
    """Parse step SQL and replace its :placeholders with typed literals in the tree."""

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder):
            return values[node.name].copy()
        return node

    return _parsed(sql).copy().transform(replace)


def value_column(qualified: str) -> str:
    return qualified.replace(".", "__")


@dataclass
class RuleResult:
    rule: Rule
    rows: pa.Table


@dataclass
class PlanResult:
    results: list[RuleResult]
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds


class Plan:
    def __init__(self, pack: Pack, as_of: dt.date):
        self.pack = pack
        self.as_of = as_of
        self.window_starts = window_starts(pack.windows, as_of)
        self.values: dict[str, exp.Expr] = {
            "as_of": _date(as_of),
            "as_of_md": exp.Literal.number(as_of.month * 100 + as_of.day),
            **{name: exp.Literal.number(value) for name, value in pack.facts.items()},
            **{name: _date(day) for name, day in self.window_starts.items()},
        }

    def feature_steps(self) -> list[tuple[str, exp.Expr]]:
        return [(name, bind(sql, self.values)) for name, sql in STEPS]

    def rule_select(self, rule: Rule, households: str) -> exp.Expr:
        """One row per household the rule fires for: the person it names, its level and the values."""
        level = f"'{rule.level}'"
        if rule.raise_:
            whens = " ".join(f"WHEN {to_sql(r.when, rule.params)} THEN '{r.level}'" for r in rule.raise_)
            level = f"CASE {whens} ELSE '{rule.level}' END"
        values = sorted(rule.features_used() - DEFERRED_EVIDENCE.keys())
        columns = ", ".join(f"{v} AS {value_column(v)}" for v in values)
        order = ", ".join(
            [*(f"({to_sql(r, rule.params)}) DESC NULLS LAST" for r in rule.rank), "p.id_number ASC"]
        )
        alive = "p.alive" if rule.persons == "living" else "NOT p.alive"
        sql = (
            f"SELECT * FROM (SELECT p.household_id AS household_id, p.id_number AS id_number, "
            f"h.region_code AS region_code, '{rule.id}' AS rule_id, {level} AS level"
            f"{', ' + columns if columns else ''}, "
            f"ROW_NUMBER() OVER (PARTITION BY p.household_id ORDER BY {order}) AS _rn "
            f"FROM f_persons p JOIN {households} h ON h.household_id = p.household_id "
            f"WHERE {alive} AND ({to_sql(rule.condition, rule.params)})) t WHERE _rn = 1"
        )
        return sqlglot.parse_one(sql, read="duckdb")

    def stage_two_households(self, hardship: list[Rule]) -> exp.Expr:
        if hardship:
            union = " UNION ALL ".join(f"SELECT household_id, rule_id FROM hits_{r.id}" for r in hardship)
            fired = f"SELECT household_id, COUNT(*) AS n, LIST(rule_id) AS ids FROM ({union}) u GROUP BY household_id"
        else:
            fired = "SELECT CAST(NULL AS VARCHAR) AS household_id, 0 AS n, [CAST(NULL AS VARCHAR)] AS ids WHERE 1 = 0"
        sql = (
            "SELECT h.*, COALESCE(x.n, 0) AS hardship_rules, x.ids AS hardship_rule_ids "
            f"FROM f_households h LEFT JOIN ({fired}) x ON x.household_id = h.household_id"
        )
        return sqlglot.parse_one(sql, read="duckdb")

    def summary(self, engine: Engine) -> tuple[int, int]:
        """(households screened, of which without a local standard for the as-of year)."""
        row = engine.fetch(
            sqlglot.parse_one(
                "SELECT COUNT(*) AS n, SUM(CASE WHEN has_standard THEN 0 ELSE 1 END) AS missing FROM f_households",
                read="duckdb",
            )
        ).to_pylist()[0]
        return int(row["n"] or 0), int(row["missing"] or 0)

    def facts(self, engine: Engine, columns: list[str]) -> pa.Table:
        """Every household's facts as the feature steps computed them, for `registry.replace_facts`."""
        return engine.fetch(
            sqlglot.parse_one(f"SELECT {', '.join(columns)} FROM f_households", read="duckdb")
        )

    def run(self, engine: Engine, progress=None) -> PlanResult:  # type: ignore[no-untyped-def]
        """`progress(step, done, total)` is told after each step."""
        timings: dict[str, float] = {}
        steps = list(self.feature_steps())
        rules = self.pack.enabled_rules
        first = [r for r in rules if r.stage == 1]
        second = [r for r in rules if r.stage == 2]
        total = len(steps) + len(rules) + (1 if second else 0)

        def timed(name: str, work) -> None:  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            work()
            timings[name] = round(time.perf_counter() - start, 3)
            if progress:
                progress(name, len(timings), total)

        for name, select in steps:
            timed(name, lambda name=name, select=select: engine.materialise(name, select))
        for rule in first:
            timed(
                f"rule:{rule.id}",
                lambda r=rule: engine.materialise(f"hits_{r.id}", self.rule_select(r, "f_households")),
            )
        if second:
            hardship = [r for r in first if r.hardship]
            timed(
                "f_households_2",
                lambda: engine.materialise("f_households_2", self.stage_two_households(hardship)),
            )
            for rule in second:
                timed(
                    f"rule:{rule.id}",
                    lambda r=rule: engine.materialise(f"hits_{r.id}", self.rule_select(r, "f_households_2")),
                )
        results = []
        fetching = evidence = 0.0
        for rule in rules:
            start = time.perf_counter()
            deferred = sorted(rule.features_used() & DEFERRED_EVIDENCE.keys())
            rows = engine.fetch(self._hits_with_evidence(rule, deferred))
            if deferred:
                evidence += time.perf_counter() - start
            else:
                fetching += time.perf_counter() - start
            results.append(RuleResult(rule, rows))
        timings["fetch"] = round(fetching, 3)
        timings["evidence"] = round(evidence, 3)
        return PlanResult(results, timings)

    def _hits_with_evidence(self, rule: Rule, deferred: list[str]) -> exp.Expr:
        """A rule's hits, each with its deferred evidence lists joined on in the engine: the lists are
        built only for the households that fired, in the query that fetches them."""
        if not deferred:
            return sqlglot.parse_one(f"SELECT * FROM hits_{rule.id}", read="duckdb")
        columns = ", ".join(f"e{i}.refs AS {value_column(name)}" for i, name in enumerate(deferred))
        joins = " ".join(
            f"LEFT JOIN ({DEFERRED_EVIDENCE[name].replace('{hits}', f'hits_{rule.id}')}) e{i} "
            f"ON e{i}.household_id = h.household_id"
            for i, name in enumerate(deferred)
        )
        return bind(f"SELECT h.*, {columns} FROM hits_{rule.id} h {joins}", self.values)
