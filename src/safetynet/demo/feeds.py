"""Departmental feed records of one household: routine background rows plus injected hardship."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from safetynet.demo import names
from safetynet.demo.context import BAND_6M, BAND_12M, BAND_90D, Context
from safetynet.demo.households import Application, Assistance, Household, Person
from safetynet.demo.regions import County, Village

# ICD-10 pools: routine outpatient, routine inpatient, and serious illnesses (大病) of the medical feed.
OUTPATIENT_ICD = ["J06.9", "K29.7", "I10", "E11.9", "M54.5", "J20.9", "H52.1", "K02.9", "L30.9", "R51"]
INPATIENT_ICD = ["J18.9", "I25.1", "K80.2", "S72.0", "K35.8", "O80", "N20.0", "J44.1", "I50.9"]
SERIOUS_ICD = ["C34.9", "C16.9", "C22.0", "C50.9", "N18.5", "I63.9", "C15.9", "D61.9", "I21.9", "C18.9"]

RISK_TYPES = ["因病", "因残", "因灾", "因意外事故", "因学", "因务工就业不稳", "缺劳动力", "住房出现安全问题"]
HARDSHIP_CALLS = [
    "反映家中老人长期卧床无人照料，生活困难",
    "反映丈夫住院花费较大，家庭难以负担，咨询救助政策",
    "反映孩子父母均不在身边，老人身体不好，无力照顾",
    "反映本人失业后家庭没有收入来源，询问低保申请",
    "反映房屋漏雨墙体开裂，存在安全隐患，请求帮助",
    "反映家庭遭受灾害，房屋受损，请求临时救助",
    "反映家人患重病，治疗费用高，询问大病救助",
]
ROUTINE_CALLS = [
    "咨询低保申请条件和所需材料",
    "询问临时救助办理流程",
    "咨询高龄津贴发放时间",
    "询问残疾人两项补贴标准",
    "咨询医疗救助报销比例",
    "反映小区路灯损坏",
]
VEHICLE_TYPES = ["小型轿车", "小型轿车", "小型普通客车", "轻型普通货车", "普通二轮摩托车"]
FARM_VEHICLES = ["三轮汽车", "低速货车", "普通二轮摩托车"]
BUSINESS_KINDS = [
    "便利店",
    "农资店",
    "建材经营部",
    "养殖场",
    "餐馆",
    "五金店",
    "家电维修部",
    "服装店",
    "物流服务部",
]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(slots=True)
class Claim:
    person: Person
    claim_id: str
    day: int
    inpatient: bool
    total: int  # cents, like every amount below
    fund: int
    serious: bool
    diagnosis: str

    @property
    def out_of_pocket(self) -> int:
        return self.total - self.fund


@dataclass(slots=True)
class Card:
    person: Person
    disability_type: str
    level: int
    issued: int
    valid: bool


@dataclass(slots=True)
class Unemployment:
    person: Person
    registered: int
    still_unemployed: bool
    benefit: int  # yuan a month, 0 when none


@dataclass(slots=True)
class Pension:
    person: Person
    amount: int
    day: int


@dataclass(slots=True)
class Student:
    person: Person
    school: str
    stage: str
    status: str
    day: int


@dataclass(slots=True)
class DisasterEvent:
    event_id: str
    name: str
    day: int


@dataclass(slots=True)
class DisasterHit:
    """A disasters row: for one person (and so their household), or for a whole village when person is None."""

    event: DisasterEvent
    person: Person | None
    region_code: str
    loss: str
    house_damaged: bool

    def fires(self) -> bool:
        return self.severity() > 0

    def severity(self) -> int:
        """The contract's reading: 2 (red) for a severe or total loss, 1 (orange) for a lighter loss with
        the house damaged, 0 (no warning) for a lighter loss that left the house standing."""
        return 2 if self.loss in ("severe", "total") else 1 if self.house_damaged else 0


@dataclass(slots=True)
class Relapse:
    person: Person
    monitoring: bool
    risk_type: str
    day: int


@dataclass(slots=True)
class Housing:
    person: Person
    region_code: str
    rating: str
    day: int


@dataclass(slots=True)
class Vehicle:
    person: Person
    plate: str
    day: int
    vehicle_type: str


@dataclass(slots=True)
class Business:
    person: Person
    name: str
    day: int
    active: bool


@dataclass(slots=True)
class Call:
    call_id: str
    day: int
    seconds: int
    caller_name: str
    caller_phone: str
    id_number: str
    region_text: str
    summary: str
    person: Person | None  # the registered caller, when there is one


@dataclass(slots=True)
class Events:
    """Every feed row about one household's members (or, for outsiders, about nobody registered)."""

    claims: list[Claim] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    deaths: list[Person] = field(default_factory=list)
    unemployment: list[Unemployment] = field(default_factory=list)
    pensions: list[Pension] = field(default_factory=list)
    students: list[Student] = field(default_factory=list)
    disasters: list[DisasterHit] = field(default_factory=list)
    relapse: list[Relapse] = field(default_factory=list)
    housing: list[Housing] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    businesses: list[Business] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


