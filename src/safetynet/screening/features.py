"""Features of persons and households as of a date: their schema, and the one SQL that computes them.

This is the one definition of a household's facts (income with pensions, per-capita income against the
county standard, ages, able adults, dependants, disability, coverage): every live run persists them
(`registry.services.replace_facts`), and the household page, policy matching, the eligibility
pre-assessment and campaigns read those rows instead of working them out again.

The SQL is written once, in DuckDB's dialect, as a list of named steps over the tables of `inputs`; the
Spark engine runs the same steps transpiled by sqlglot. Placeholders (`:as_of`, `:medical_since` ...) are
replaced by typed literals in the syntax tree, never by pasting text.

Rules see two rows at once: `p` (one person) and `h` (their household). Evidence features (`*_refs`)
are lists of `source:batch:key` strings naming the lake rows behind a value.
"""

from __future__ import annotations

from dataclasses import dataclass

BOOL, INT, MONEY, RATIO, TEXT, DATE, REFS = "bool", "int", "money", "ratio", "text", "date", "refs"


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str
    label: str  # Chinese, for the rule editor and explanations


def _features(*rows: tuple[str, str, str]) -> dict[str, Feature]:
    return {name: Feature(name, kind, label) for name, kind, label in rows}


PERSON_FEATURES = _features(
    ("age", INT, "年龄"),
    ("elderly", BOOL, "老年人（达到规则包的老年年龄）"),
    ("severe_disability", BOOL, "登记为重度残疾"),
    ("alive", BOOL, "在世"),
    ("is_head", BOOL, "户主"),
    ("minor", BOOL, "未成年"),
    ("disability_level", INT, "登记残疾等级"),
    ("self_care", TEXT, "生活自理能力"),
    ("monthly_income", MONEY, "月收入"),
    ("pension", MONEY, "月养老金"),
    ("died_on", DATE, "死亡日期"),
    ("died_recently", BOOL, "近期死亡"),
    ("age_at_death", INT, "死亡时年龄"),
    ("out_of_pocket", MONEY, "近期医疗自付"),
    ("serious_claim", BOOL, "近期大病结算"),
    ("serious_diagnosis", TEXT, "大病诊断"),
    ("serious_claim_on", DATE, "大病结算日期"),
    ("card_level", INT, "有效残疾证等级"),
    ("card_type", TEXT, "残疾类别"),
    ("unemployed_recently", BOOL, "近期登记失业"),
    ("unemployed_since", DATE, "失业登记日期"),
    ("dropped_out", BOOL, "近期辍学"),
    ("dropout_stage", TEXT, "辍学学段"),
    ("dropout_on", DATE, "辍学日期"),
    ("under_monitoring", BOOL, "防返贫监测中"),
    ("monitoring_risk", TEXT, "监测风险类型"),
    ("disaster_severity", INT, "本人受灾程度"),
    ("rejected_application", BOOL, "近期申请被驳回或撤回"),
    ("application_decision", TEXT, "申请结果"),
    ("death_refs", REFS, "死亡数据来源"),
    ("serious_refs", REFS, "大病结算来源"),
    ("card_refs", REFS, "残疾证来源"),
    ("unemployment_refs", REFS, "失业登记来源"),
    ("dropout_refs", REFS, "学籍来源"),
    ("monitoring_refs", REFS, "监测数据来源"),
    ("disaster_refs", REFS, "灾情数据来源"),
    ("application_refs", REFS, "申请记录来源"),
)

