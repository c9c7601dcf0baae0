"""Rows of one household in the output files, with the noise of real departmental feeds."""

from __future__ import annotations

from safetynet.demo import names
from safetynet.demo.context import WINDOW_12M, Context, Rng
from safetynet.demo.feeds import Call, Claim, Events, make_claim, outsider
from safetynet.demo.formats import ChunkWriters
from safetynet.demo.households import Household
from safetynet.demo.ids import wrong_check_character
from safetynet.demo.rules import Finding


class Noise:
    """Departmental data errors, at low rates, only where they cannot change which rules fire."""

    def __init__(self, rng: Rng) -> None:
        self.rng = rng

    def id_number(self, number: str, breakable: bool) -> str:
        roll = self.rng.random()
        if roll < 0.1 and number[-1] == "X":
            return number[:-1] + "x"
        if roll > 0.994 and breakable:
            return "" if roll > 0.997 else wrong_check_character(number)
        return number

    def name(self, name: str, allowed: bool = True) -> str:
        return names.typo(self.rng, name) if self.rng.random() < 0.005 and allowed else name


def _yuan(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def write_household(
    writers: ChunkWriters,
    ctx: Context,
    noise: Noise,
    household: Household,
    events: Events,
    findings: list[Finding],
) -> None:
    iso = ctx.calendar.iso
    today = ctx.calendar.today
    hid = household.household_id
    rows = writers.rows
    rows["households.csv"].writerow(
        [
            hid,
            household.village.code,
            household.address,
            "urban" if household.urban else "rural",
            household.head.id_number,
        ]
    )
    rows["persons.csv"].writerows(
        [
            p.id_number,
            p.name,
            "M" if p.male else "F",
            iso(p.birth),
            hid,
            p.relation,
            p.phone,
            p.disability_level,
            p.disability_type,
            p.self_care,
            "true" if p.serious_illness else "false",
            p.employment,
            p.income,
        ]
        for p in household.members
    )
    for a in household.assistance:
        rows["assistance.csv"].writerow(
            [
                a.person.id_number,
                hid,
                a.program,
                "active" if a.active else "ended",
                iso(a.start),
                iso(a.end) if a.end else "",
                a.amount,
            ]
        )
    for app in household.applications:
        rows["applications.csv"].writerow(
            [
                app.application_id,
                hid,
                app.person.id_number,
                app.program,
                iso(app.applied),
                app.decision,
                iso(app.decided) if app.decided else "",
                app.reason,
            ]
        )
    for f in findings:
        rows["ground_truth.csv"].writerow(
            [hid, f.person.id_number, f.rule_id, f.source, iso(f.day), f.detail]
        )

    # In a household without ground truth a row may be lost to a broken ID number when losing it can only
    # take evidence away (claims, level 3-4 cards, enrolments, calls ...); it can never add a warning.
    quiet = not findings
    recent_oop = sum(c.out_of_pocket for c in events.claims if today - c.day <= WINDOW_12M + 20)
    claims_can_vary = quiet and 2 * recent_oop < 1_000_000
    for claim in events.claims:
        vary = claims_can_vary and not claim.serious
        _write_claim(writers, noise, ctx, claim, breakable=quiet, vary=vary)
    for card in events.cards:
        rows["disability.csv"].writerow(
            [
                noise.id_number(card.person.id_number, quiet and (card.level > 2 or not card.valid)),
                noise.name(card.person.name),
                card.disability_type,
                card.level,
                iso(card.issued),
                "valid" if card.valid else "revoked",
            ]
        )
    for p in events.deaths:
        rows["deaths.csv"].writerow([noise.id_number(p.id_number, False), noise.name(p.name), iso(p.death)])
    for u in events.unemployment:
        rows["unemployment.csv"].writerow(
            [
                noise.id_number(u.person.id_number, quiet),
                noise.name(u.person.name),
                iso(u.registered),
                "registered" if u.still_unemployed else "reemployed",
                u.benefit or "",
            ]
        )
    for pension in events.pensions:
        rows["pensions.csv"].writerow(
            [
                noise.id_number(pension.person.id_number, False),
                pension.amount,
                iso(pension.day),
            ]
        )
    for s in events.students:
        rows["students.csv"].writerow(
            [
                noise.id_number(s.person.id_number, quiet),
                noise.name(s.person.name),
                s.school,
                s.stage,
                s.status,
                iso(s.day),
            ]
        )
    for hit in events.disasters:
        # A person's row leaves region_code empty: with both, readers could disagree on whom it covers.
        id_number = hit.person.id_number if hit.person else ""
        rows["disasters.csv"].writerow(
            [
                hit.event.event_id,
                hit.event.name,
                noise.id_number(id_number, False),
                "",
                iso(hit.event.day),
                hit.loss,
                "true" if hit.house_damaged else "false",
            ]
        )
    for r in events.relapse:
        rows["relapse_monitoring.csv"].writerow(
            [
                noise.id_number(r.person.id_number, False),
                noise.name(r.person.name),
                "monitoring" if r.monitoring else "risk_eliminated",
                r.risk_type,
                iso(r.day),
            ]
        )
    for h in events.housing:
        rows["housing_safety.csv"].writerow(
            [
                noise.id_number(h.person.id_number, quiet and h.rating in "AB"),
                h.region_code,
                h.rating,
                iso(h.day),
            ]
        )
    for v in events.vehicles:
        rows["vehicles.csv"].writerow(
            [noise.id_number(v.person.id_number, True), v.plate, iso(v.day), v.vehicle_type]
        )
    for b in events.businesses:
        rows["businesses.csv"].writerow(
            [
                noise.id_number(b.person.id_number, True),
                b.name,
                iso(b.day),
                "active" if b.active else "closed",
            ]
        )
    for call in events.calls:
        _write_call(writers, noise, ctx, call, breakable=quiet)


def _write_claim(
    writers: ChunkWriters, noise: Noise, ctx: Context, claim: Claim, *, breakable: bool, vary: bool
) -> None:
    """A claim row; `vary` allows the value errors (negative, future-dated, exported twice)."""
    day = claim.day
    out_of_pocket = claim.out_of_pocket
    roll = noise.rng.random() if vary else 1.0
    if roll < 0.001:
        out_of_pocket = -out_of_pocket  # a reversal keyed as a negative amount
    elif roll < 0.002:
        day = ctx.calendar.today + noise.rng.randint(30, 400)  # a mistyped year or month
    row = [
        claim.claim_id,
        noise.id_number(claim.person.id_number, breakable),
        noise.name(claim.person.name),
        ctx.calendar.iso(day),
        "是" if claim.inpatient else "否",
        _yuan(claim.total),
        _yuan(claim.fund),
        _yuan(out_of_pocket),
        claim.diagnosis,
        "是" if claim.serious else "否",
    ]
    writers.rows["medical_claims.csv"].writerow(row)
    if 0.002 <= roll < 0.005:
        writers.rows["medical_claims.csv"].writerow(row)  # the same claim exported twice


def _write_call(writers: ChunkWriters, noise: Noise, ctx: Context, call: Call, *, breakable: bool) -> None:
    seconds = call.seconds
    called_at = (
        f"{ctx.calendar.iso(call.day)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    )
    writers.rows["hotline.csv"].writerow(
        [
            call.call_id,
            called_at,
            # Typos would make an ID-less call impossible to match; only where nothing depends on it.
            noise.name(call.caller_name, allowed=breakable),
            call.caller_phone,
            noise.id_number(call.id_number, breakable) if call.id_number else "",
            call.region_text,
            call.summary,
        ]
    )


def write_outsiders(writers: ChunkWriters, ctx: Context, noise: Noise) -> None:
    """Now and then a feed row about someone not in this county's registry, as real feeds have."""
    rng = ctx.rng
    roll = rng.random()
    if roll >= 0.012:
        return
    calendar = ctx.calendar
    iso = calendar.iso
    rows = writers.rows
    if roll < 0.006:
        person = outsider(ctx, 1, 85)
        claim = make_claim(
            ctx, person, calendar.ago(rng, 1, 600), "inpatient" if rng.random() < 0.15 else "outpatient"
        )
        _write_claim(writers, noise, ctx, claim, breakable=True, vary=True)
    elif roll < 0.0075:
        person = outsider(ctx, 20, 65)
        plate = f"鲁N{rng.choice('ABCDEFGH')}{rng.randint(0, 9999):04d}"
        rows["vehicles.csv"].writerow(
            [noise.id_number(person.id_number, True), plate, iso(calendar.ago(rng, 30, 3000)), "小型轿车"]
        )
    elif roll < 0.0085:
        person = outsider(ctx, 25, 60)
        rows["businesses.csv"].writerow(
            [
                noise.id_number(person.id_number, True),
                f"{ctx.county_name}{person.name}商店",
                iso(calendar.ago(rng, 60, 3000)),
                "active",
            ]
        )
    elif roll < 0.0095:
        person = outsider(ctx, 6, 17)
        rows["students.csv"].writerow(
            [
                noise.id_number(person.id_number, True),
                person.name,
                f"{ctx.county_name}第一中学",
                "junior" if person.age < 15 else "senior",
                "enrolled",
                iso(calendar.ago(rng, 1, 150)),
            ]
        )
    elif roll < 0.0105:
        person = outsider(ctx, 22, 55)
        rows["unemployment.csv"].writerow(
            [
                noise.id_number(person.id_number, True),
                person.name,
                iso(calendar.ago(rng, 5, 600)),
                "registered",
                "",
            ]
        )
    elif roll < 0.0113:
        person = outsider(ctx, 60, 85)
        rows["pensions.csv"].writerow(
            [
                noise.id_number(person.id_number, True),
                rng.randint(200, 400),
                iso(calendar.as_of.replace(day=1).toordinal()),
            ]
        )
    elif roll < 0.0116:
        person = outsider(ctx, 18, 85)
        rows["deaths.csv"].writerow([person.id_number, person.name, iso(calendar.ago(rng, 1, 300))])
    elif roll < 0.0118:
        person = outsider(ctx, 18, 60)
        rows["disability.csv"].writerow(
            [
                noise.id_number(person.id_number, True),
                person.name,
                "physical",
                4,
                iso(calendar.ago(rng, 400, 3000)),
                "valid",
            ]
        )
    else:
        person = outsider(ctx, 25, 75)
        day = calendar.ago(rng, 1, 300)
        call_id = f"RX{iso(day).replace('-', '')}{ctx.serial('call', 5)}"
        seconds = rng.randint(8 * 3600, 18 * 3600)
        region, summary = f"{ctx.county_name}城区", "咨询外地户籍人员能否申请临时救助"
        call = Call(call_id, day, seconds, person.name, person.phone, "", region, summary, None)
        _write_call(writers, noise, ctx, call, breakable=True)