@dataclass(slots=True)
class DisasterPlan:
    """County-wide disaster events, and the villages hit as a whole (rows with region_code, no id_number)."""

    recent: DisasterEvent
    older: list[DisasterEvent]
    region_hits: dict[str, list[DisasterHit]]  # by village code


def plan_disasters(ctx: Context, county: County) -> DisasterPlan:
    rng = ctx.rng
    calendar = ctx.calendar
    rural = [v for v in county.villages if not v.urban]

    def event(day: int, kind: str) -> DisasterEvent:
        when = date.fromordinal(day)
        return DisasterEvent(
            f"ZH{when.year}{ctx.serial('disaster', 4)}", f"{when.month}月{when.day}日{kind}", day
        )

    recent = event(calendar.ago(rng, 3, 24), rng.choice(["暴雨洪涝灾害", "风雹灾害", "龙卷风灾害"]))
    older = [
        event(
            calendar.ago(rng, 40, 700, BAND_6M, BAND_12M),
            rng.choice(["暴雨洪涝灾害", "风雹灾害", "干旱灾害"]),
        )
        for _ in range(rng.randint(2, 4))
    ]
    hits: dict[str, list[DisasterHit]] = {}
    for disaster, count in [(recent, 2), (older[0], 2)]:
        for village in rng.sample(rural, min(count, len(rural))):
            loss = rng.choice(["severe", "moderate"])
            hits.setdefault(village.code, []).append(
                # a village flooded moderately has damaged houses: it warns orange, a severe loss red
                DisasterHit(disaster, None, village.code, loss, True)
            )
    return DisasterPlan(recent, older, hits)


def make_claim(ctx: Context, person: Person, day: int, kind: str) -> Claim:
    """A settled claim; `kind` is outpatient, inpatient, serious or catastrophic (a large injected bill)."""
    rng = ctx.rng
    if kind == "outpatient":
        total = rng.randint(50, 1500) * 100 + rng.randint(0, 99)
        share = rng.uniform(0.3, 0.6)
        diagnosis = rng.choice(OUTPATIENT_ICD)
    elif kind == "inpatient":
        total = int(rng.lognormvariate(0.0, 0.6) * 9000) * 100 + rng.randint(0, 99)
        share = rng.uniform(0.55, 0.8)
        diagnosis = rng.choice(INPATIENT_ICD)
    elif kind == "serious":
        total = int(rng.lognormvariate(0.0, 0.5) * 30000) * 100 + rng.randint(0, 99)
        share = rng.uniform(0.55, 0.75)
        diagnosis = rng.choice(SERIOUS_ICD)
    else:
        total = rng.randint(60_000, 260_000) * 100 + rng.randint(0, 99)
        share = rng.uniform(0.5, 0.68)
        diagnosis = rng.choice(SERIOUS_ICD + INPATIENT_ICD[:4])
    serious = diagnosis in SERIOUS_ICD
    claim_id = f"YB{ctx.calendar.year(day)}{ctx.serial('claim', 9)}"
    return Claim(person, claim_id, day, kind != "outpatient", total, int(total * share), serious, diagnosis)


