"""Every measure of the leaders' analysis checked exactly against a county whose events are known.

Four cases in 莘县 over March to May 2026, taken through the real workflow on chosen days (working days
counted by hand on the calendar; no holiday falls between the dates used):

  A  H001 东王村(燕店镇)  warning medical_burden red, Mon 3-2; a hotline lead joins Tue 3-3; verified with
     hardship Thu 3-5 (3 wd); informed 3-6; applied for dibao 3-9; reviewed 3-10; decided Mon 3-16
     (10 wd): helped, newly covered by dibao through proactive discovery.
  B  H002 西李村(燕店镇)  warning elderly_alone orange, Tue 3-10; verified, no hardship, Thu 3-12 (2 wd).
  C  H003 南张村(观城镇)  warning medical_burden yellow, Mon 4-13; verified with hardship Mon 4-20 (5 wd);
     1,500 yuan paid first the same day (helped, 5 wd); informed 4-21; paperwork completed by the county
     Wed 4-22 (on time: 5 wd allowed); declined 4-22.
  D  H002 西李村(燕店镇)  the family asked (self_report), Mon 5-11; not verified by its deadline (Mon 5-18);
     escalated straight to the county Mon 5-25 (5 wd late, over the 3 allowed at township level).
  And the registry's own dibao for H003 from Wed 5-6: a household that applied on its own.
"""

from __future__ import annotations

import pytest

from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.regions.models import Region
from safetynet.reports import measures, services, tallies
from safetynet.reports.measures import Period
from safetynet.reports.models import Tally
from safetynet.reports.tests.conftest import on


def _board(actor: Actor, code: str, start: str = "2026-03", end: str = "2026-05", **kw):  # type: ignore[no-untyped-def]
    with on("2026-05-25"):
        return services.dashboard(actor, code, Period.parse(start, end), **kw)


def _values(cells: list) -> list:  # type: ignore[type-arg]
    return [c.count.value for c in cells]


def every_measure_of_the_county_exactly(history) -> None:  # type: ignore[no-untyped-def]
    f = _board(history["county"], "371522000000").figures
    # funnel: opened, verified, founded, informed, applied, approved, helped (cohort of cases opened Mar–May)
    assert _values(f.funnel) == [4, 3, 2, 2, 1, 1, 2]
    assert [str(s.conversion) for s in f.funnel] == ["—", "75.0", "66.6", "100.0", "50.0", "100.0", "100.0"]
    assert {s.key: s.count.value for s in f.side} == {
        "unfounded": 1,
        "declined": 1,
        "rejected": 0,
        "paid_first": 1,
    }
    assert [(name, n.value) for name, n in f.programs] == [("最低生活保障", 1)]
    # timeliness in working days, nearest rank: verify [3, 2, 5], decide [10], help [10, 5]
    assert [(t.n.value, t.median.value, t.p90.value) for t in f.timeliness] == [
        (3, 3, 5),
        (1, 10, 10),
        (2, 5, 10),
    ]
    # proactive share: H001 through a warning, H003 on its own application
    assert (f.newly_covered.value, f.proactive.value, f.own.value, f.proactive_share.value) == (2, 1, 1, 50.0)
    # rules: medical_burden verified twice (A, C), founded twice; elderly_alone once, unfounded
    rules = {
        r.rule: (r.warnings.value, r.verified.value, r.founded.value, r.precision.value) for r in f.rules
    }
    assert rules == {"medical_burden": (2, 2, 2, 100.0), "elderly_alone": (1, 1, 0, 0.0)}
    assert {r.rule: {k: c.value for k, c in r.by_level.items()} for r in f.rules}["medical_burden"] == {
        "red": 1, "orange": 0, "yellow": 1,
    }  # fmt: skip
    channels = {c.channel: (c.leads.value, c.opened.value, c.verified.value, c.founded.value, c.precision.value,
                            c.helped.value, c.mean_help.value) for c in f.channels}  # fmt: skip
    assert channels == {
        "warning": (3, 3, 3, 2, 66.6, 2, 7.5),  # helped after 10 and 5 working days: 7.5 on average
        "hotline": (1, 0, 1, 1, 100.0, 0, None),
        "self_report": (1, 1, 0, 0, None, 0, None),
    }
    assert (f.escalated["township"].value, f.escalated["county"].value, f.escalation_rate.value) == (
        0,
        1,
        25.0,
    )
    assert {k: c.value for k, c in f.paperwork.items()} == {"due": 1, "on_time": 1, "late": 0}
    assert f.paperwork_on_time.value == 100.0
    assert (f.open_now.value, f.overdue_now.value, f.overdue_rate.value) == (2, 1, 50.0)  # A helping, D late


