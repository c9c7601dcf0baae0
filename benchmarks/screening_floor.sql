-- The floor of benchmarks/screening.py: the default rule pack's warnings (household_id, rule_id, level)
-- in one hand-written DuckDB query straight over the lake's Parquet files, as an expert would write it
-- for this one pack: thresholds inlined, no evidence lists, no explanations, no person chosen per warning.
--
-- The benchmark replaces each :placeholder with a literal before running it: :as_of and the first day
-- inside each window (:medical_since ...) with DATE literals, registry tables (:persons ...) with a
-- Parquet path, feeds (:medical_claims ...) with a glob over all their batch=<id> folders.
WITH
registry_persons AS (
    SELECT id_number, household_id, birth_date, phone, disability_level, self_care, monthly_income, death_date
    FROM read_parquet(:persons)
),
-- The registry's own death date or the deaths feed, whichever is on or before the as-of date.
deaths AS (
    SELECT id_number, MIN(death_date) AS death_date
    FROM (
        SELECT id_number, death_date FROM read_parquet(:deaths)
        WHERE id_number IS NOT NULL AND death_date <= :as_of
        UNION ALL
        SELECT id_number, death_date FROM registry_persons WHERE death_date <= :as_of
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
-- One pass over the claims: the serious-illness window (6 months) lies inside the medical one (12).
claims AS (
    SELECT id_number,
           SUM(out_of_pocket) AS out_of_pocket,
           bool_or(serious_illness AND settle_date >= :serious_since) AS serious_claim
    FROM read_parquet(:medical_claims)
    WHERE id_number IS NOT NULL AND settle_date BETWEEN :medical_since AND :as_of
    GROUP BY id_number
),
-- A disability register is a status register: the latest row says what card a person holds (undated
-- rows count as the oldest).
cards AS (
    SELECT id_number,
           arg_max(COALESCE(status = 'valid' AND level BETWEEN 1 AND 2, FALSE),
                   (COALESCE(issued_on, DATE '0001-01-01'), batch, _record)) AS severe_card
    FROM read_parquet(:disability, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND (issued_on IS NULL OR issued_on <= :as_of)
    GROUP BY id_number
),
-- A registration counts unless a row for the same registration says reemployed.
unemployed AS (
    SELECT DISTINCT id_number
    FROM (
        SELECT id_number FROM read_parquet(:unemployment)
        WHERE id_number IS NOT NULL AND registered_on BETWEEN :unemployment_since AND :as_of
        GROUP BY id_number, registered_on
        HAVING MIN(status) = 'registered'
    )
),
dropouts AS (
    SELECT DISTINCT id_number FROM read_parquet(:students)
    WHERE id_number IS NOT NULL AND status = 'dropped_out' AND as_of BETWEEN :dropout_since AND :as_of
),
monitoring AS (
    SELECT id_number, arg_max(COALESCE(status = 'monitoring', FALSE), (as_of, batch, _record)) AS monitored
    FROM read_parquet(:relapse_monitoring, hive_partitioning = true)
    WHERE id_number IS NOT NULL AND as_of <= :as_of
    GROUP BY id_number
),
persons AS (
    SELECT p.id_number, p.household_id,
           d.death_date IS NULL AS alive,
           year(:as_of) - year(p.birth_date) - CASE
               WHEN month(p.birth_date) * 100 + day(p.birth_date) > month(:as_of) * 100 + day(:as_of) THEN 1
               ELSE 0 END AS age,
           COALESCE(d.death_date >= :death_since AND year(d.death_date) - year(p.birth_date) - CASE
               WHEN month(p.birth_date) * 100 + day(p.birth_date) > month(d.death_date) * 100 + day(d.death_date)
               THEN 1 ELSE 0 END BETWEEN 18 AND 59, FALSE) AS breadwinner_died,
           COALESCE(p.disability_level BETWEEN 1 AND 2, FALSE) AS severely_disabled,
           COALESCE(p.self_care = 'none', FALSE) AS no_self_care,
           COALESCE(p.monthly_income, 0) + COALESCE(pe.pension, 0) AS income,
           COALESCE(c.out_of_pocket, 0) AS out_of_pocket,
           COALESCE(c.serious_claim, FALSE) AS serious_claim,
           COALESCE(ca.severe_card, FALSE) AS severe_card,
           u.id_number IS NOT NULL AS unemployed,
           dr.id_number IS NOT NULL AS dropped_out,
           COALESCE(m.monitored, FALSE) AS monitored
    FROM registry_persons p
    LEFT JOIN deaths d ON d.id_number = p.id_number
    LEFT JOIN pensions pe ON pe.id_number = p.id_number
    LEFT JOIN claims c ON c.id_number = p.id_number
    LEFT JOIN cards ca ON ca.id_number = p.id_number
    LEFT JOIN unemployed u ON u.id_number = p.id_number
    LEFT JOIN dropouts dr ON dr.id_number = p.id_number
    LEFT JOIN monitoring m ON m.id_number = p.id_number
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
           bool_or(alive AND serious_claim) AS serious_claim,
           bool_or(alive AND severe_card) AS severe_card,
           bool_or(alive AND unemployed) AS unemployed,
           bool_or(alive AND dropped_out) AS dropped_out,
           bool_or(alive AND monitored) AS monitored,
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
disasters AS (
    SELECT id_number, region_code,
           -- red for a severe or total loss; orange for a lighter loss that damaged the house
           CASE WHEN loss_level IN ('severe', 'total') THEN 2
                WHEN COALESCE(house_damaged, FALSE) THEN 1 ELSE 0 END AS severity
    FROM read_parquet(:disasters)
    WHERE occurred_on BETWEEN :disaster_since AND :as_of
),
person_disasters AS (
    SELECT p.household_id, MAX(d.severity) AS severity
    FROM disasters d JOIN registry_persons p ON p.id_number = d.id_number
    WHERE d.severity > 0
    GROUP BY p.household_id
),
-- A row without an ID number covers its village, township or county: the code without its trailing
-- zero groups is the prefix, matched by equality against the household's code cut to that length.
region_disasters AS (
    SELECT prefix_length, substr(region_code, 1, prefix_length) AS prefix, MAX(severity) AS severity
    FROM (
        SELECT region_code, severity,
               CASE WHEN substr(region_code, 10, 3) <> '000' THEN 12
                    WHEN substr(region_code, 7, 3) <> '000' THEN 9 ELSE 6 END AS prefix_length
        FROM disasters
        WHERE id_number IS NULL AND region_code IS NOT NULL AND severity > 0
    )
    GROUP BY ALL
),
dangerous_houses AS (
    SELECT DISTINCT p.household_id
    FROM read_parquet(:housing_safety) r JOIN registry_persons p ON p.id_number = r.id_number
    WHERE r.rating IN ('C', 'D') AND r.assessed_on BETWEEN :housing_since AND :as_of
),
-- A call reaches a household through its ID number, else through a phone only one registered person has.
unique_phones AS (
    SELECT phone, MIN(id_number) AS id_number FROM registry_persons
    WHERE phone IS NOT NULL GROUP BY phone HAVING COUNT(*) = 1
),
calls AS (
    SELECT p.household_id, COUNT(*) AS calls
    FROM (
        -- phones are normalised (digits, no 86) in the lake before they become pseudonyms
        SELECT id_number, caller_phone AS phone FROM read_parquet(:hotline)
        WHERE CAST(called_at AS DATE) BETWEEN :hotline_since AND :as_of
    ) c
    LEFT JOIN unique_phones ph ON ph.phone = c.phone
    JOIN registry_persons p ON p.id_number = COALESCE(c.id_number, ph.id_number)
    GROUP BY p.household_id
),
rejections AS (
    SELECT DISTINCT household_id FROM read_parquet(:applications)
    WHERE decision IN ('rejected', 'withdrawn') AND decided_on BETWEEN :rejection_since AND :as_of
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
           dh.household_id IS NOT NULL AS dangerous_house,
           COALESCE(ca.calls, 0) AS calls,
           rj.household_id IS NOT NULL AS rejected
    FROM read_parquet(:households) h
    JOIN members m ON m.household_id = h.household_id
    LEFT JOIN read_parquet(:standards) s
        ON s.county_code = substr(h.region_code, 1, 6) AND s.area_type = h.area_type AND s.year = year(:as_of)
    LEFT JOIN coverage c ON c.household_id = h.household_id
    LEFT JOIN person_disasters pd ON pd.household_id = h.household_id
    LEFT JOIN region_disasters r12 ON r12.prefix_length = 12 AND r12.prefix = substr(h.region_code, 1, 12)
    LEFT JOIN region_disasters r9 ON r9.prefix_length = 9 AND r9.prefix = substr(h.region_code, 1, 9)
    LEFT JOIN region_disasters r6 ON r6.prefix_length = 6 AND r6.prefix = substr(h.region_code, 1, 6)
    LEFT JOIN dangerous_houses dh ON dh.household_id = h.household_id
    LEFT JOIN calls ca ON ca.household_id = h.household_id
    LEFT JOIN rejections rj ON rj.household_id = h.household_id
),
-- One column per rule: its level where it fires, NULL where it does not.
hardship AS (
    SELECT household_id, rejected, calls,
           CASE WHEN out_of_pocket >= 10000 AND out_of_pocket >= 0.5 * 12 * income AND NOT covered
                THEN CASE WHEN out_of_pocket >= 12 * income THEN 'red' ELSE 'orange' END END AS medical_burden,
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
           CASE WHEN members = 1 AND has_dependant AND below_dibao AND NOT tekun THEN 'orange' END AS tekun_candidate,
           CASE WHEN dropped_out AND low_income THEN 'yellow' END AS student_dropout,
           CASE WHEN dangerous_house AND low_income AND NOT housing_assistance THEN 'yellow' END AS dangerous_housing
    FROM households
),
rules AS (
    SELECT * EXCLUDE (rejected, calls),
           -- red when three or more hardship rules fire beside the rejection
           CASE WHEN NOT rejected THEN NULL
                WHEN len(list_filter([medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone, unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate, student_dropout, dangerous_housing], lambda x: x IS NOT NULL)) >= 3 THEN 'red'
                WHEN len(list_filter([medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone, unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate, student_dropout, dangerous_housing], lambda x: x IS NOT NULL)) >= 1 THEN 'orange'
           END AS rejected_then_hardship,
           CASE WHEN calls >= 2 THEN 'yellow' END AS repeat_hotline
    FROM hardship
)
SELECT household_id, rule_id, level
FROM rules UNPIVOT (level FOR rule_id IN (
    medical_burden, serious_illness, breadwinner_death, severe_disability, elderly_alone,
    unemployment_dependents, disaster_loss, relapse_risk, child_without_guardian, tekun_candidate,
    student_dropout, dangerous_housing, rejected_then_hardship, repeat_hotline
))