def _stage(age: int, rng_roll: float) -> str:
    if age < 6:
        return "preschool"
    if age < 12:
        return "primary"
    if age < 15:
        return "junior"
    if age < 18:
        return "senior" if rng_roll < 0.65 else "vocational"
    return "college" if rng_roll < 0.7 else "vocational"


def _school(ctx: Context, village: Village, stage: str) -> str:
    county = ctx.county_name
    if stage == "preschool":
        return f"{village.township.name}中心幼儿园"
    if stage == "primary":
        return f"{village.township.name}中心小学"
    if stage == "junior":
        return f"{county}第{'一二三四'[len(village.township.name) % 4]}中学"
    if stage == "senior":
        return f"{county}第一中学"
    if stage == "vocational":
        return f"{county}职业中等专业学校"
    return ctx.rng.choice(
        ["德州学院", "山东理工大学", "聊城大学", "济南大学", "山东农业大学", "德州职业技术学院"]
    )


def region_text(ctx: Context, village: Village) -> str:
    """How a caller says where they live: rarely the full official name."""
    roll = ctx.rng.random()
    township = village.township.name
    short = township.removesuffix("街道").removesuffix("镇").removesuffix("乡")
    if roll < 0.3:
        return f"{ctx.county_name}{township}{village.base}"
    if roll < 0.6:
        return f"{township}{village.base}"
    if roll < 0.85:
        return f"{short}{village.base.removesuffix('村').removesuffix('社区')}"
    return ""


def _call(ctx: Context, household: Household, caller: Person, day: int, summary: str) -> Call:
    rng = ctx.rng
    seconds = rng.randint(8 * 3600, 18 * 3600)
    # Operators rarely ask for the ID number; without a phone it is the only way to find the caller again.
    with_id = not caller.phone or rng.random() < 0.35
    call_id = f"RX{ctx.calendar.iso(day).replace('-', '')}{ctx.serial('call', 5)}"
    return Call(
        call_id,
        day,
        seconds,
        caller.name,
        caller.phone,
        caller.id_number if with_id else "",
        region_text(ctx, household.village),
        summary,
        caller,
    )


def add_events(ctx: Context, plan: DisasterPlan, household: Household) -> Events:
    """Feed rows about this household, at realistic background rates plus injected hardship events."""
    events = Events()
    # Hardship concentrates in poor households; injections there are three times as likely.
    boost = 3.0 if household.fortune < 0.6 else 1.0
    _deaths(ctx, household, events)
    alive = [p for p in household.members if not p.death] if events.deaths else household.members
    _unemployment(ctx, alive, events, boost)
    _claims(ctx, alive, events, boost)
    _cards_pensions_students(ctx, household, alive, events, boost)
    adults = [p for p in alive if p.age >= 18]
    _disasters(ctx, plan, household, adults, events, boost)
    if not household.urban:
        _rural(ctx, household, alive, events, boost)
    _assets(ctx, household, alive, adults, events)
    _calls(ctx, household, adults, events, boost)
    _applications(ctx, household)
    return events


# Probability of dying within a year, by age (whole years; index capped at 100).
_MORTALITY = [0.0] * 18 + [0.002] * 42 + [0.01] * 10 + [0.03] * 10 + [0.08] * 10 + [0.18] * 11


def _deaths(ctx: Context, household: Household, events: Events) -> None:
    # Deaths come first: they decide who counts as a member for everything else. A household is never
    # left without a living member, and nobody dies holding assistance (the registry would have reacted).
    rng = ctx.rng
    calendar = ctx.calendar
    members = household.members
    living = len(members)
    if living < 2:
        return
    holders = [a.person for a in household.assistance]
    for person in members:
        if rng.random() < _MORTALITY[min(person.age, 100)] and living > 1 and person not in holders:
            day = calendar.ago(rng, 1, 364, BAND_90D)
            if day > person.birth and _clear_death_age(ctx, person, day):
                person.death = day
                living -= 1
    if living > 1 and rng.random() < ctx.rates.breadwinner_death:
        workers = [p for p in members if not p.death and 19 <= p.age <= 58 and p not in holders]
        if workers:
            person = rng.choice(workers)
            others = [p for p in members if not p.death and p is not person]
            if any(p.age < 18 or p.age >= 60 or 1 <= p.disability_level <= 2 for p in others):
                day = calendar.ago(rng, 3, 84)
                if _clear_death_age(ctx, person, day):
                    person.death = day
    events.deaths = [p for p in members if p.death]