def each_level_of_region_and_a_narrower_period(history) -> None:  # type: ignore[no-untyped-def]
    county = history["county"]
    # the province and the city count exactly what their one county counts
    levels = measures.read(
        ["370000000000", "371500000000", "371522000000"], Period.parse("2026-03", "2026-05")
    )
    assert levels["370000000000"] == levels["371500000000"] == levels["371522000000"] != {}
    board = _board(county, "371522000000")
    towns = {k.region_name: _values(k.funnel) for k in board.children}
    assert towns == {"燕店镇": [3, 2, 1, 1, 1, 1, 1], "观城镇": [1, 1, 1, 1, 0, 0, 1]}
    yandian = _board(county, "371522100000")
    assert {k.region_name: _values(k.funnel)[:3] for k in yandian.children} == {
        "东王村": [1, 1, 1],
        "西李村": [2, 1, 0],
    }
    village = _board(county, "371522100202").figures
    assert [(t.n.value, t.median.value) for t in village.timeliness][0] == (1, 2)
    assert (village.open_now.value, village.overdue_now.value) == (1, 1)
    # April–May only: C and D opened; the verification, help and paperwork of C; H003's own dibao
    f = _board(county, "371522000000", "2026-04", "2026-05").figures
    assert _values(f.funnel) == [2, 1, 1, 1, 0, 0, 1]
    assert [(t.n.value, t.median.value) for t in f.timeliness] == [(1, 5), (0, None), (1, 5)]
    assert (f.newly_covered.value, f.proactive.value, f.own.value) == (1, 0, 1)
    assert {r.rule: r.precision.value for r in f.rules} == {"medical_burden": 100.0}
    # month by month
    series = _board(county, "371522000000").series
    assert series["months"] == ["2026-03", "2026-04", "2026-05"]
    assert (series["opened"], series["founded"], series["helped"], series["leads"]) == (
        [2, 1, 1], [1, 1, 0], [1, 1, 0], [3, 1, 1],
    )  # fmt: skip


def the_running_tallies_equal_a_rebuild_and_replaying_an_event_changes_nothing(history) -> None:  # type: ignore[no-untyped-def]
    # (a cell that went back to 0 stays as a row; a count from nothing has none: compared without them)
    before = sorted(Tally.objects.exclude(n=0).values_list("region_code", "month", "measure", "key", "n"))
    assert tallies.refresh([history["a"], history["c"]]) == 0
    with on("2026-05-25"):
        assert tallies.rebuild() == 0
    Tally.objects.all().delete()
    from safetynet.reports.models import CaseFigures

    CaseFigures.objects.all().delete()
    with on("2026-05-25"):
        assert tallies.rebuild() == 4  # from nothing: every case counted again
    assert (
        sorted(Tally.objects.exclude(n=0).values_list("region_code", "month", "measure", "key", "n"))
        == before
    )