HOUSEHOLD_FEATURES = _features(
    ("members", INT, "在世成员数"),
    ("area_type", TEXT, "城乡类别"),
    ("monthly_income", MONEY, "家庭月收入"),
    ("annual_income", MONEY, "家庭年收入"),
    ("per_capita_income", MONEY, "人均月收入"),
    ("dibao_line", MONEY, "低保标准"),
    ("low_income_line", MONEY, "低收入线"),
    ("tekun_line", MONEY, "特困供养标准"),
    ("rigid_expense_ratio", RATIO, "刚性支出困难认定比例"),
    ("has_standard", BOOL, "有当地标准"),
    ("low_income", BOOL, "低收入"),
    ("below_dibao", BOOL, "人均收入低于低保标准"),
    ("covered", BOOL, "已纳入低保或特困"),
    ("tekun", BOOL, "特困供养"),
    ("programs", TEXT, "在享救助项目"),
    ("verified_income", BOOL, "收入为实地核实所得"),
    ("verified_on", DATE, "收入核实日期"),
    ("housing_assistance", BOOL, "享受住房救助"),
    ("youngest_age", INT, "最年轻成员年龄"),
    ("oldest_age", INT, "最年长成员年龄"),
    ("has_minor", BOOL, "有未成年人"),
    ("has_elderly", BOOL, "有老年人"),
    ("all_elderly", BOOL, "成员均为老年人"),
    ("has_dependant", BOOL, "有需赡养抚养成员"),
    ("dependants", INT, "需赡养抚养人数"),
    ("adults_18_59", INT, "18至59岁成员数"),
    ("able_adults", INT, "无重度残疾的18至59岁成员数"),
    ("has_student", BOOL, "有在校学生"),
    ("has_disabled", BOOL, "有残疾人"),
    ("disability_level", INT, "成员中最重的残疾等级"),
    ("has_severe_disability", BOOL, "有重度残疾人"),
    ("self_care", TEXT, "成员中最弱的生活自理能力"),
    ("serious_illness", BOOL, "有重病患者"),
    ("has_unemployed", BOOL, "有失业人员"),
    ("out_of_pocket", MONEY, "近期家庭医疗自付"),
    ("out_of_pocket_share", RATIO, "医疗自付占年收入比例"),
    ("disaster_severity", INT, "受灾程度"),
    ("disaster_loss", TEXT, "灾损等级"),
    ("disaster_event", TEXT, "灾害事件编号"),
    ("disaster_event_name", TEXT, "灾害名称"),
    ("housing_rating", TEXT, "房屋安全等级"),
    ("calls", INT, "近期热线来电次数"),
    ("rejected_applications", INT, "近期被驳回或撤回的申请数"),
    ("claim_refs", REFS, "医疗结算来源"),
    ("disaster_refs", REFS, "灾情数据来源"),
    ("housing_refs", REFS, "房屋鉴定来源"),
    ("call_refs", REFS, "热线来源"),
    ("application_refs", REFS, "申请记录来源"),
)

# Features only a second pass knows: which hardship rules fired for the household.
STAGE_TWO_FEATURES = _features(
    ("hardship_rules", INT, "同时触发的困难规则数"),
    ("hardship_rule_ids", REFS, "同时触发的困难规则"),
)

# How the pack defines who counts as elderly, a working-age adult and severely disabled: parameters of the
# pack (section `facts`), read by the SQL below, so a county that changes them changes every page too.
# A minor is under 18 by law (未成年人), not a parameter.
FACT_PARAMS: dict[str, tuple[int, int, int]] = {  # name -> (default, lowest, highest)
    "elderly_age": (60, 50, 100),
    "working_age_to": (59, 40, 80),
    "severe_disability_level": (2, 1, 4),
}

# Windows (parameters of the pack) and the placeholder each sets: the first day inside the window.
WINDOWS = {
    "medical_months": "medical_since",
    "serious_illness_months": "serious_since",
    "death_days": "death_since",
    "unemployment_months": "unemployment_since",
    "disaster_days": "disaster_since",
    "dropout_months": "dropout_since",
    "housing_months": "housing_since",
    "rejection_months": "rejection_since",
    "hotline_days": "hotline_since",
    "verified_income_months": "verified_since",
}


# How the rules page names each window and each kind of feature value.
WINDOW_LABELS = {
    "medical_months": "医疗费用回看（月）",
    "serious_illness_months": "大病结算回看（月）",
    "death_days": "死亡登记回看（天）",
    "unemployment_months": "失业登记回看（月）",
    "disaster_days": "灾情回看（天）",
    "dropout_months": "辍学回看（月）",
    "housing_months": "危房鉴定回看（月）",
    "rejection_months": "申请被驳回回看（月）",
    "hotline_days": "热线来电回看（天）",
    "verified_income_months": "核实收入有效期（月）",
}
KIND_LABELS = {BOOL: "是/否", INT: "整数", MONEY: "金额（元）", RATIO: "比例", TEXT: "文字", DATE: "日期", REFS: "证据记录"}


