"""Who is this? Candidates for partial records against a generated county's registry."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from safetynet.linkage import services
from safetynet.linkage.batch import evaluate
from safetynet.linkage.models import Decision, PersonKey
from safetynet.linkage.services import DecisionKind, Linker
from safetynet.linkage.tests.conftest import AS_OF
from safetynet.regions.models import Region
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db


def _someone(**filters: object) -> Person:
    person = (
        Person.objects.filter(death_date__isnull=True, birth_date__lt="2000-01-01", **filters)
        .exclude(phone="")
        .select_related("household")
        .order_by("id_number")
        .first()
    )
    assert person is not None
    return person


def _place(person: Person) -> tuple[str, str]:
    village = Region.objects.get(pk=person.household.region_code)
    return village.parent.name, village.name  # type: ignore[union-attr]


def test_every_kind_of_error_still_finds_the_person(demo_county: Path) -> None:
    person = _someone()
    township, village = _place(person)
    linker = Linker(as_of=AS_OF)
    age = str(
        AS_OF.year
        - person.birth_date.year
        - ((AS_OF.month, AS_OF.day) < (person.birth_date.month, person.birth_date.day))
    )
    number = person.id_number
    digit = str((int(number[8]) + 1) % 10)
    cases = {
        "exact ID": {"id_number": number},
        "ID one digit wrong, name": {"id_number": number[:8] + digit + number[9:], "name": person.name},
        "masked ID, name, age, village text": {
            "id_number": number[:4] + "*" * 10 + number[14:],
            "name": person.name,
            "age": age,
            "address_text": f"{township}{village}",
        },
        "phone with +86, name": {
            "phone": f"+86 {person.phone[:3]} {person.phone[3:7]} {person.phone[7:]}",
            "name": person.name,
        },
        "name, birth date, village code": {
            "name": person.name,
            "birth_date": person.birth_date.isoformat(),
            "region_code": person.household.region_code,
        },
    }
    for what, raw in cases.items():
        result = linker.link(raw)
        assert result.best is not None and result.best.id_number == number, what
        assert result.decision == DecisionKind.MATCH, (what, result.explanation)
        assert result.best.explanation, what  # every field that spoke is explained


def test_ages_and_dates_as_people_say_them(demo_county: Path) -> None:
    """虚岁 (a year or two more than the real age), a round age, day and month swapped in a birth date
    (also where only the swap makes it a date): the person is still the best candidate."""
    from safetynet.linkage.persons import prepare_query

    person = _person_with_a_late_birthday()
    township, village = _place(person)
    real = (
        AS_OF.year
        - person.birth_date.year
        - ((AS_OF.month, AS_OF.day) < (person.birth_date.month, person.birth_date.day))
    )
    born = person.birth_date
    swapped = f"{born.year}-{born.day:02d}-{born.month:02d}"
    linker = Linker(as_of=AS_OF)
    for what, extra in {
        "虚岁 +1": {"age": str(real + 1)},
        "虚岁 +2": {"age": str(real + 2)},
        "round age": {"age": str(5 * round(real / 5))},
        "day and month swapped": {"birth_date": swapped},
    }.items():
        raw = {"name": person.name, "address_text": f"{township}{village}", **extra}
        result = linker.link(raw)
        assert result.best is not None and result.best.id_number == person.id_number, (
            what,
            result.explanation,
        )
        birth = next(p for p in result.best.explanation if p["field"] == "birth")
        assert birth["level"] <= 2, (what, birth)  # near, not a mismatch
    assert prepare_query({"birth_date": swapped}, AS_OF, None).birth == born


def _person_with_a_late_birthday() -> Person:
    """Someone whose day of birth is past the 12th (so the swapped date is no date at all) and who is
    not yet a year older on the as-of day."""
    for person in (
        Person.objects.filter(death_date__isnull=True, birth_date__lt="1990-01-01")
        .select_related("household")
        .order_by("id_number")
    ):
        b = person.birth_date
        if b.day > 12 and (b.month, b.day) > (AS_OF.month, AS_OF.day):
            return person
    raise AssertionError("the demo county has such a person")


def test_a_homophone_name_and_a_wrong_phone_digit(demo_county: Path) -> None:
    from safetynet.linkage.chinese import char_readings, spellings

    # Find a registry person whose given name has a homophone among the county's name characters.
    chars: dict[str, list[str]] = {}
    for name in Person.objects.values_list("name", flat=True):
        for ch in name[1:]:
            chars.setdefault(char_readings(ch)[0], []).append(ch)
    for person in (
        Person.objects.exclude(phone="").filter(death_date__isnull=True).order_by("id_number")[:400]
    ):
        for i, ch in enumerate(person.name[1:], 1):
            others = sorted({c for c in chars[char_readings(ch)[0]] if c != ch})
            if others:
                typed = person.name[:i] + others[0] + person.name[i + 1 :]
                break
        else:
            continue
        break
    assert set(spellings(typed)) & set(spellings(person.name))
    phone = person.phone[:-1] + str((int(person.phone[-1]) + 1) % 10)
    result = Linker(as_of=AS_OF).link(
        {"name": typed, "phone": phone, "birth_date": person.birth_date.isoformat()}
    )
    assert result.best is not None and result.best.id_number == person.id_number
    texts = result.best.text
    assert "同音" in texts and "差一位" in texts


def test_nothing_known_says_unknown_and_bad_fields_say_why(demo_county: Path) -> None:
    linker = Linker(as_of=AS_OF)
    nobody = linker.link({"name": "司马懿", "birth_date": "1901-01-01", "phone": "19900000000"})
    assert nobody.decision == DecisionKind.UNKNOWN
    bad = linker.link({"name": "张三", "birth_date": "1990-13-45"})
    assert bad.decision == DecisionKind.UNKNOWN and "出生日期" in bad.error
    assert "年龄" in linker.link({"name": "张三", "age": "两百"}).error
    assert "性别" in linker.link({"name": "张三", "gender": "X"}).error
    # Hostile text is only evidence: it matches nobody and breaks nothing.
    for text in ("'; DROP TABLE registry_person; --", "<script>alert(1)</script>", "x" * 10_000, "\x00\x01"):
        assert (
            linker.link({"name": text, "address_text": text, "id_number": text}).decision
            == DecisionKind.UNKNOWN
        )
    assert Person.objects.count() > 0


def test_region_scope_limits_candidates(demo_county: Path) -> None:
    person = _someone()
    village = person.household.region_code
    other_township = Region.objects.filter(level="township").exclude(code__startswith=village[:9]).first()
    assert other_township is not None
    inside = Linker(as_of=AS_OF, scope=(village[:9] + "000", village[:9] + "999")).link(
        {"id_number": person.id_number}
    )
    outside = Linker(
        as_of=AS_OF, scope=(other_township.code[:9] + "000", other_township.code[:9] + "999")
    ).link({"id_number": person.id_number, "name": person.name})
    assert inside.best is not None and inside.best.id_number == person.id_number
    assert all(c.region_code.startswith(other_township.code[:9]) for c in outside.candidates)
    assert person.id_number not in {c.id_number for c in outside.candidates}


def test_index_is_rebuilt_by_a_registry_import(demo_county: Path) -> None:
    persons = Person.objects.count()
    keys = PersonKey.objects.count()
    assert keys >= persons * 5
    assert services.rebuild_index() == keys  # rebuilding is idempotent


def test_labelled_leads_precision_and_recall(demo_county: Path) -> None:
    """The acceptance figure on the generator's labelled leads, with the model trained on the same
    leads without their labels."""
    with (demo_county / "linkage_leads.csv").open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    training = services.train(records, as_of=AS_OF)
    assert training.pairs > len(records)
    result = evaluate(demo_county / "linkage_leads.csv", demo_county / "linkage_truth.csv", AS_OF)
    assert result.records == len(records) >= 150
    assert result.auto_precision >= 0.98, result
    assert result.auto_recall >= 0.95, result
    # The curve runs from the strictest threshold down and ends with every record's best candidate.
    assert result.curve[0][0] >= result.curve[-1][0]
    assert result.best_recall_at(0.98) >= 0.95


def test_human_decisions_win_over_the_model(demo_county: Path, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access.services import Actor

    person = _someone()
    raw = {"name": person.name[0] + "某", "address_text": _place(person)[0]}
    # A vague record: queue it with the person as the (only) candidate, as the hotline resolution does.
    result = Linker(as_of=AS_OF).link({**raw, "id_number": person.id_number})
    result.fingerprint = services.fingerprint(services.clean(raw))
    result.decision = DecisionKind.REVIEW
    assert services.queue_reviews("test", [("r1", raw, result)]) == 1
    assert services.queue_reviews("test", [("r1", raw, result)]) == 0  # queued once per source record
    review = services.Review.objects.get(source_ref="r1")
    staff = make_user("clerk", "county", person.household.region_code[:6] + "000000")
    actor = Actor(user=staff, purpose="test")
    services.decide_review(actor, review.pk, review.version, person.id_number)
    assert Decision.objects.filter(fingerprint=review.fingerprint, same=True).exists()
    again = Linker(as_of=AS_OF).link(raw)
    assert again.decision == DecisionKind.MATCH and again.best is not None
    assert again.best.id_number == person.id_number and again.best.decided_by_person
    with pytest.raises(services.Conflict):
        services.decide_review(actor, review.pk, review.version, None)  # an old version: someone was first


def test_a_relatives_phone_is_evidence_for_the_person(demo_county: Path) -> None:
    """An old woman registered without a phone; her son calls from his own number, which the registry
    holds under his name in the same household: she is found, and the phone counts for her."""
    for mother in (
        Person.objects.filter(phone="", death_date__isnull=True, birth_date__lt="1960-01-01")
        .select_related("household")
        .order_by("id_number")
    ):
        son = Person.objects.filter(household_id=mother.household_id).exclude(phone="").first()
        if son is not None and son.name != mother.name:
            break
    else:
        raise AssertionError("the demo county has such a household")
    township, village = _place(mother)
    result = Linker(as_of=AS_OF).link(
        {"name": mother.name, "phone": son.phone, "address_text": f"{township}{village}"}
    )
    assert result.best is not None and result.best.id_number == mother.id_number, result.explanation
    phone = next(p for p in result.best.explanation if p["field"] == "phone")
    assert phone["text"] == "是同户家人的电话" and phone["weight"] > 0, phone
    assert result.best.household_id == son.household_id
