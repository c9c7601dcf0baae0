"""Reference reading of the default rule pack on one generated household, to write the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

from safetynet.demo.context import WINDOW_6M, WINDOW_12M, WINDOW_30D, WINDOW_90D, Context
from safetynet.demo.feeds import DisasterPlan, Events
from safetynet.demo.households import Household, Person, covered

HARDSHIP_RULES = (
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
)
RULE_IDS = (*HARDSHIP_RULES, "rejected_then_hardship", "repeat_hotline")


@dataclass(slots=True)
class Finding:
    """One ground-truth row: a rule that fires for the household at as_of, with the person and evidence."""

    rule_id: str
    person: Person
    source: str
    day: int
    detail: str


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def evaluate(ctx: Context, household: Household, events: Events, plan: DisasterPlan) -> list[Finding]:
    """Every rule of the contract's default pack that fires for this household, read literally.

    Event dates are generated away from window edges (see context.BAND_*), so the windows here give the
    same answer as any reasonable reading of "last 12 months" or "last 90 days".
    """
    calendar = ctx.calendar
    today = calendar.today
    living = [p for p in household.members if not p.death]
    if not living:
        return []
    standard = ctx.standards[household.urban]
    total = household.monthly_total()
    low = standard.low_income(total, len(living))
    is_covered = covered(household)
    is_tekun = covered(household, ("tekun",))
    found: list[Finding] = []

    def within(day: int, window: int) -> bool:
        return today - window <= day <= today

    def add(rule_id: str, person: Person, source: str, day: int, detail: str) -> None:
        found.append(Finding(rule_id, person, source, day, detail))

    head = living[0]
    annual = 12 * total
    claims = [c for c in events.claims if not c.person.death and within(c.day, WINDOW_12M)]
    out_of_pocket = sum(c.out_of_pocket for c in claims)
    if not is_covered and out_of_pocket >= 1_000_000 and out_of_pocket >= 50 * annual:
        largest = max(claims, key=lambda c: c.out_of_pocket)
        level = "red" if out_of_pocket >= 100 * annual else "orange"
        add(
            "medical_burden",
            largest.person,
            "medical_claims",
            largest.day,
            f"out_of_pocket_12m={_yuan(out_of_pocket)};annual_income={annual};level={level}",
        )

    if low and not is_covered:
        serious = [c for c in claims if c.serious and within(c.day, WINDOW_6M)]
        if serious:
            add(
                "serious_illness",
                serious[0].person,
                "medical_claims",
                serious[0].day,
                f"diagnosis={serious[0].diagnosis};per_capita_income={total / len(living):.2f}",
            )

    if not is_tekun:
        dependants = [p for p in living if p.age < 18 or p.age >= 60 or 1 <= p.disability_level <= 2]
        for person in events.deaths:
            age_at_death = calendar.age(person.birth, person.death)
            if within(person.death, WINDOW_90D) and 18 <= age_at_death <= 59 and dependants:
                add(
                    "breadwinner_death",
                    person,
                    "deaths",
                    person.death,
                    f"age_at_death={age_at_death};dependants={len(dependants)}",
                )
                break

    if low and not is_covered:
        cards = [c for c in events.cards if c.valid and c.level <= 2 and not c.person.death]
        if cards:
            add(
                "severe_disability",
                cards[0].person,
                "disability",
                cards[0].issued,
                f"level={cards[0].level};type={cards[0].disability_type}",
            )

        if all(p.age >= 60 for p in living):
            frail = [p for p in living if p.self_care == "none"] + [p for p in living if p.age >= 80]
            if frail:
                level = "red" if frail[0].self_care == "none" else "yellow"
                add(
                    "elderly_alone",
                    frail[0],
                    "registry",
                    today,
                    f"age={frail[0].age};self_care={frail[0].self_care};members={len(living)};level={level}",
                )

        if any(p.age < 18 or p.age >= 60 for p in living):
            recent = [
                u
                for u in events.unemployment
                if u.still_unemployed and not u.person.death and within(u.registered, WINDOW_6M)
            ]
            if recent:
                add(
                    "unemployment_dependents",
                    recent[0].person,
                    "unemployment",
                    recent[0].registered,
                    f"registered_on={calendar.iso(recent[0].registered)}",
                )

    hits = [h for h in events.disasters if h.fires() and within(h.event.day, WINDOW_30D)]
    hits += [
        h
        for h in plan.region_hits.get(household.village.code, [])
        if h.fires() and within(h.event.day, WINDOW_30D)
    ]
    if hits:
        hit = max(hits, key=lambda h: h.severity())  # the household takes its most severe row
        add(
            "disaster_loss",
            hit.person or head,
            "disasters",
            hit.event.day,
            f"event_id={hit.event.event_id};loss_level={hit.loss};house_damaged={str(hit.house_damaged).lower()};"
            f"by={'id_number' if hit.person else 'region_code'}",
        )

    if not is_covered:
        latest: dict[int, tuple[int, bool, Person]] = {}
        for row in events.relapse:
            if row.day <= today and not row.person.death:
                key = id(row.person)
                if key not in latest or row.day >= latest[key][0]:
                    latest[key] = (row.day, row.monitoring, row.person)
        monitored = [entry for entry in latest.values() if entry[1]]
        if monitored:
            add("relapse_risk", monitored[0][2], "relapse_monitoring", monitored[0][0], "status=monitoring")

    minors = [p for p in living if p.age < 18]
    guardians = [p for p in living if 18 <= p.age <= 59 and not 1 <= p.disability_level <= 2]
    if minors and not guardians:
        add(
            "child_without_guardian",
            minors[0],
            "registry",
            today,
            f"age={minors[0].age};adults_18_59={sum(1 for p in living if 18 <= p.age <= 59)}",
        )

    if len(living) == 1 and not is_tekun and total < standard.dibao:
        person = living[0]
        if person.age >= 60 or person.age < 18 or 1 <= person.disability_level <= 2:
            add("tekun_candidate", person, "registry", today, f"age={person.age};monthly_income={total}")

    if low:
        dropouts = [
            s
            for s in events.students
            if s.status == "dropped_out" and not s.person.death and within(s.day, WINDOW_6M)
        ]
        if dropouts:
            add(
                "student_dropout",
                dropouts[0].person,
                "students",
                dropouts[0].day,
                f"stage={dropouts[0].stage}",
            )

    housing_help = covered(household, ("housing",))
    if low and not housing_help:
        unsafe = [h for h in events.housing if h.rating in ("C", "D") and within(h.day, WINDOW_12M)]
        if unsafe:
            add(
                "dangerous_housing",
                unsafe[0].person,
                "housing_safety",
                unsafe[0].day,
                f"rating={unsafe[0].rating}",
            )

    if found:
        refusals = [
            a
            for a in household.applications
            if a.decision in ("rejected", "withdrawn") and within(a.decided, WINDOW_12M)
        ]
        if refusals:
            add(
                "rejected_then_hardship",
                refusals[0].person,
                "applications",
                refusals[0].decided,
                f"application_id={refusals[0].application_id};decision={refusals[0].decision};"
                f"rules={'+'.join(f.rule_id for f in found)};level={'red' if len(found) >= 3 else 'orange'}",
            )

    calls = [c for c in events.calls if c.person is not None and within(c.day, WINDOW_90D)]
    if len(calls) >= 2:
        add(
            "repeat_hotline",
            calls[-1].person or head,
            "hotline",
            calls[-1].day,
            f"calls_90d={len(calls)};with_id_number={sum(1 for c in calls if c.id_number)}",
        )
    return found