def _unemployment(ctx: Context, alive: list[Person], events: Events, boost: float) -> None:
    rng = ctx.rng
    calendar = ctx.calendar
    # A job lost recently in a household with children or elderly: the registry already shows it.
    if rng.random() < ctx.rates.unemployment * boost and any(p.age < 18 or p.age >= 60 for p in alive):
        workers = [p for p in alive if 20 <= p.age <= 55 and p.employment in ("employed", "farmer")]
        if workers:
            person = rng.choice(workers)
            person.employment, person.income = "unemployed", 0
            benefit = rng.randint(150, 175) * 10 if rng.random() < 0.5 else 0
            events.unemployment.append(Unemployment(person, calendar.ago(rng, 5, 170), True, benefit))
            return
    for person in alive:
        if person.employment == "unemployed":
            if rng.random() < 0.65:
                day = calendar.ago(rng, 5, 170) if rng.random() < 0.45 else calendar.ago(rng, 195, 900)
                benefit = rng.randint(150, 175) * 10 if rng.random() < 0.6 else 0
                events.unemployment.append(Unemployment(person, day, True, benefit))
        elif person.employment == "employed" and person.age < 60 and rng.random() < 0.015:
            events.unemployment.append(Unemployment(person, calendar.ago(rng, 400, 1500), False, 0))


def _claims(ctx: Context, alive: list[Person], events: Events, boost: float) -> None:
    """Routine claims for many, large ones for the seriously ill and for injected cases."""
    rng = ctx.rng
    calendar = ctx.calendar
    claims = events.claims
    for person in alive:
        if person.serious_illness:
            for _ in range(rng.randint(1, 3)):
                claims.append(
                    make_claim(ctx, person, calendar.ago(rng, 1, 540, BAND_6M, BAND_12M), "serious")
                )
        elderly = person.age >= 60
        if rng.random() < (0.5 if elderly else 0.25):
            for _ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.2)):
                kind = "inpatient" if rng.random() < (0.2 if elderly else 0.1) else "outpatient"
                claims.append(make_claim(ctx, person, calendar.ago(rng, 1, 600, BAND_6M, BAND_12M), kind))
    if rng.random() < ctx.rates.big_medical * boost:
        person = rng.choice([p for p in alive if p.age >= 40] or alive)
        claims.append(make_claim(ctx, person, calendar.ago(rng, 3, 350, BAND_6M), "catastrophic"))
    if rng.random() < ctx.rates.serious_claim * boost:
        person = rng.choice([p for p in alive if p.age >= 30] or alive)
        person.serious_illness = person.serious_illness or rng.random() < 0.5  # the registry often lags
        claims.append(make_claim(ctx, person, calendar.ago(rng, 3, 170), "serious"))


def _cards_pensions_students(
    ctx: Context, household: Household, alive: list[Person], events: Events, boost: float
) -> None:
    rng = ctx.rng
    calendar = ctx.calendar
    # Disability cards (残联) agree with the registry's level; a few old cards were revoked.
    for person in household.members:
        if person.disability_level:
            issued = max(person.birth + 200, calendar.ago(rng, 30, 15 * 365))
            events.cards.append(Card(person, person.disability_type, person.disability_level, issued, True))
        elif rng.random() < 0.003:
            issued = max(person.birth + 200, calendar.ago(rng, 5 * 365, 15 * 365))
            events.cards.append(
                Card(person, rng.choice(["physical", "visual"]), rng.randint(3, 4), issued, False)
            )
    for person in alive:
        # Pensions: this month's payment, for some also last year's (the rules take the latest).
        if person.pension:
            if rng.random() < 0.25:
                events.pensions.append(
                    Pension(person, int(person.pension * 0.97), calendar.month_start_last_year)
                )
            events.pensions.append(Pension(person, person.pension, calendar.month_start))
        # Students: enrolment snapshots; an injected recent dropout among secondary-school pupils.
        age = person.age
        if person.employment == "student" or (3 <= age < 6 and rng.random() < 0.8):
            stage = _stage(age, rng.random())
            status, day = "enrolled", calendar.semester_start
            roll = rng.random()
            if 12 <= age < 18 and roll < ctx.rates.dropout * boost:
                status, day = "dropped_out", calendar.ago(rng, 5, 170)
            elif roll > 0.996:
                status, day = "dropped_out", calendar.ago(rng, 195, 500)
            elif roll > 0.994:
                status = "suspended"
            events.students.append(
                Student(person, _school(ctx, household.village, stage), stage, status, day)
            )