def _ref(source: str, key: str, prefix: str = "") -> str:
    """A lake row as `source:batch:key`, for a feed whose rows have a key of their own."""
    return f"'{source}:' || CAST({prefix}batch AS VARCHAR) || ':' || {key}"


def _row_ref(source: str, prefix: str = "") -> str:
    """A lake row as `source:batch:#record` (its ordinal in the batch), for a feed without a key: an ID
    number would not tell a person's rows apart, and would put the ID into every evidence list."""
    return f"'{source}:' || CAST({prefix}batch AS VARCHAR) || ':#' || CAST({prefix}_record AS VARCHAR)"


def _latest(table: str, partition: str, order: str, where: str, columns: str) -> str:
    """The latest row per `partition` among rows matching `where` (ties broken by batch and row)."""
    return (
        f"SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {partition} "
        f"ORDER BY {order}, batch DESC, _record DESC) AS _rn FROM {table} WHERE {where}) t WHERE _rn = 1"
    )


# (step name, SELECT). Each step is materialised before the next reads it.
STEPS: list[tuple[str, str]] = [
    (
        "f_deaths",
        # The registry's own death date and the deaths feed: the earliest on or before as-of wins, and
        # its row is the evidence (the registry's on a tie).
        "SELECT id_number, death_date, ref FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY id_number ORDER BY death_date, batch, _record) AS _rn FROM ("
        f"   SELECT id_number, death_date, batch, _record, {_row_ref('deaths')} AS ref FROM feed_deaths"
        "    WHERE id_number IS NOT NULL AND death_date <= :as_of"
        "   UNION ALL"
        "   SELECT id_number, death_date, 0 AS batch, 0 AS _record, 'registry:0:' || id_number AS ref"
        "    FROM reg_persons WHERE death_date IS NOT NULL AND death_date <= :as_of"
        "  ) d"
        ") t WHERE _rn = 1",
    ),
    (
        "f_pensions",
        _latest(
            "feed_pensions",
            "id_number",
            "as_of DESC",
            "id_number IS NOT NULL AND as_of <= :as_of",
            "id_number, monthly_amount AS pension",
        ),
    ),
    (
        "f_claims",
        "SELECT id_number, SUM(out_of_pocket) AS out_of_pocket FROM feed_medical_claims "
        "WHERE id_number IS NOT NULL AND settle_date BETWEEN :medical_since AND :as_of GROUP BY id_number",
    ),
    (
        "f_serious",
        _latest(
            "feed_medical_claims",
            "id_number",
            "settle_date DESC, claim_id DESC",
            "id_number IS NOT NULL AND serious_illness AND settle_date BETWEEN :serious_since AND :as_of",
            f"id_number, diagnosis_code, settle_date, {_ref('medical_claims', 'claim_id')} AS ref",
        ),
    ),
    (
        # A disability register is a status register: the latest row per person says what they hold.
        "f_cards",
        _latest(
            "feed_disability",
            "id_number",
            "issued_on DESC NULLS LAST",
            "id_number IS NOT NULL AND (issued_on IS NULL OR issued_on <= :as_of)",
            f"id_number, level, disability_type, status, {_row_ref('disability')} AS ref",
        ),
    ),
    (
        # A registration counts unless a row marks it reemployed ('reemployed' sorts first), whichever
        # batch that row came in: a job found is not undone by an older list sent again.
        "f_unemployment",
        # The latest registration still counting is shown, with its row as evidence.
        _latest(
            "("
            + _latest(
                "feed_unemployment",
                "id_number, registered_on",
                "status ASC",
                "id_number IS NOT NULL AND registered_on BETWEEN :unemployment_since AND :as_of",
                f"id_number, registered_on, status, batch, _record, {_row_ref('unemployment')} AS ref",
            )
            + ") u",
            "id_number",
            "registered_on DESC",
            "status = 'registered'",
            "id_number, registered_on, ref",
        ),
    ),
    (
        "f_dropouts",
        _latest(
            "feed_students",
            "id_number",
            "as_of DESC",
            "id_number IS NOT NULL AND status = 'dropped_out' AND as_of BETWEEN :dropout_since AND :as_of",
            f"id_number, stage, as_of, {_row_ref('students')} AS ref",
        ),
    ),
    (
        "f_monitoring",
        _latest(
            "feed_relapse_monitoring",
            "id_number",
            "as_of DESC",
            "id_number IS NOT NULL AND as_of <= :as_of",
            f"id_number, status, risk_type, {_row_ref('relapse_monitoring')} AS ref",
        ),
    ),
    (
        "f_disaster_rows",
        # Severity 2 fires red (a severe or total loss), 1 orange (a lighter loss with the house damaged);
        # a moderate or minor loss that left the house standing does not fire (the contract's table).
        "SELECT id_number, region_code, event_id, event_name, loss_level, "
        "CASE WHEN loss_level IN ('severe', 'total') THEN 2 "
        "WHEN COALESCE(house_damaged, FALSE) THEN 1 ELSE 0 END AS severity, "
        # A disaster row's key is event, person and region together: the event and the row number say it.
        f"{_ref('disasters', 'event_id')} || '#' || CAST(_record AS VARCHAR) AS ref FROM feed_disasters "
        "WHERE occurred_on BETWEEN :disaster_since AND :as_of",
    ),
    (
        "f_person_disasters",
        "SELECT id_number, MAX(severity) AS severity, LIST(ref) AS refs FROM f_disaster_rows "
        "WHERE id_number IS NOT NULL AND severity > 0 GROUP BY id_number",
    ),
    (
        # Every household a disaster row reaches: through a named person, or through a region with no
        # person, which covers the region's households (village, township or county: the code without its
        # trailing zero groups is the prefix).
        "f_disaster_hits",
        # A row naming a person reaches the household only while that person lives (the contract: the dead
        # count for nothing but breadwinner_death); so do hotline calls and housing ratings below.
        "SELECT p.household_id, d.severity, d.loss_level, d.event_id, d.event_name, d.ref FROM f_disaster_rows d "
        "JOIN reg_persons p ON p.id_number = d.id_number "
        "LEFT JOIN f_deaths dead ON dead.id_number = p.id_number WHERE d.severity > 0 AND dead.id_number IS NULL "
        "UNION ALL "
        "SELECT h.household_id, d.severity, d.loss_level, d.event_id, d.event_name, d.ref FROM ("
        "  SELECT *, CASE WHEN SUBSTR(region_code, 10, 3) <> '000' THEN 12"
        "   WHEN SUBSTR(region_code, 7, 3) <> '000' THEN 9 ELSE 6 END AS prefix_length"
        "  FROM f_disaster_rows WHERE id_number IS NULL AND region_code IS NOT NULL AND severity > 0"
        ") d JOIN reg_households h"
        " ON SUBSTR(h.region_code, 1, d.prefix_length) = SUBSTR(d.region_code, 1, d.prefix_length)",
    ),
    (
        "f_household_disasters",
        "SELECT household_id, MAX(severity) AS severity, "
        "MAX(CASE WHEN _rn = 1 THEN loss_level END) AS loss_level, "
        "MAX(CASE WHEN _rn = 1 THEN event_id END) AS event_id, "
        "MAX(CASE WHEN _rn = 1 THEN event_name END) AS event_name, LIST(ref) AS refs FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY severity DESC,"
        "   CASE loss_level WHEN 'total' THEN 4 WHEN 'severe' THEN 3 WHEN 'moderate' THEN 2 ELSE 1 END DESC,"
        "   event_id ASC, ref ASC) AS _rn FROM f_disaster_hits"
        ") t GROUP BY household_id",
    ),
    (
        # An application's date is decided_on; only rejected and withdrawn ones count.
        "f_applications",
        "SELECT id_number, household_id, decision, ref FROM ("
        "  SELECT id_number, household_id, decision, 'registry:0:' || application_id AS ref,"
        "   ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY decided_on DESC, application_id DESC) AS _rn"
        "  FROM reg_applications"
        "  WHERE decision IN ('rejected', 'withdrawn') AND decided_on BETWEEN :rejection_since AND :as_of"
        ") a WHERE _rn = 1",
    ),
    (
        "f_household_applications",
        "SELECT household_id, COUNT(*) AS rejected, LIST('registry:0:' || application_id) AS refs FROM reg_applications "
        "WHERE decision IN ('rejected', 'withdrawn') AND decided_on BETWEEN :rejection_since AND :as_of "
        "GROUP BY household_id",
    ),
    (
        # A call is resolved to a person by its ID number, else by the linkage app's match (name, phone,
        # place, a mistyped ID), else by a phone number only one registered person has.
        "f_calls",
        # Phones reach the lake normalised (digits, no 86) and pseudonymised, the registry's the same way.
        "WITH calls AS ("
        "  SELECT call_id, id_number, batch, caller_phone AS phone FROM feed_hotline"
        "  WHERE CAST(called_at AS DATE) BETWEEN :hotline_since AND :as_of"
        "), phones AS ("
        # Only the callers' numbers are counted: a semi-join instead of grouping every registered phone.
        "  SELECT phone, MIN(id_number) AS id_number FROM reg_persons"
        "  WHERE phone IN (SELECT phone FROM calls)"
        "  GROUP BY phone HAVING COUNT(*) = 1"
        ") "
        "SELECT p.household_id, COUNT(*) AS calls, "
        f"LIST({_ref('hotline', 'c.call_id', 'c.')}) AS refs FROM calls c "
        "LEFT JOIN phones ph ON ph.phone = c.phone "
        "LEFT JOIN link_hotline lk ON lk.call_id = c.call_id AND lk.batch = c.batch AND lk.decision = 'match' "
        "JOIN reg_persons p ON p.id_number = COALESCE(c.id_number, lk.id_number, ph.id_number) "
        "LEFT JOIN f_deaths dead ON dead.id_number = p.id_number WHERE dead.id_number IS NULL "
        "GROUP BY p.household_id",
    ),
    (
        "f_persons",
        "SELECT p.id_number, p.household_id, "
        "YEAR(:as_of) - YEAR(p.birth_date) - CASE WHEN MONTH(p.birth_date) * 100 + DAY(p.birth_date) > :as_of_md"
        " THEN 1 ELSE 0 END AS age, "
        "d.death_date IS NULL AS alive, "
        "COALESCE(p.relation = 'head', FALSE) AS is_head, "
        "YEAR(:as_of) - YEAR(p.birth_date) - CASE WHEN MONTH(p.birth_date) * 100 + DAY(p.birth_date) > :as_of_md"
        " THEN 1 ELSE 0 END >= :elderly_age AS elderly, "
        "COALESCE(p.disability_level BETWEEN 1 AND :severe_disability_level, FALSE) AS severe_disability, "
        "COALESCE(p.employment = 'student', FALSE) AS student, "
        "COALESCE(p.serious_illness, FALSE) OR se.id_number IS NOT NULL AS seriously_ill, "
        "COALESCE(p.employment = 'unemployed', FALSE) OR un.id_number IS NOT NULL AS unemployed, "
        "YEAR(:as_of) - YEAR(p.birth_date) - CASE WHEN MONTH(p.birth_date) * 100 + DAY(p.birth_date) > :as_of_md"
        " THEN 1 ELSE 0 END < 18 AS minor, "
        "COALESCE(p.disability_level, 0) AS disability_level, "
        "COALESCE(p.self_care, 'full') AS self_care, "
        "COALESCE(p.monthly_income, 0) AS monthly_income, "
        "COALESCE(pe.pension, 0) AS pension, "
        "d.death_date AS died_on, "
        "COALESCE(d.death_date >= :death_since, FALSE) AS died_recently, "
        "CASE WHEN d.death_date IS NULL THEN NULL ELSE YEAR(d.death_date) - YEAR(p.birth_date) - CASE WHEN"
        " MONTH(p.birth_date) * 100 + DAY(p.birth_date) > MONTH(d.death_date) * 100 + DAY(d.death_date)"
        " THEN 1 ELSE 0 END END AS age_at_death, "
        "COALESCE(cl.out_of_pocket, 0) AS out_of_pocket, "
        "se.id_number IS NOT NULL AS serious_claim, "
        "se.diagnosis_code AS serious_diagnosis, "
        "se.settle_date AS serious_claim_on, "
        "CASE WHEN ca.status = 'valid' THEN ca.level ELSE 0 END AS card_level, "
        "CASE WHEN ca.status = 'valid' THEN ca.disability_type END AS card_type, "
        "un.id_number IS NOT NULL AS unemployed_recently, "
        "un.registered_on AS unemployed_since, "
        "dr.id_number IS NOT NULL AS dropped_out, "
        "dr.stage AS dropout_stage, "
        "dr.as_of AS dropout_on, "
        "COALESCE(mo.status = 'monitoring', FALSE) AS under_monitoring, "
        "CASE WHEN mo.status = 'monitoring' THEN mo.risk_type END AS monitoring_risk, "
        "COALESCE(di.severity, 0) AS disaster_severity, "
        "ap.id_number IS NOT NULL AS rejected_application, "
        "ap.decision AS application_decision, "
        "CASE WHEN d.ref IS NULL THEN NULL ELSE [d.ref] END AS death_refs, "
        "CASE WHEN se.ref IS NULL THEN NULL ELSE [se.ref] END AS serious_refs, "
        "CASE WHEN ca.status = 'valid' THEN [ca.ref] END AS card_refs, "
        "CASE WHEN un.ref IS NULL THEN NULL ELSE [un.ref] END AS unemployment_refs, "
        "CASE WHEN dr.ref IS NULL THEN NULL ELSE [dr.ref] END AS dropout_refs, "
        "CASE WHEN mo.status = 'monitoring' THEN [mo.ref] END AS monitoring_refs, "
        "di.refs AS disaster_refs, "
        "CASE WHEN ap.ref IS NULL THEN NULL ELSE [ap.ref] END AS application_refs "
        "FROM reg_persons p "
        "LEFT JOIN f_deaths d ON d.id_number = p.id_number "
        "LEFT JOIN f_pensions pe ON pe.id_number = p.id_number "
        "LEFT JOIN f_claims cl ON cl.id_number = p.id_number "
        "LEFT JOIN f_serious se ON se.id_number = p.id_number "
        "LEFT JOIN f_cards ca ON ca.id_number = p.id_number "
        "LEFT JOIN f_unemployment un ON un.id_number = p.id_number "
        "LEFT JOIN f_dropouts dr ON dr.id_number = p.id_number "
        "LEFT JOIN f_monitoring mo ON mo.id_number = p.id_number "
        "LEFT JOIN f_person_disasters di ON di.id_number = p.id_number "
        "LEFT JOIN f_applications ap ON ap.id_number = p.id_number AND ap.household_id = p.household_id "
        "WHERE p.birth_date <= :as_of",
    ),
    (
        "f_coverage",
        # Dates decide, not today's status: a record ended since was running then. A household is covered
        # by its own living members' records (the member's household, not the one a record names).
        "SELECT p.household_id, "
        "MAX(CASE WHEN a.program IN ('dibao', 'tekun') THEN 1 ELSE 0 END) = 1 AS covered, "
        "MAX(CASE WHEN a.program = 'tekun' THEN 1 ELSE 0 END) = 1 AS tekun, "
        "MAX(CASE WHEN a.program = 'housing' THEN 1 ELSE 0 END) = 1 AS housing_assistance, "
        # Every program running, in one fixed order, comma-separated (lists sort differently per engine).
        "CONCAT_WS(',', "
        + ", ".join(
            f"MAX(CASE WHEN a.program = '{p}' THEN '{p}' END)"
            for p in (
                "dibao", "tekun", "dibao_edge", "rigid_expense", "relapse_monitoring",
                "temporary", "medical", "education", "housing", "employment",
            )
        )
        + ") AS programs "
        "FROM reg_assistance a JOIN f_persons p ON p.id_number = a.id_number AND p.alive "
        "WHERE a.start_date <= :as_of AND (a.end_date IS NULL OR a.end_date >= :as_of) "
        "GROUP BY p.household_id",
    ),
    (
        "f_housing",
        # Housing ratings are per person (the owner) in the feed; the household takes its worst.
        "SELECT p.household_id, MAX(r.rating) AS rating, "
        f"LIST({_row_ref('housing_safety', 'r.')}) AS refs FROM feed_housing_safety r "
        "JOIN reg_persons p ON p.id_number = r.id_number "
        "LEFT JOIN f_deaths dead ON dead.id_number = p.id_number "
        "WHERE r.rating IN ('C', 'D') AND r.assessed_on BETWEEN :housing_since AND :as_of AND dead.id_number IS NULL "
        "GROUP BY p.household_id",
    ),
    (
        "f_members",
        "SELECT household_id, "
        "COUNT(*) AS members, "
        "SUM(monthly_income + pension) AS monthly_income, "
        "SUM(out_of_pocket) AS out_of_pocket, "
        "MIN(age) AS youngest_age, "
        "MAX(age) AS oldest_age, "
        "MAX(CASE WHEN minor THEN 1 ELSE 0 END) = 1 AS has_minor, "
        "MAX(CASE WHEN elderly THEN 1 ELSE 0 END) = 1 AS has_elderly, "
        "MIN(CASE WHEN elderly THEN 1 ELSE 0 END) = 1 AS all_elderly, "
        "SUM(CASE WHEN minor OR elderly OR severe_disability THEN 1 ELSE 0 END) AS dependants, "
        "SUM(CASE WHEN age BETWEEN 18 AND :working_age_to THEN 1 ELSE 0 END) AS adults_18_59, "
        "SUM(CASE WHEN age BETWEEN 18 AND :working_age_to AND NOT severe_disability THEN 1 ELSE 0 END) AS able_adults, "
        "MAX(CASE WHEN student THEN 1 ELSE 0 END) = 1 AS has_student, "
        "MAX(CASE WHEN disability_level > 0 THEN 1 ELSE 0 END) = 1 AS has_disabled, "
        "MIN(CASE WHEN disability_level > 0 THEN disability_level END) AS disability_level, "
        "MAX(CASE WHEN severe_disability THEN 1 ELSE 0 END) = 1 AS has_severe_disability, "
        # The weakest self-care among members: none, then partial, then full.
        "CASE MIN(CASE self_care WHEN 'none' THEN 0 WHEN 'partial' THEN 1 ELSE 2 END)"
        " WHEN 0 THEN 'none' WHEN 1 THEN 'partial' ELSE 'full' END AS self_care, "
        "MAX(CASE WHEN seriously_ill THEN 1 ELSE 0 END) = 1 AS serious_illness, "
        "MAX(CASE WHEN unemployed THEN 1 ELSE 0 END) = 1 AS has_unemployed "
        "FROM f_persons WHERE alive GROUP BY household_id",
    ),
    (
        # A verification visit's household income replaces the registry's for a while (windows:
        # verified_income_months): staff saw the household more recently than the last registry update.
        "f_verified",
        "SELECT household_id, monthly_income, visited_on FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY visited_on DESC, id DESC) AS _rn"
        "  FROM reg_verified_incomes WHERE visited_on BETWEEN :verified_since AND :as_of"
        ") t WHERE _rn = 1",
    ),
    (
        "f_households",
        "SELECT h.household_id, h.region_code, "
        "COALESCE(m.members, 0) AS members, "
        "h.area_type, "
        "income AS monthly_income, "
        "income * 12 AS annual_income, "
        # Shares and per-capita figures in whole cents or basis points with integer division, so every
        # engine rounds them alike (decimal division returns a double on DuckDB, a decimal on Spark).
        "CAST((CAST(income * 100 AS BIGINT) * 2 + COALESCE(m.members, 1))"
        " // (2 * GREATEST(COALESCE(m.members, 0), 1)) AS DECIMAL(14, 0)) * 0.01 AS per_capita_income, "
        "s.dibao_monthly AS dibao_line, "
        "CAST(s.dibao_monthly * s.edge_multiplier AS DECIMAL(14, 2)) AS low_income_line, "
        "s.tekun_monthly AS tekun_line, "
        "s.rigid_expense_ratio AS rigid_expense_ratio, "
        "s.dibao_monthly IS NOT NULL AS has_standard, "
        # Exact: total < line × members, so no rounding of the per-capita figure decides a boundary case.
        "COALESCE(income < s.dibao_monthly * s.edge_multiplier * m.members, FALSE) AS low_income, "
        "COALESCE(income < s.dibao_monthly * m.members, FALSE) AS below_dibao, "
        "COALESCE(c.covered, FALSE) AS covered, "
        "COALESCE(c.tekun, FALSE) AS tekun, "
        "COALESCE(c.housing_assistance, FALSE) AS housing_assistance, "
        "COALESCE(c.programs, '') AS programs, "
        "v.household_id IS NOT NULL AS verified_income, "
        "v.visited_on AS verified_on, "
        "m.youngest_age, "
        "m.oldest_age, "
        "COALESCE(m.has_minor, FALSE) AS has_minor, "
        "COALESCE(m.has_elderly, FALSE) AS has_elderly, "
        "COALESCE(m.all_elderly, FALSE) AS all_elderly, "
        "COALESCE(m.dependants, 0) > 0 AS has_dependant, "
        "COALESCE(m.dependants, 0) AS dependants, "
        "COALESCE(m.adults_18_59, 0) AS adults_18_59, "
        "COALESCE(m.able_adults, 0) AS able_adults, "
        "COALESCE(m.has_student, FALSE) AS has_student, "
        "COALESCE(m.has_disabled, FALSE) AS has_disabled, "
        "m.disability_level, "
        "COALESCE(m.has_severe_disability, FALSE) AS has_severe_disability, "
        "m.self_care, "
        "COALESCE(m.serious_illness, FALSE) AS serious_illness, "
        "COALESCE(m.has_unemployed, FALSE) AS has_unemployed, "
        "COALESCE(m.out_of_pocket, 0) AS out_of_pocket, "
        "CASE WHEN income > 0 THEN CAST(CAST(COALESCE(m.out_of_pocket, 0) * 100 AS BIGINT)"
        " * 10000 // CAST(income * 1200 AS BIGINT) AS DECIMAL(14, 0)) * 0.0001 END AS out_of_pocket_share, "
        "COALESCE(rd.severity, 0) AS disaster_severity, "
        "rd.loss_level AS disaster_loss, "
        "rd.event_id AS disaster_event, "
        "rd.event_name AS disaster_event_name, "
        "COALESCE(hs.rating, '') AS housing_rating, "
        "COALESCE(ca.calls, 0) AS calls, "
        "COALESCE(ha.rejected, 0) AS rejected_applications, "
        "rd.refs AS disaster_refs, "
        "hs.refs AS housing_refs, "
        "ca.refs AS call_refs, "
        "ha.refs AS application_refs "
        "FROM (SELECT h.*, COALESCE(v.monthly_income, m.monthly_income, 0) AS income FROM reg_households h"
        "  LEFT JOIN f_members m ON m.household_id = h.household_id"
        "  LEFT JOIN f_verified v ON v.household_id = h.household_id) h "
        "LEFT JOIN f_members m ON m.household_id = h.household_id "
        "LEFT JOIN f_verified v ON v.household_id = h.household_id "
        "LEFT JOIN reg_standards s ON s.county_code = SUBSTR(h.region_code, 1, 6) AND s.area_type = h.area_type"
        " AND s.year = YEAR(:as_of) "
        "LEFT JOIN f_coverage c ON c.household_id = h.household_id "
        "LEFT JOIN f_household_disasters rd ON rd.household_id = h.household_id "
        "LEFT JOIN f_household_applications ha ON ha.household_id = h.household_id "
        "LEFT JOIN f_housing hs ON hs.household_id = h.household_id "
        "LEFT JOIN f_calls ca ON ca.household_id = h.household_id "
        "WHERE COALESCE(m.members, 0) > 0",
    ),
]


# Evidence lists too costly to build for every household (a county has millions of claims): each is
# computed after the rules, only for the households in `{hits}` (a rule's hits table), keyed by household.
DEFERRED_EVIDENCE: dict[str, str] = {
    "h.claim_refs": (
        f"SELECT p.household_id AS household_id, LIST({_ref('medical_claims', 'c.claim_id')}) AS refs "
        "FROM feed_medical_claims c JOIN f_persons p ON p.id_number = c.id_number AND p.alive "
        "WHERE c.settle_date BETWEEN :medical_since AND :as_of "
        "AND p.household_id IN (SELECT household_id FROM {hits}) GROUP BY p.household_id"
    ),
}