def a_leader_sees_small_cells_suppressed_and_only_their_own_region(history, make_user) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied

    leader = Actor(make_user("leader", "leader", "371500000000"), "test")
    board = _board(leader, "371522000000")
    f = board.figures
    assert board.suppressed
    assert [str(s.count) for s in f.funnel] == ["<5"] * 7  # every count here is under 5 households
    assert all(str(t.median) == "样本不足" for t in f.timeliness)  # a time or share resting on under 5
    assert str(f.proactive_share) == "样本不足" and str(f.overdue_rate) == "样本不足"
    assert all(str(k.funnel[0].count) == "<5" for k in board.children)
    # at every level the leader can reach, no figure from 1 to 4 shows: every cell is 0, hidden or "—"
    for code in ("371500000000", "371522000000", "371522100000", "371522101000", "371522100202"):
        every = _board(leader, code)
        for figures in (every.figures, *every.children):
            cells = [*(s.count for s in [*figures.funnel, *figures.side]), *(s.conversion for s in figures.funnel),
                     *(t.median for t in figures.timeliness), *(t.n for t in figures.timeliness), figures.proactive,
                     figures.own, figures.newly_covered, figures.open_now, figures.overdue_now,
                     *figures.escalated.values(), *figures.paperwork.values(),
                     *(c for r in figures.rules for c in (r.warnings, r.verified, r.founded, r.precision)),
                     *(c for ch in figures.channels for c in (ch.leads, ch.opened, ch.helped, ch.mean_help))]  # fmt: skip
            shown = [c.value for c in cells if c.value not in (None, 0)]
            assert not shown, (code, figures.region_name, shown)
        assert all(
            v is None or v == 0 for k in ("opened", "founded", "helped", "leads") for v in every.series[k]
        )
    # never above or beside one's own region: a county's leader and the city, a township and its neighbour
    county_leader = Actor(make_user("cl", "leader", "371522000000"), "test")
    with pytest.raises(PermissionDenied):
        _board(county_leader, "371500000000")
    with pytest.raises(PermissionDenied):
        _board(history["town"], "371522101000")
    assert _values(_board(history["town"], "371522100000").figures.funnel)[0] == 3
    assert AuditEntry.objects.filter(action="denied", object_type="report", object_id="371522101000").exists()
    assert AuditEntry.objects.filter(action="read", object_type="report", object_id="371522000000").exists()
    # roles without statistics are refused
    for role, region in (
        ("coordinator", "371522100201"),
        ("hotline", "371522000000"),
        ("auditor", "371522000000"),
    ):
        with pytest.raises(PermissionDenied):
            _board(Actor(make_user(f"u-{role}", role, region), "test"), "")
    assert Region.objects.filter(code="371522100202").exists()


@pytest.mark.django_db
def test_the_county_with_known_events(history, make_user) -> None:  # type: ignore[no-untyped-def]
    """One county built once (it takes a screening run and four cases' whole workflow), checked four ways."""
    every_measure_of_the_county_exactly(history)
    each_level_of_region_and_a_narrower_period(history)
    a_leader_sees_small_cells_suppressed_and_only_their_own_region(history, make_user)
    the_running_tallies_equal_a_rebuild_and_replaying_an_event_changes_nothing(history)


@pytest.mark.django_db
def test_a_runs_leads_are_counted_together_after_the_run_and_before_any_read(
    household_facts, make_user
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.reports.models import PendingCase
    from safetynet.reports.tests.conftest import _warning

    with on("2026-03-02"):
        _warning("H001", "medical_burden", "red")
        _warning("H002", "elderly_alone", "orange")
    assert PendingCase.objects.count() == 2  # marked in the leads' transaction, not counted one by one
    assert not Tally.objects.filter(measure="stage", key="opened").exists()
    assert tallies.catch_up() == 2 and not PendingCase.objects.exists()
    opened = Tally.objects.get(region_code="371522000000", measure="stage", key="opened")
    assert (opened.month.isoformat(), opened.n) == ("2026-03-01", 2)
    with on("2026-03-03"):
        _warning("H003", "medical_burden", "yellow")
    board = _board(Actor(make_user("c", "county", "371522000000"), "t"), "371522000000")
    assert board.figures.funnel[0].count.value == 3  # a read counts what landed since