def _disasters(
    ctx: Context, plan: DisasterPlan, household: Household, adults: list[Person], events: Events, boost: float
) -> None:
    """A few households hit individually: recent injected ones, older background ones."""
    rng = ctx.rng
    calendar = ctx.calendar
    code = household.village.code
    if not adults:
        return
    if rng.random() < ctx.rates.disaster * boost:
        if rng.random() < 0.7:
            loss = rng.choice(["moderate", "severe", "severe", "total", "minor"])
            events.disasters.append(DisasterHit(plan.recent, adults[0], code, loss, loss != "moderate"))
        else:
            fire = DisasterEvent(
                f"ZH{calendar.as_of.year}{ctx.serial('disaster', 4)}", "房屋火灾", calendar.ago(rng, 1, 26)
            )
            events.disasters.append(DisasterHit(fire, adults[0], code, "severe", True))
    elif rng.random() < 0.004:
        loss = rng.choice(["minor", "minor", "moderate"])
        events.disasters.append(
            DisasterHit(rng.choice(plan.older), adults[0], code, loss, rng.random() < 0.2)
        )


def _rural(ctx: Context, household: Household, alive: list[Person], events: Events, boost: float) -> None:
    """Relapse monitoring (防止返贫监测) and housing safety assessments (农村危房) of rural households."""
    rng = ctx.rng
    calendar = ctx.calendar
    if rng.random() < ctx.rates.relapse * boost:
        monitoring = rng.random() < 0.55
        risk = rng.choice(RISK_TYPES)
        for person in alive:
            if not monitoring and rng.random() < 0.3:
                events.relapse.append(Relapse(person, True, risk, calendar.ago(rng, 301, 700)))
            events.relapse.append(Relapse(person, monitoring, risk, calendar.ago(rng, 10, 300)))
    rating, day = "", 0
    # Unsafe houses are overwhelmingly those of poor households.
    if rng.random() < ctx.rates.bad_housing * (boost * boost if boost > 1 else 0.5):
        rating, day = rng.choice("CCD"), calendar.ago(rng, 10, 350)
    elif rng.random() < 0.25:
        rating, day = rng.choice("AAB"), calendar.ago(rng, 10, 1000, BAND_12M)
        if rng.random() < 0.03:
            rating, day = "C", calendar.ago(rng, 380, 1000)
    if rating:
        events.housing.append(Housing(alive[0], household.village.code, rating, day))
        if rating in "CD" and rng.random() < 0.2:
            start = calendar.ago(rng, 5, 200)
            household.assistance.append(
                Assistance(alive[0], "housing", True, start, 0, rng.randint(10, 40) * 100)
            )


def _assets(
    ctx: Context, household: Household, alive: list[Person], adults: list[Person], events: Events
) -> None:
    """Vehicles and businesses, mostly of the better-off; a farm tricycle is common in the countryside."""
    rng = ctx.rng
    calendar = ctx.calendar
    wealth = min(1.0, max(0.0, (household.monthly_total() / len(alive) - 1500) / 4000))
    for person in adults:
        if person.age > 70:
            continue
        if rng.random() < 0.03 + 0.3 * wealth:
            kind = rng.choice(FARM_VEHICLES if person.employment == "farmer" else VEHICLE_TYPES)
            plate = f"鲁N{rng.choice(PLATE_LETTERS)}{rng.randint(0, 9999):04d}"
            events.vehicles.append(Vehicle(person, plate, calendar.ago(rng, 30, 4000), kind))
        if person.employment == "employed" and rng.random() < 0.02 + 0.08 * wealth:
            name = f"{ctx.county_name}{person.name}{rng.choice(BUSINESS_KINDS)}"
            events.businesses.append(Business(person, name, calendar.ago(rng, 60, 3000), rng.random() < 0.8))


