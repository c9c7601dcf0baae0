"""Households and their members: composition, registry attributes, income, pensions and assistance."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from safetynet.demo import names
from safetynet.demo.context import Context
from safetynet.demo.regions import Village


@dataclass(slots=True, eq=False)
class Person:
    id_number: str
    name: str
    male: bool
    birth: int  # ordinal
    age: int  # whole years at as_of
    relation: str
    phone: str = ""
    disability_level: int = 0
    disability_type: str = ""
    self_care: str = "full"
    serious_illness: bool = False
    employment: str = "child"
    income: int = 0
    pension: int = 0  # latest pension on or before as_of, from the pensions feed
    death: int = 0  # ordinal of death in the deaths feed, 0 when alive


@dataclass(slots=True)
class Assistance:
    person: Person
    program: str
    active: bool
    start: int
    end: int  # 0 while active
    amount: int


@dataclass(slots=True)
class Application:
    application_id: str
    person: Person
    program: str
    applied: int
    decision: str
    decided: int  # 0 while pending
    reason: str


@dataclass(slots=True)
class Household:
    household_id: str
    village: Village
    address: str
    members: list[Person]
    fortune: float  # household-wide income factor; < 0.5 marks a poor household
    assistance: list[Assistance] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)

    @property
    def urban(self) -> bool:
        return self.village.urban

    @property
    def head(self) -> Person:
        return self.members[0]

    def monthly_total(self, living_only: bool = True) -> int:
        return sum(p.income + p.pension for p in self.members if not (living_only and p.death))


def _weighted(options: list[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [name for name, _ in options], list(accumulate(weight for _, weight in options))


# Household types; weights reflect a north-China rural county (many elderly one/two-person households).
_RURAL_TYPES = _weighted(
    [
        ("lone_elder", 13),
        ("lone_adult", 5),
        ("elder_couple", 17),
        ("couple", 7),
        ("nuclear", 28),
        ("three_gen", 12),
        ("with_parents", 8),
        ("skipped_gen", 4),
        ("single_parent", 3),
        ("with_sibling", 3),
    ]
)
_URBAN_TYPES = _weighted(
    [
        ("lone_elder", 7),
        ("lone_adult", 7),
        ("elder_couple", 14),
        ("couple", 10),
        ("nuclear", 38),
        ("three_gen", 7),
        ("with_parents", 10),
        ("skipped_gen", 1.5),
        ("single_parent", 4),
        ("with_sibling", 1.5),
    ]
)
_DISABILITY_LEVELS = [15, 40, 70, 100]  # cumulative % for levels 1..4
_DISABILITY_TYPES = _weighted(
    [
        ("physical", 40),
        ("hearing", 15),
        ("visual", 12),
        ("intellectual", 10),
        ("mental", 10),
        ("multiple", 10),
        ("speech", 3),
    ]
)

# (relation, age, male, surname, origin) before identities are allocated.
Draft = tuple[str, int, bool, str, int]


def _pick(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    options, cumulative = table
    return options[bisect(cumulative, rng.random() * cumulative[-1])]


def _tens(amount: float) -> int:
    """Whole tens of yuan, as incomes are declared."""
    return int(amount / 10 + 0.5) * 10


def _elder_age(rng: random.Random) -> int:
    """60 and over, thinning out with age like a real population (mean about 70)."""
    while True:
        age = 60 + int(rng.expovariate(1 / 11))
        if age <= 100:
            return age


def _origin(ctx: Context, married_in: bool) -> int:
    # People marrying into the county keep the birthplace code of where they were first registered.
    if married_in and ctx.rng.random() < 0.2:
        return ctx.rng.choice(ctx.neighbour_origins)
    if ctx.rng.random() < 0.02:
        return ctx.rng.choice(ctx.neighbour_origins)
    return 0


def _children(rng: random.Random, mother_age: int, count: int) -> list[int]:
    """Ages of the children still registered with their parents (most over 30 have their own household)."""
    ages: list[int] = []
    age = mother_age - rng.randint(21, 32)
    for _ in range(count):
        if age < 0:
            break
        if age <= 30 or rng.random() < 0.15:
            ages.append(age)
        age -= rng.randint(2, 6)
    return ages


def _draft(ctx: Context, urban: bool) -> list[Draft]:
    """Members as (relation, age, male, surname, origin), head first, ages consistent with relations."""
    rng = ctx.rng
    kind = _pick(rng, _URBAN_TYPES if urban else _RURAL_TYPES)
    family = names.surname(rng)
    members: list[Draft] = []

    def couple(head_age: int, head_male: bool = True) -> int:
        members.append(("head", head_age, head_male, family, _origin(ctx, not head_male)))
        spouse_age = max(20, head_age + (rng.randint(-6, 2) if head_male else rng.randint(-2, 6)))
        members.append(("spouse", spouse_age, not head_male, names.surname(rng), _origin(ctx, head_male)))
        return spouse_age if head_male else head_age

    if kind == "lone_elder":
        members.append(("head", _elder_age(rng), rng.random() < 0.35, family, _origin(ctx, False)))
    elif kind == "lone_adult":
        members.append(("head", rng.randint(22, 59), rng.random() < 0.7, family, _origin(ctx, False)))
    elif kind == "elder_couple":
        couple(_elder_age(rng))
    elif kind == "couple":
        couple(int(rng.triangular(22, 59, 50)))
    elif kind in ("nuclear", "with_parents"):
        head_age = int(rng.triangular(25, 60, 46))
        mother = couple(head_age)
        count = 1 + (rng.random() < 0.5) + (rng.random() < 0.1)
        members.extend(
            ("child", age, rng.random() < 0.52, family, 0) for age in _children(rng, mother, count)
        )
        if kind == "with_parents":
            father_age = min(98, head_age + rng.randint(22, 32))
            if rng.random() < 0.55:
                members.append(("parent", father_age, True, family, 0))
            members.append(
                (
                    "parent",
                    max(head_age + 20, father_age - rng.randint(0, 5)),
                    False,
                    names.surname(rng),
                    _origin(ctx, True),
                )
            )
    elif kind == "three_gen":
        head_age = rng.randint(48, 74)
        couple(head_age)
        son_age = max(20, head_age - rng.randint(22, 30))
        members.append(("child", son_age, True, family, 0))
        if rng.random() < 0.85:
            in_law_age = max(20, son_age + rng.randint(-4, 2))
            members.append(("other", in_law_age, False, names.surname(rng), _origin(ctx, True)))
            grandchildren = _children(rng, in_law_age, 1 + (rng.random() < 0.5))
            members.extend(("grandchild", age, rng.random() < 0.52, family, 0) for age in grandchildren)
    elif kind == "skipped_gen":
        # Left-behind children: parents work (and are registered) elsewhere, grandparents raise them.
        head_age = rng.randint(56, 82)
        if rng.random() < 0.6:
            couple(head_age)
        else:
            members.append(("head", head_age, rng.random() < 0.45, family, _origin(ctx, False)))
        for _ in range(1 + (rng.random() < 0.4)):
            members.append(("grandchild", rng.randint(2, 16), rng.random() < 0.52, family, 0))
    elif kind == "single_parent":
        head_male = rng.random() < 0.4
        head_age = rng.randint(28, 52)
        members.append(("head", head_age, head_male, family, _origin(ctx, not head_male)))
        members.extend(
            ("child", age, rng.random() < 0.52, family, 0)
            for age in _children(rng, head_age, 1 + (rng.random() < 0.35))
        )
    else:  # with_sibling: typically an unmarried, often disabled brother or sister living with the head
        head_age = rng.randint(30, 70)
        if rng.random() < 0.5:
            couple(head_age)
        else:
            members.append(("head", head_age, True, family, 0))
        members.append(("sibling", max(18, head_age + rng.randint(-10, 10)), rng.random() < 0.6, family, 0))
    return members


def _attributes(ctx: Context, p: Person, urban: bool, fortune: float) -> None:
    """Disability, self-care, illness, employment, income and phone, plausible for age and area."""
    rng = ctx.rng
    age = p.age
    if age < 18:
        p_disabled = 0.01
    elif age < 60:
        p_disabled = 0.2 if p.relation == "sibling" else 0.03
    else:
        p_disabled = 0.07 if age < 80 else 0.12
    if rng.random() < p_disabled:
        p.disability_level = 1 + bisect(_DISABILITY_LEVELS, rng.random() * 100)
        p.disability_type = _pick(rng, _DISABILITY_TYPES)
    level = p.disability_level
    roll = rng.random()
    if level == 1:
        p.self_care = "none" if roll < 0.5 else "partial"
    elif level == 2:
        p.self_care = "none" if roll < 0.1 else "partial" if roll < 0.7 else "full"
    elif age >= 85:
        p.self_care = "none" if roll < 0.08 else "partial" if roll < 0.38 else "full"
    elif age >= 75:
        p.self_care = "none" if roll < 0.03 else "partial" if roll < 0.15 else "full"
    p.serious_illness = rng.random() < (0.003 if age < 18 else 0.015 if age < 60 else 0.05)

    roll = rng.random()
    if age < 6:
        p.employment = "child"
    elif age < 16:
        p.employment = "student" if roll < 0.99 else "child"
    elif age < 18:
        p.employment = "student" if roll < 0.93 else "employed"
    elif 0 < level <= 2 or (p.serious_illness and roll < 0.4):
        p.employment = "unable"
    elif age < 23 and roll < (0.45 if urban else 0.3):
        p.employment = "student"
    elif age < 60:
        retired_early = urban and not p.male and age >= 50 and rng.random() < 0.6
        if retired_early:
            p.employment = "retired"
        elif urban:
            p.employment = "employed" if roll < 0.88 else "unemployed"
        else:
            p.employment = "farmer" if roll < 0.52 else "employed" if roll < 0.93 else "unemployed"
    elif urban:
        p.employment = "retired" if roll < 0.8 else "employed" if age < 68 and roll < 0.88 else "unable"
    elif age < 75:
        p.employment = (
            "farmer" if roll < 0.7 else "employed" if roll < 0.78 else "retired" if roll < 0.83 else "unable"
        )
    else:
        p.employment = "unable" if roll < 0.6 else "farmer" if roll < 0.95 else "retired"

    if p.employment == "employed":
        median = (4300 if urban else 3300) if age >= 18 else 1500
        p.income = _tens(rng.lognormvariate(0.0, 0.4) * median * fortune)
    elif p.employment == "farmer":
        median = 2200 if age < 60 else 800
        p.income = _tens(rng.lognormvariate(0.0, 0.5) * median * fortune)

    if age >= 60 and p.employment != "employed" and rng.random() < 0.8:
        # Support from children (赡养费) is declared income of elderly parents in a means test.
        p.income += _tens(rng.lognormvariate(0.0, 0.6) * 500 * fortune)
    if p.employment == "retired":
        p.pension = _tens(rng.lognormvariate(0.0, 0.25) * (3100 if urban else 2700))
    elif age >= 60:
        # Urban and rural residents' basic pension (城乡居民基本养老保险): basic amount plus a small account.
        p.pension = 200 + rng.randint(0, 230)

    phone_share = 0.0 if age < 16 else 0.15 if age < 18 else 0.9 if age < 70 else 0.55 if age < 80 else 0.3
    if rng.random() < phone_share:
        p.phone = names.phone(rng)


def _address(rng: random.Random, county_name: str, village: Village) -> str:
    township = village.township.name
    if village.urban:
        return (
            f"{county_name}{township}{village.base}{rng.choice(names.ESTATE_NAMES)}"
            f"{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}室"
        )
    return f"{county_name}{township}{village.base}{rng.randint(1, 380)}号"


def compose(ctx: Context, village: Village, capacity: int) -> Household:
    """A new household of at most `capacity` members living in `village`."""
    rng = ctx.rng
    calendar = ctx.calendar
    urban = village.urban
    roll = rng.random()
    fortune = rng.lognormvariate(0.0, 0.3)
    if roll < (0.03 if urban else 0.06):
        fortune *= 0.4
    elif roll > 0.9:
        fortune *= 1.8
    members: list[Person] = []
    for relation, age, male, surname, origin in _draft(ctx, urban)[: min(capacity, 6)]:
        birth = calendar.birth_day(rng, age)
        id_number, birth = ctx.allocator.allocate(origin, birth, male)
        person = Person(
            id_number=id_number,
            name=surname + names.given_name(rng, male, calendar.year(birth)),
            male=male,
            birth=birth,
            age=calendar.age(birth),
            relation=relation,
        )
        _attributes(ctx, person, urban, fortune)
        members.append(person)
    household_id = f"H{village.code[:9]}{ctx.serial('household', 7, prefixed=False)}"
    return Household(household_id, village, _address(rng, ctx.county_name, village), members, fortune)


def grant_assistance(ctx: Context, household: Household) -> None:
    """Registry assistance: dibao for most below the standard, tekun for some lone elderly/disabled, etc."""
    rng = ctx.rng
    calendar = ctx.calendar
    standard = ctx.standards[household.urban]
    members = household.members
    total = household.monthly_total(living_only=False)
    per_capita = total / len(members)
    head = members[0]
    roll = rng.random()

    def record(person: Person, program: str, amount: int, active: bool = True) -> None:
        start = calendar.ago(rng, 60, 8 * 365)
        end = 0 if active else min(calendar.today - 30, start + rng.randint(90, 3 * 365))
        household.assistance.append(Assistance(person, program, active, start, end, amount))

    alone = len(members) == 1
    eligible_alone = alone and (head.age >= 60 or head.age < 18 or 0 < head.disability_level <= 2)
    if eligible_alone and per_capita < standard.tekun and roll < 0.12:
        record(head, "tekun", standard.tekun)
    elif per_capita < standard.dibao and roll < 0.4:
        record(head, "dibao", max(100, _tens((standard.dibao - per_capita) * len(members))))
        if any(p.serious_illness for p in members) and rng.random() < 0.5:
            record(head, "medical", rng.randint(2, 20) * 100)
        if any(p.employment == "student" for p in members) and rng.random() < 0.4:
            record(head, "education", rng.randint(1, 5) * 100)
    elif per_capita < standard.dibao * standard.edge_multiplier and roll < 0.12:
        record(head, "dibao_edge", 0)
    elif roll > 0.985:
        # Past help that has ended: a dibao spell or a one-off temporary grant.
        record(head, rng.choice(["dibao", "temporary", "temporary"]), rng.randint(5, 40) * 100, active=False)
    for assistance in household.assistance:
        if assistance.program in ("dibao", "tekun", "dibao_edge"):
            applied = assistance.start - rng.randint(20, 45)
            household.applications.append(
                Application(
                    application_id=f"SQ{calendar.year(applied)}{ctx.serial('application', 7)}",
                    person=assistance.person,
                    program=assistance.program,
                    applied=applied,
                    decision="approved",
                    decided=assistance.start - rng.randint(0, 10),
                    reason="经入户调查和民主评议，符合条件，予以批准",
                )
            )


def covered(household: Household, programs: tuple[str, ...] = ("dibao", "tekun")) -> bool:
    """Any living member with an active record of one of `programs`."""
    return any(a.active and a.program in programs and not a.person.death for a in household.assistance)
