-- The full floor of benchmarks/screening.py: the default rule pack's warnings as the engine gives them, in
-- one hand-written DuckDB query straight over the lake's Parquet files. Per (household_id, rule_id): the
-- level, the person the rule names (id_number) and its evidence, the sorted list of `source:batch:key`
-- references of the lake rows behind it (NULL for a rule whose evidence list in the pack is empty). A feed
-- row with a key of its own is named by it (claims by claim_id, calls by call_id, registry rows by
-- application_id or id_number in batch 0); one without, by its `_record` in the batch:
-- `source:batch:#record` (`disasters:batch:event_id#record` for disasters).
-- Thresholds are inlined; no explanation text, no other values.
--
-- It decides per household as benchmarks/screening_floor.sql does, carrying along the small evidence lists
-- (disasters, housing, calls, applications) and, per person, the row behind each person-level feature.
-- Then only the households where some rule fires have their person chosen (the rule's rank: list,
-- descending, ties to the smallest id_number), and only those where medical_burden fires have their
-- claims listed: a second pass over the claims (keeping the window's claims from the first instead took
-- as long and 300 MiB more at 1,000,000 persons).
-- Where several rows could be behind a value, the one chosen is the engine's (features.py).
--
-- The benchmark replaces each :placeholder with a literal before running it: :as_of and the first day
-- inside each window (:medical_since ...) with DATE literals, registry tables (:persons ...) with a
-- Parquet path, feeds (:medical_claims ...) with a glob over all their batch=<id> folders.
WITH
registry_persons AS (
    SELECT id_number, household_id, relation, birth_date, phone, disability_level, self_care, monthly_income,
           death_date
    FROM read_parquet(:persons)
),
-- The registry's own death date or the deaths feed: the earliest on or before the as-of date wins, ties
-- to the earlier batch, then row (the registry's counting as batch 0, row 0), and its row is the evidence.
deaths AS (
    SELECT id_number, MIN(death_date) AS death_date, arg_min(ref, (death_date, batch, _record)) AS ref
    FROM (
        SELECT id_number, death_date, batch, _record, 'deaths:' || batch || ':#' || _record AS ref
        FROM read_parquet(:deaths, hive_partitioning = true)
        WHERE id_number IS NOT NULL AND death_date <= :as_of
        UNION ALL
        SELECT id_number, death_date, 0, 0, 'registry:0:' || id_number
        FROM registry_persons WHERE death_date <= :as_of
    )
    GROUP BY id_number
),
-- Latest row per person wins; ties go to the later batch, then the later row.
pensions AS (
    SELECT id_number, arg_max(COALESCE(monthly_amount, 0), (as_of, batch, _record)) AS pension
    FROM read_parquet(:pensions, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND as_of <= :as_of
    GROUP BY id_number
),
-- Out-of-pocket claims of the 12-month window, per person.
claims AS (
    SELECT id_number, SUM(out_of_pocket) AS out_of_pocket
    FROM read_parquet(:medical_claims)
    WHERE id_number IS NOT NULL AND settle_date BETWEEN :medical_since AND :as_of
    GROUP BY id_number
),
-- Serious claims of the 6-month window: the latest (by date, then claim_id, batch, row) is the evidence
-- of serious_illness. A pass of its own: few rows match, and it costs less than an arg_max FILTERed
-- out of the first pass, which builds its arguments for every claim.
serious AS (
    SELECT id_number, MAX(settle_date) AS serious_on,
           arg_max('medical_claims:' || batch || ':' || claim_id, (settle_date, claim_id, batch, _record))
               AS ref
    FROM read_parquet(:medical_claims, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND serious_illness AND settle_date BETWEEN :serious_since AND :as_of
    GROUP BY id_number
),
-- A disability register is a status register: the latest row says what card a person holds (undated
-- rows count as the oldest).
cards AS (
    SELECT id_number,
           arg_max_null(CASE WHEN status = 'valid' THEN level END,
                        (COALESCE(issued_on, DATE '0001-01-01'), batch, _record)) AS card_level,
           arg_max(batch, (COALESCE(issued_on, DATE '0001-01-01'), batch, _record)) AS batch,
           arg_max(_record, (COALESCE(issued_on, DATE '0001-01-01'), batch, _record)) AS record
    FROM read_parquet(:disability, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND (issued_on IS NULL OR issued_on <= :as_of)
    GROUP BY id_number
),
-- A registration counts unless a row for the same registration says reemployed ('reemployed' sorts
-- first); its row is its latest (by batch, then row) saying registered. The person's latest registration
-- still counting is shown, its row the evidence.
registrations AS (
    SELECT id_number, registered_on,
           arg_max(batch, (batch, _record)) FILTER (WHERE status = 'registered') AS batch,
           arg_max(_record, (batch, _record)) FILTER (WHERE status = 'registered') AS record
    FROM read_parquet(:unemployment, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND registered_on BETWEEN :unemployment_since AND :as_of
    GROUP BY id_number, registered_on
    HAVING MIN(status) = 'registered'
),
unemployed AS (
    SELECT id_number, MAX(registered_on) AS since,
           arg_max('unemployment:' || batch || ':#' || record, registered_on) AS ref
    FROM registrations
    GROUP BY id_number
),
dropouts AS (
    SELECT id_number, MAX(as_of) AS dropout_on, arg_max(batch, (as_of, batch, _record)) AS batch,
           arg_max(_record, (as_of, batch, _record)) AS record
    FROM read_parquet(:students, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND status = 'dropped_out' AND as_of BETWEEN :dropout_since AND :as_of
    GROUP BY id_number
),
monitoring AS (
    SELECT id_number,
           arg_max_null(CASE WHEN status = 'monitoring' THEN batch END, (as_of, batch, _record)) AS batch,
           arg_max(_record, (as_of, batch, _record)) AS record
    FROM read_parquet(:relapse_monitoring, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND as_of <= :as_of
    GROUP BY id_number
),
disasters AS (
    SELECT id_number, region_code, severity, 'disasters:' || batch || ':' || event_id || '#' || _record AS ref
    FROM (
        -- red for a severe or total loss; orange for a lighter loss that damaged the house
        SELECT *, CASE WHEN loss_level IN ('severe', 'total') THEN 2
                       WHEN COALESCE(house_damaged, FALSE) THEN 1 ELSE 0 END AS severity
        FROM read_parquet(:disasters, hive_partitioning = true)
        WHERE occurred_on BETWEEN :disaster_since AND :as_of
    )
    WHERE severity > 0
),
person_disasters AS (
    SELECT id_number, MAX(severity) AS severity FROM disasters WHERE id_number IS NOT NULL GROUP BY id_number
),
-- The latest rejected or withdrawn application of each household, its applicant, and all their references.
rejections AS (
    SELECT household_id,
           arg_max_null(id_number, (decided_on, application_id)) AS applicant,
           LIST('registry:0:' || application_id) AS refs
    FROM read_parquet(:applications)
    WHERE decision IN ('rejected', 'withdrawn') AND decided_on BETWEEN :rejection_since AND :as_of
    GROUP BY household_id
),
persons AS MATERIALIZED (
    SELECT p.id_number, p.household_id,
           d.death_date IS NULL AS alive,
           COALESCE(p.relation = 'head', FALSE) AS is_head,
           year(:as_of) - year(p.birth_date) - CASE
               WHEN month(p.birth_date) * 100 + day(p.birth_date) > month(:as_of) * 100 + day(:as_of) THEN 1
               ELSE 0 END AS age,
           d.death_date AS died_on,
           d.ref AS death_ref,
           COALESCE(d.death_date >= :death_since AND year(d.death_date) - year(p.birth_date) - CASE
               WHEN month(p.birth_date) * 100 + day(p.birth_date)
                    > month(d.death_date) * 100 + day(d.death_date) THEN 1
               ELSE 0 END BETWEEN 18 AND 59, FALSE) AS breadwinner_died,
           COALESCE(p.disability_level BETWEEN 1 AND 2, FALSE) AS severely_disabled,
           COALESCE(p.self_care = 'none', FALSE) AS no_self_care,
           COALESCE(p.monthly_income, 0) + COALESCE(pe.pension, 0) AS income,
           COALESCE(c.out_of_pocket, 0) AS out_of_pocket,
           se.serious_on,
           se.ref AS serious_ref,
           CASE WHEN ca.card_level BETWEEN 1 AND 2 THEN ca.card_level END AS severe_card_level,
           ca.batch AS card_batch,
           ca.record AS card_record,
           u.since AS unemployed_since,
           u.ref AS unemployment_ref,
           dr.dropout_on,
           dr.batch AS dropout_batch,
           dr.record AS dropout_record,
           m.batch AS monitoring_batch,
           m.record AS monitoring_record,
           COALESCE(pd.severity, 0) AS disaster_severity,
           rj.applicant IS NOT NULL AS rejected_application
    FROM registry_persons p
    LEFT JOIN deaths d ON d.id_number = p.id_number
    LEFT JOIN pensions pe ON pe.id_number = p.id_number
    LEFT JOIN claims c ON c.id_number = p.id_number
    LEFT JOIN serious se ON se.id_number = p.id_number
    LEFT JOIN cards ca ON ca.id_number = p.id_number
    LEFT JOIN unemployed u ON u.id_number = p.id_number
    LEFT JOIN dropouts dr ON dr.id_number = p.id_number
    LEFT JOIN monitoring m ON m.id_number = p.id_number
    LEFT JOIN person_disasters pd ON pd.id_number = p.id_number
    LEFT JOIN rejections rj ON rj.household_id = p.household_id AND rj.applicant = p.id_number
    WHERE p.birth_date <= :as_of
),
-- Households with a living member; the dead count for nothing but breadwinner_death.
members AS (
    SELECT household_id,
           COUNT(*) FILTER (WHERE alive) AS members,
           SUM(income) FILTER (WHERE alive) AS income,
           SUM(out_of_pocket) FILTER (WHERE alive) AS out_of_pocket,
           MIN(age) FILTER (WHERE alive) AS youngest_age,
           bool_or(alive AND age < 18) AS has_minor,
           bool_or(alive AND age >= 60) AS has_elderly,
           bool_or(alive AND (age < 18 OR age >= 60 OR severely_disabled)) AS has_dependant,
           COUNT(*) FILTER (WHERE alive AND age BETWEEN 18 AND 59 AND NOT severely_disabled) AS able_adults,
           bool_or(alive AND age >= 80) AS has_80,
           bool_or(alive AND age >= 60 AND no_self_care) AS has_60_no_self_care,
           bool_or(alive AND serious_on IS NOT NULL) AS serious_claim,
           bool_or(alive AND severe_card_level IS NOT NULL) AS severe_card,
           bool_or(alive AND unemployed_since IS NOT NULL) AS unemployed,
           bool_or(alive AND dropout_on IS NOT NULL) AS dropped_out,
           bool_or(alive AND monitoring_batch IS NOT NULL) AS monitored,
           bool_or(NOT alive AND breadwinner_died) AS breadwinner_died
    FROM persons
    GROUP BY household_id
    HAVING COUNT(*) FILTER (WHERE alive) > 0
),
-- Dibao, tekun or housing assistance of a living member, running on the as-of date.
coverage AS (
    SELECT p.household_id,
           bool_or(a.program IN ('dibao', 'tekun')) AS covered,
           bool_or(a.program = 'tekun') AS tekun,
           bool_or(a.program = 'housing') AS housing_assistance
    FROM read_parquet(:assistance) a
    JOIN persons p ON p.id_number = a.id_number AND p.alive
    WHERE a.start_date <= :as_of AND (a.end_date IS NULL OR a.end_date >= :as_of)
    GROUP BY p.household_id
),
-- A disaster reaches a household through a named registered person, or through a region with no person:
-- the code without its trailing zero groups is the prefix, matched by equality against the household's
-- code cut to that length. Every row that reaches it is evidence.
household_disasters AS (
    SELECT p.household_id, MAX(d.severity) AS severity, LIST(d.ref) AS refs
    FROM disasters d JOIN registry_persons p ON p.id_number = d.id_number
    GROUP BY p.household_id
),
region_disasters AS (
    SELECT prefix_length, substr(region_code, 1, prefix_length) AS prefix, MAX(severity) AS severity,
           LIST(ref) AS refs
    FROM (
        SELECT region_code, severity, ref,
               CASE WHEN substr(region_code, 10, 3) <> '000' THEN 12
                    WHEN substr(region_code, 7, 3) <> '000' THEN 9 ELSE 6 END AS prefix_length
        FROM disasters
        WHERE id_number IS NULL AND region_code IS NOT NULL
    )
    GROUP BY ALL
),
dangerous_houses AS (
    SELECT p.household_id, LIST('housing_safety:' || r.batch || ':#' || r._record) AS refs
    FROM read_parquet(:housing_safety, hive_partitioning = true) r
    JOIN registry_persons p ON p.id_number = r.id_number
    WHERE r.rating IN ('C', 'D') AND r.assessed_on BETWEEN :housing_since AND :as_of
    GROUP BY p.household_id
),
-- A call reaches a household through its ID number, else through a phone only one registered person has.
unique_phones AS (
    SELECT phone, MIN(id_number) AS id_number FROM registry_persons
    WHERE phone IS NOT NULL GROUP BY phone HAVING COUNT(*) = 1
),
calls AS (
    SELECT p.household_id, COUNT(*) AS calls, LIST('hotline:' || c.batch || ':' || c.call_id) AS refs
    FROM (
        -- phones are normalised (digits, no 86) in the lake before they become pseudonyms
        SELECT id_number, call_id, batch, caller_phone AS phone
        FROM read_parquet(:hotline, hive_partitioning = true)
        WHERE CAST(called_at AS DATE) BETWEEN :hotline_since AND :as_of
    ) c
    LEFT JOIN unique_phones ph ON ph.phone = c.phone
    JOIN registry_persons p ON p.id_number = COALESCE(c.id_number, ph.id_number)
    GROUP BY p.household_id
),
households AS (
    SELECT m.*,
           COALESCE(m.income < s.dibao_monthly * s.edge_multiplier * m.members, FALSE) AS low_income,
           COALESCE(m.income < s.dibao_monthly * m.members, FALSE) AS below_dibao,
           COALESCE(c.covered, FALSE) AS covered,
           COALESCE(c.tekun, FALSE) AS tekun,
           COALESCE(c.housing_assistance, FALSE) AS housing_assistance,
           GREATEST(COALESCE(pd.severity, 0), COALESCE(r12.severity, 0), COALESCE(r9.severity, 0),
                    COALESCE(r6.severity, 0)) AS disaster_severity,
           list_concat(pd.refs, r12.refs, r9.refs, r6.refs) AS disaster_refs,
           dh.refs AS housing_refs,
           COALESCE(ca.calls, 0) AS calls,
           ca.refs AS call_refs,
           rj.refs AS application_refs
    FROM read_parquet(:households) h
    JOIN members m ON m.household_id = h.household_id
    LEFT JOIN read_parquet(:standards) s
        ON s.county_code = substr(h.region_code, 1, 6) AND s.area_type = h.area_type AND s.year = year(:as_of)
    LEFT JOIN coverage c ON c.household_id = h.household_id
    LEFT JOIN household_disasters pd ON pd.household_id = h.household_id
    LEFT JOIN region_disasters r12 ON r12.prefix_length = 12 AND r12.prefix = substr(h.region_code, 1, 12)
    LEFT JOIN region_disasters r9 ON r9.prefix_length = 9 AND r9.prefix = substr(h.region_code, 1, 9)
    LEFT JOIN region_disasters r6 ON r6.prefix_length = 6 AND r6.prefix = substr(h.region_code, 1, 6)
    LEFT JOIN dangerous_houses dh ON dh.household_id = h.household_id
    LEFT JOIN calls ca ON ca.household_id = h.household_id
    LEFT JOIN rejections rj ON rj.household_id = h.household_id
),
-- One column per rule: its level where it fires, NULL where it does not.
hardship AS (
    SELECT household_id, calls, application_refs, disaster_refs, housing_refs, call_refs,
           CASE WHEN out_of_pocket >= 10000 AND out_of_pocket >= 0.5 * 12 * income AND NOT covered
                THEN CASE WHEN out_of_pocket >= 12 * income THEN 'red' ELSE 'orange' END
           END AS medical_burden,
           CASE WHEN serious_claim AND low_income AND NOT covered THEN 'orange' END AS serious_illness,
           CASE WHEN breadwinner_died AND has_dependant AND NOT tekun THEN 'red' END AS breadwinner_death,
           CASE WHEN severe_card AND low_income AND NOT covered THEN 'orange' END AS severe_disability,
           CASE WHEN youngest_age >= 60 AND (has_80 OR has_60_no_self_care) AND low_income AND NOT covered
                THEN CASE WHEN has_60_no_self_care THEN 'red' ELSE 'yellow' END END AS elderly_alone,
           CASE WHEN unemployed AND (has_minor OR has_elderly) AND low_income AND NOT covered
                THEN 'yellow' END AS unemployment_dependents,
           CASE disaster_severity WHEN 2 THEN 'red' WHEN 1 THEN 'orange' END AS disaster_loss,
           CASE WHEN monitored AND NOT covered THEN 'yellow' END AS relapse_risk,
           CASE WHEN has_minor AND able_adults = 0 THEN 'red' END AS child_without_guardian,
           CASE WHEN members = 1 AND has_dependant AND below_dibao AND NOT tekun
                THEN 'orange' END AS tekun_candidate,
           CASE WHEN dropped_out AND low_income THEN 'yellow' END AS student_dropout,
           CASE WHEN housing_refs IS NOT NULL AND low_income AND NOT housing_assistance
                THEN 'yellow' END AS dangerous_housing
    FROM households
),
-- Only households where some rule fires go on.
rules AS MATERIALIZED (
    SELECT * EXCLUDE (calls),
           -- red when three or more hardship rules fire beside the rejection
           CASE WHEN application_refs IS NULL THEN NULL
                WHEN len(list_filter([medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone, unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate, student_dropout, dangerous_housing], lambda x: x IS NOT NULL)) >= 3 THEN 'red'
                WHEN len(list_filter([medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone, unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate, student_dropout, dangerous_housing], lambda x: x IS NOT NULL)) >= 1 THEN 'orange'
           END AS rejected_then_hardship,
           CASE WHEN calls >= 2 THEN 'yellow' END AS repeat_hotline
    FROM hardship
    WHERE COALESCE(medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone,
              unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate,
              student_dropout, dangerous_housing) IS NOT NULL
          OR calls >= 2
),
-- The person each rule names, among the members of those households: its rank, descending, then the
-- smallest id_number (a date descending is the fewest days before as-of ascending).
picks AS (
    SELECT p.household_id,
           arg_min(p.id_number, (-p.out_of_pocket, p.id_number)) FILTER (WHERE p.alive) AS medical_burden_who,
           arg_min({'id': p.id_number, 'ref': p.serious_ref}, (:as_of - p.serious_on, p.id_number))
               FILTER (WHERE p.alive AND p.serious_on IS NOT NULL) AS serious_illness_who,
           arg_min({'id': p.id_number, 'ref': p.death_ref}, (:as_of - p.died_on, p.id_number))
               FILTER (WHERE NOT p.alive AND p.breadwinner_died) AS breadwinner_death_who,
           arg_min({'id': p.id_number, 'batch': p.card_batch, 'record': p.card_record},
                   (p.severe_card_level, p.id_number))
               FILTER (WHERE p.alive AND p.severe_card_level IS NOT NULL) AS severe_disability_who,
           arg_min(p.id_number, (NOT p.no_self_care, -p.age, p.id_number))
               FILTER (WHERE p.alive AND (p.age >= 80 OR (p.age >= 60 AND p.no_self_care)))
               AS elderly_alone_who,
           arg_min({'id': p.id_number, 'ref': p.unemployment_ref},
                   (:as_of - p.unemployed_since, p.id_number))
               FILTER (WHERE p.alive AND p.unemployed_since IS NOT NULL) AS unemployment_dependents_who,
           arg_min(p.id_number, (-p.disaster_severity, NOT p.is_head, p.id_number))
               FILTER (WHERE p.alive) AS disaster_loss_who,
           arg_min({'id': p.id_number, 'batch': p.monitoring_batch, 'record': p.monitoring_record},
                   p.id_number)
               FILTER (WHERE p.alive AND p.monitoring_batch IS NOT NULL) AS relapse_risk_who,
           arg_min(p.id_number, (p.age, p.id_number))
               FILTER (WHERE p.alive AND p.age < 18) AS child_without_guardian_who,
           MIN(p.id_number) FILTER (WHERE p.alive) AS tekun_candidate_who,
           arg_min({'id': p.id_number, 'batch': p.dropout_batch, 'record': p.dropout_record},
                   (:as_of - p.dropout_on, p.id_number))
               FILTER (WHERE p.alive AND p.dropout_on IS NOT NULL) AS student_dropout_who,
           arg_min(p.id_number, (NOT p.is_head, p.id_number)) FILTER (WHERE p.alive) AS head,
           arg_min(p.id_number, (NOT p.rejected_application, p.id_number))
               FILTER (WHERE p.alive) AS rejected_then_hardship_who
    FROM persons p SEMI JOIN rules r ON r.household_id = p.household_id
    GROUP BY p.household_id
),
-- The claims behind medical_burden: the window's claims of the living members of the households it fires
-- for, a second pass over the claims.
claim_refs AS (
    SELECT p.household_id, LIST('medical_claims:' || c.batch || ':' || c.claim_id) AS refs
    FROM read_parquet(:medical_claims, hive_partitioning = true) c
    JOIN (
        SELECT id_number, household_id FROM persons
        WHERE alive AND household_id IN (SELECT household_id FROM rules WHERE medical_burden IS NOT NULL)
    ) p ON p.id_number = c.id_number
    WHERE c.settle_date BETWEEN :medical_since AND :as_of
    GROUP BY p.household_id
),
warnings AS (
    SELECT r.*, k.* EXCLUDE (household_id), c.refs AS claim_refs
    FROM rules r
    JOIN picks k ON k.household_id = r.household_id
    LEFT JOIN claim_refs c ON c.household_id = r.household_id
)
SELECT household_id, 'medical_burden' AS rule_id, medical_burden AS level, medical_burden_who AS id_number,
       list_sort(claim_refs) AS refs
FROM warnings WHERE medical_burden IS NOT NULL
UNION ALL
SELECT household_id, 'serious_illness', serious_illness, serious_illness_who.id, [serious_illness_who.ref]
FROM warnings WHERE serious_illness IS NOT NULL
UNION ALL
SELECT household_id, 'breadwinner_death', breadwinner_death, breadwinner_death_who.id,
       [breadwinner_death_who.ref]
FROM warnings WHERE breadwinner_death IS NOT NULL
UNION ALL
SELECT household_id, 'severe_disability', severe_disability, severe_disability_who.id,
       ['disability:' || severe_disability_who.batch || ':#' || severe_disability_who.record]
FROM warnings WHERE severe_disability IS NOT NULL
UNION ALL
SELECT household_id, 'elderly_alone', elderly_alone, elderly_alone_who, NULL
FROM warnings WHERE elderly_alone IS NOT NULL
UNION ALL
SELECT household_id, 'unemployment_dependents', unemployment_dependents, unemployment_dependents_who.id,
       [unemployment_dependents_who.ref]
FROM warnings WHERE unemployment_dependents IS NOT NULL
UNION ALL
SELECT household_id, 'disaster_loss', disaster_loss, disaster_loss_who, list_sort(disaster_refs)
FROM warnings WHERE disaster_loss IS NOT NULL
UNION ALL
SELECT household_id, 'relapse_risk', relapse_risk, relapse_risk_who.id,
       ['relapse_monitoring:' || relapse_risk_who.batch || ':#' || relapse_risk_who.record]
FROM warnings WHERE relapse_risk IS NOT NULL
UNION ALL
SELECT household_id, 'child_without_guardian', child_without_guardian, child_without_guardian_who, NULL
FROM warnings WHERE child_without_guardian IS NOT NULL
UNION ALL
SELECT household_id, 'tekun_candidate', tekun_candidate, tekun_candidate_who, NULL
FROM warnings WHERE tekun_candidate IS NOT NULL
UNION ALL
SELECT household_id, 'student_dropout', student_dropout, student_dropout_who.id,
       ['students:' || student_dropout_who.batch || ':#' || student_dropout_who.record]
FROM warnings WHERE student_dropout IS NOT NULL
UNION ALL
SELECT household_id, 'dangerous_housing', dangerous_housing, head, list_sort(housing_refs)
FROM warnings WHERE dangerous_housing IS NOT NULL
UNION ALL
SELECT household_id, 'rejected_then_hardship', rejected_then_hardship, rejected_then_hardship_who,
       list_sort(application_refs)
FROM warnings WHERE rejected_then_hardship IS NOT NULL
UNION ALL
SELECT household_id, 'repeat_hotline', repeat_hotline, head, list_sort(call_refs)
FROM warnings WHERE repeat_hotline IS NOT NULL