def _calls(ctx: Context, household: Household, adults: list[Person], events: Events, boost: float) -> None:
    """Occasional routine hotline calls; repeated calls about hardship within weeks for a few."""
    rng = ctx.rng
    calendar = ctx.calendar
    callers = [p for p in adults if p.phone] or adults
    if not callers:
        return
    if rng.random() < ctx.rates.repeat_hotline * boost:
        caller = rng.choice(callers)
        summary = rng.choice(HARDSHIP_CALLS)
        days = sorted(calendar.ago(rng, 2, 84) for _ in range(rng.randint(2, 3)))
        events.calls.extend(_call(ctx, household, caller, day, summary) for day in days)
    elif rng.random() < 0.004:
        day = calendar.ago(rng, 1, 700, BAND_90D)
        events.calls.append(_call(ctx, household, rng.choice(callers), day, rng.choice(ROUTINE_CALLS)))


def _clear_death_age(ctx: Context, person: Person, day: int) -> bool:
    # A recent death where age at death and age today fall on different sides of 18-59 is ambiguous
    # for breadwinner_death; leave such deaths out instead of guessing which age the rule means.
    calendar = ctx.calendar
    if calendar.today - day > 95:
        return True
    return (18 <= calendar.age(person.birth, day) <= 59) == (18 <= person.age <= 59)


REJECTION_REASONS = [
    "家庭人均收入高于当地低保标准",
    "家庭拥有机动车辆，不符合认定条件",
    "家庭成员登记有经营性企业",
    "赡养义务人有赡养能力",
    "家庭财产状况超过规定标准",
    "逾期未补正申请材料",
]
WITHDRAWAL_REASONS = ["申请人主动撤回申请", "外出务工，暂不申请", "家庭情况好转，撤回申请"]
PENDING_REASONS = ["待入户调查", "待民主评议", "待乡镇审核"]


def _applications(ctx: Context, household: Household) -> None:
    """Background applications that were not approved: rejected, withdrawn or still pending."""
    rng = ctx.rng
    roll = rng.random()
    if roll < 0.008:
        decision = "rejected" if rng.random() < 0.75 else "withdrawn"
        decided = ctx.calendar.ago(rng, 5, 900, BAND_12M)
        add_application(ctx, household, decision, decided)
    elif roll < 0.011:
        applied = ctx.calendar.ago(rng, 1, 40)
        program = rng.choice(["dibao", "dibao", "temporary", "tekun"])
        household.applications.append(
            Application(
                f"SQ{ctx.calendar.year(applied)}{ctx.serial('application', 7)}",
                household.head,
                program,
                applied,
                "pending",
                0,
                rng.choice(PENDING_REASONS),
            )
        )


def add_application(ctx: Context, household: Household, decision: str, decided: int) -> Application:
    rng = ctx.rng
    applied = decided - rng.randint(10, 40)
    reason = rng.choice(REJECTION_REASONS if decision == "rejected" else WITHDRAWAL_REASONS)
    program = rng.choice(["dibao", "dibao", "dibao", "temporary", "tekun", "medical"])
    application = Application(
        f"SQ{ctx.calendar.year(applied)}{ctx.serial('application', 7)}",
        household.head,
        program,
        applied,
        decision,
        decided,
        reason,
    )
    household.applications.append(application)
    return application


def outsider(ctx: Context, min_age: int, max_age: int) -> Person:
    """Someone in a feed who is not in this county's registry (registered elsewhere, or never)."""
    rng = ctx.rng
    calendar = ctx.calendar
    male = rng.random() < 0.55
    birth = calendar.birth_day(rng, rng.randint(min_age, max_age))
    id_number, birth = ctx.allocator.allocate(rng.choice(ctx.outsider_origins), birth, male)
    name = names.surname(rng) + names.given_name(rng, male, calendar.year(birth))
    person = Person(id_number, name, male, birth, calendar.age(birth), "other")
    person.phone = names.phone(rng)
    return person
