"""Near-misses: households planted just outside a rule, so a screening engine can show it does not fire.

Each kind sits on the wrong side of exactly one condition of a rule: medical costs just under the
threshold, a large bill in a household already covered, the death of an elderly member with nobody left
to depend on them, income exactly at the low-income line (the rule says strictly below). The reference
evaluation runs afterwards; a near-miss is listed only if its rule indeed does not fire for the household.
"""

from __future__ import annotations

from safetynet.demo.context import BAND_6M, WINDOW_12M, Context
from safetynet.demo.feeds import INPATIENT_ICD, SERIOUS_ICD, Claim, Events, make_claim
from safetynet.demo.households import Household, covered

NEAR_MISS_COLUMNS = ["household_id", "rule_id", "kind"]
MEDICAL_THRESHOLD = 1_000_000  # cents: the default pack's 10,000 yuan
ROUTINE_ICD = [code for code in INPATIENT_ICD if code not in SERIOUS_ICD]


def plant(ctx: Context, household: Household, events: Events) -> tuple[str, str] | None:
    """Maybe plant one near-miss; returns (rule_id, kind) when one was planted.

    Each kind is tried with the near-miss rate divided by the rough share of households it can apply to,
    so every kind occurs about equally often.
    """
    rng = ctx.rng
    kinds = [
        (_below_threshold, 0.8),
        (_already_covered, 0.08),
        (_elderly_death, 0.05),
        (_income_at_line, 0.02),
    ]
    start = int(rng.random() * len(kinds))
    for offset in range(len(kinds)):
        kind, share = kinds[(start + offset) % len(kinds)]
        if rng.random() < min(0.5, ctx.rates.near_miss / share) and (planted := kind(ctx, household, events)):
            return planted
    return None


def _living(household: Household) -> list:  # type: ignore[type-arg]
    return [p for p in household.members if not p.death]


def _window_out_of_pocket(ctx: Context, events: Events) -> int:
    today = ctx.calendar.today
    return sum(
        c.out_of_pocket for c in events.claims if not c.person.death and today - WINDOW_12M <= c.day <= today
    )


def _below_threshold(ctx: Context, household: Household, events: Events) -> tuple[str, str] | None:
    """An uncovered household whose medical costs in the window end a few yuan under the threshold."""
    current = _window_out_of_pocket(ctx, events)
    adults = [p for p in _living(household) if p.age >= 18]
    if covered(household) or not adults or current > MEDICAL_THRESHOLD - 200_000:
        return None
    rng = ctx.rng
    out_of_pocket = MEDICAL_THRESHOLD - current - rng.randint(1, 5_000)
    total = int(out_of_pocket / 0.62)
    day = ctx.calendar.ago(rng, 3, 350, BAND_6M)
    claim_id = f"YB{ctx.calendar.year(day)}{ctx.serial('claim', 9)}"
    person = rng.choice(adults)
    events.claims.append(
        Claim(person, claim_id, day, True, total, total - out_of_pocket, False, rng.choice(ROUTINE_ICD))
    )
    return "medical_burden", "below_threshold"


def _already_covered(ctx: Context, household: Household, events: Events) -> tuple[str, str] | None:
    """A catastrophic bill in a household that already has dibao or tekun."""
    living = _living(household)
    if not covered(household) or not living:
        return None
    day = ctx.calendar.ago(ctx.rng, 3, 350, BAND_6M)
    events.claims.append(make_claim(ctx, ctx.rng.choice(living), day, "catastrophic"))
    return "medical_burden", "already_covered"


def _elderly_death(ctx: Context, household: Household, events: Events) -> tuple[str, str] | None:
    """A member aged 65+ died recently; everyone left is 18-59 without a severe disability."""
    living = _living(household)
    holders = {id(a.person) for a in household.assistance}
    elderly = [p for p in living if p.age >= 65 and id(p) not in holders]
    if not elderly:
        return None
    person = elderly[0]
    others = [p for p in living if p is not person]
    if not others or any(p.age < 18 or p.age >= 60 or 1 <= p.disability_level <= 2 for p in others):
        return None
    person.death = ctx.calendar.ago(ctx.rng, 3, 84)
    events.deaths.append(person)
    return "breadwinner_death", "elderly_death_no_dependants"


def _income_at_line(ctx: Context, household: Household, events: Events) -> tuple[str, str] | None:
    """A severely disabled member's household whose income sits exactly on the low-income line."""
    if covered(household) or not any(c.valid and c.level <= 2 and not c.person.death for c in events.cards):
        return None
    living = _living(household)
    standard = ctx.standards[household.urban]
    line = standard.dibao * standard.edge_multiplier * len(living)
    if line != int(line):
        return None
    raise_by = int(line) - household.monthly_total()
    earners = [p for p in living if 18 <= p.age <= 59]
    if raise_by <= 0 or not earners:
        return None
    earners[0].income += raise_by
    return "severe_disability", "income_at_line"
