"""The leaders' figures for a region and a period, read from the tallies (never from the case tables,
except the few figures that describe today: open and overdue cases, newly covered households).

Counts are of cases (household episodes). For a reader who may not see personal data (a leader), a
count of 1 to 4 is shown as "<5", and so is any share or median computed from fewer than 5; where one
suppressed cell could be worked out from a total and its siblings, the next smallest sibling is
suppressed as well.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from safetynet.leads.models import Channel
from safetynet.regions.models import Level, Region
from safetynet.reports import facts
from safetynet.reports.models import Tally

SMALL = 5  # cells under this many households are suppressed for readers without personal-data access
MAX_MONTHS = 36
CHANNEL_LABELS = {**dict(Channel.choices), facts.UNKNOWN_CHANNEL: "其他"}
STAGE_LABELS = {
    "opened": "发现（立案）",
    "verified": "实地核实",
    "founded": "核实存在困难",
    "informed": "告知政策",
    "applied": "协助申请",
    "approved": "纳入救助",
    "helped": "获得帮扶",
    "unfounded": "核实未发现困难",
    "declined": "本人自愿放弃",
    "rejected": "审批未通过",
    "paid_first": "先行救助",
}
PROGRAM_LABELS = {"dibao": "最低生活保障", "tekun": "特困供养", "dibao_edge": "低保边缘", "temporary": "临时救助",
                  "medical": "医疗救助", "education": "教育救助", "housing": "住房救助", "employment": "就业救助"}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One figure as a reader may see it: `value` None with `suppressed` is "<5"; None alone is "—"."""

    value: float | int | None
    suppressed: bool = False
    derived: bool = False  # a share or a time hidden because it rests on fewer than 5 households

    def __str__(self) -> str:
        if self.suppressed:
            return "样本不足" if self.derived else f"<{SMALL}"
        if self.value is None:
            return "—"
        return f"{self.value:.1f}" if isinstance(self.value, float) else str(self.value)

    @property
    def plain(self) -> float | int | None:
        """For charts and workbooks: None where suppressed or empty."""
        return None if self.suppressed else self.value


EMPTY = Cell(None)
HIDDEN = Cell(None, suppressed=True)
THIN = Cell(None, suppressed=True, derived=True)


@dataclass(frozen=True)
class Period:
    start: dt.date  # the first day of the first month
    end: dt.date  # the first day of the last month (inclusive)

    @classmethod
    def last_months(cls, months: int, today: dt.date | None = None) -> Period:
        end = (today or timezone.localdate()).replace(day=1)
        return cls(add_months(end, 1 - months), end)

    @classmethod
    def parse(cls, start: str, end: str, today: dt.date | None = None) -> Period:
        """From "YYYY-MM" texts; an unreadable or missing month falls back to the last 12 months, a span
        over 36 months is cut to the latest 36, reversed months are swapped."""
        default = cls.last_months(12, today)
        first, last = _month(start) or default.start, _month(end) or default.end
        if first > last:
            first, last = last, first
        if len(months_between(first, last)) > MAX_MONTHS:
            first = add_months(last, 1 - MAX_MONTHS)
        return cls(first, last)

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.start, self.end)

    @property
    def last_day(self) -> dt.date:
        return add_months(self.end, 1) - dt.timedelta(days=1)

    def __str__(self) -> str:
        if self.start == self.end:
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.year}年{self.start.month}月至{self.end.year}年{self.end.month}月"

    @property
    def query(self) -> str:
        return f"start={self.start:%Y-%m}&end={self.end:%Y-%m}"


def month_of(text: str) -> dt.date | None:
    """The first day of a "YYYY-MM" month, or None for anything else."""
    return _month(text)


def _month(text: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(f"{str(text).strip()[:7]}-01")
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    out, day = [], start.replace(day=1)
    while day <= end:
        out.append(day)
        day = add_months(day, 1)
    return out


# -- reading the tallies ----------------------------------------------------------------------------------


Counts = Counter[tuple[str, str]]  # (measure, key) -> count


# What a comparison row needs of each child region: a page's many children read only these.
CHILD_MEASURES = (facts.STAGE, facts.DAYS_VERIFY, facts.DAYS_HELP, facts.COVERED, facts.REGISTRY_COVERED)


def read(codes: list[str], period: Period, measures: tuple[str, ...] = ()) -> dict[str, Counts]:
    """Per region, the period's counts (of `measures`, or all): one query over an index range per region."""
    cells = Tally.objects.filter(region_code__in=codes, month__gte=period.start, month__lte=period.end)
    if measures:
        cells = cells.filter(measure__in=measures)
    rows = cells.values_list("region_code", "measure", "key").annotate(total=Sum("n")).order_by()
    found: dict[str, Counts] = {code: Counter() for code in codes}
    for region, measure, key, total in rows:
        found[region][(measure, key)] += total
    return found


def by_month(code: str, period: Period, measures: tuple[str, ...]) -> dict[dt.date, Counts]:
    rows = (
        Tally.objects.filter(
            region_code=code, month__gte=period.start, month__lte=period.end, measure__in=measures
        )
        .values_list("month", "measure", "key", "n")
        .order_by()
    )
    found: dict[dt.date, Counts] = {m: Counter() for m in period.months}
    for month, measure, key, n in rows:
        found.setdefault(month, Counter())[(measure, key)] += n
    return found


@dataclass(frozen=True)
class Today:
    """What is true now rather than in a period: open and overdue cases."""

    open: int = 0
    overdue: int = 0


def today_counts(codes: list[str]) -> dict[str, Today]:
    """Open and overdue cases now, per region: from each open case's earliest deadline, kept in the
    tallies and compared with today's date here (overdue as the inbox counts it)."""
    today = timezone.localdate().isoformat()
    found = {c: Today() for c in codes}
    rows = (
        Tally.objects.filter(
            region_code__in=codes, month=dt.date.fromisoformat(facts.NOW), measure=facts.OPEN_NOW
        )
        .values_list("region_code", "key", "n")
        .order_by()
    )
    for region, deadline, n in rows:
        before = found[region]
        found[region] = Today(before.open + n, before.overdue + (n if deadline and deadline < today else 0))
    return found


# -- figures ----------------------------------------------------------------------------------------------


def percentile(histogram: Counter[int], p: float) -> int | None:
    """The nearest-rank percentile (the value at rank ⌈p·n⌉) of a histogram of whole working days."""
    n = sum(histogram.values())
    if not n:
        return None
    rank, seen = max(1, math.ceil(p * n)), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - unreachable: ranks stop at n


@dataclass
class Stage:
    key: str
    label: str
    count: Cell
    conversion: Cell  # of the stage it is counted from (facts.STAGES), percent
    of_opened: Cell  # of the cases opened, percent


@dataclass
class Timeliness:
    label: str
    n: Cell
    median: Cell
    p90: Cell


@dataclass
class RuleRow:
    rule: str
    title: str
    warnings: Cell
    by_level: dict[str, Cell]
    verified: Cell
    founded: Cell
    precision: Cell


@dataclass
class ChannelRow:
    channel: str
    label: str
    leads: Cell
    opened: Cell
    verified: Cell
    founded: Cell
    precision: Cell
    helped: Cell
    mean_help: Cell  # working days from opening to the first help, on average


@dataclass
class Figures:
    """Every measure of one region and period, as the reader may see it."""

    region_code: str
    region_name: str
    funnel: list[Stage]
    side: list[Stage]
    programs: list[tuple[str, Cell]]
    channels: list[ChannelRow]
    rules: list[RuleRow]
    timeliness: list[Timeliness]
    escalated: dict[str, Cell]
    escalation_rate: Cell  # escalations per 100 cases opened in the period
    paperwork: dict[str, Cell]
    paperwork_on_time: Cell
    newly_covered: Cell
    proactive: Cell
    own: Cell
    proactive_share: Cell
    open_now: Cell
    overdue_now: Cell
    overdue_rate: Cell
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # unsuppressed, for ranking only

    def stage(self, key: str) -> Cell:
        return next((s.count for s in [*self.funnel, *self.side] if s.key == key), EMPTY)

    def time(self, index: int) -> Timeliness:
        return self.timeliness[index]


class Suppressor:
    def __init__(self, suppress: bool):
        self.suppress = suppress

    def n(self, value: int) -> Cell:
        if self.suppress and 0 < value < SMALL:
            return HIDDEN
        return Cell(value)

    def share(self, part: int, whole: int) -> Cell:
        if not whole:
            return EMPTY
        if self.suppress and (0 < part < SMALL or whole < SMALL):
            return THIN
        return Cell(math.floor(1000 * part / whole) / 10)  # one decimal, rounded down: 2/257 is 0.7, never 0

    def mean(self, total: int, n: int) -> Cell:
        if not n:
            return EMPTY
        if self.suppress and n < SMALL:
            return THIN
        return Cell(round(total / n, 1))

    def days(self, histogram: Counter[int], p: float) -> Cell:
        n = sum(histogram.values())
        if self.suppress and 0 < n < SMALL:
            return THIN
        value = percentile(histogram, p)
        return EMPTY if value is None else Cell(value)


TIMELINESS = (
    (facts.DAYS_VERIFY, "发现至核实"),
    (facts.DAYS_DECIDE, "发现至审批"),
    (facts.DAYS_HELP, "发现至获得帮扶"),
)


def figures(
    region: Region,
    counts: Counts,
    today: Today,
    *,
    suppress: bool,
    titles: dict[str, str],
    channel: str = "",
) -> Figures:
    """All measures of one region from its counts. `channel` narrows the funnel to one channel."""
    s = Suppressor(suppress)
    funnel_counts: Counter[str] = Counter()
    for (measure, key), n in counts.items():
        if measure == facts.STAGE and not channel:
            funnel_counts[key] += n
        elif measure == facts.FUNNEL and channel:
            ch, reached = key.split("|", 1)
            if ch == channel:
                funnel_counts[reached] += n
    opened = funnel_counts["opened"]

    def at(key: str, base: str) -> Stage:
        n = funnel_counts[key]
        return Stage(
            key,
            STAGE_LABELS[key],
            s.n(n),
            s.share(n, funnel_counts[base]) if base else EMPTY,
            s.share(n, opened),
        )

    funnel = [at(k, base) for k, base in facts.STAGES.items()]
    side = [at(k, base) for k, base in facts.SIDE_STAGES.items()]
    _complement(suppress, [(funnel[2], side[0])])  # founded + unfounded = verified
    programs = [
        (PROGRAM_LABELS.get(k.split(":", 1)[1], k), s.n(n))
        for k, n in sorted(funnel_counts.items())
        if k.startswith("approved:")
    ]

    histograms: dict[str, Counter[int]] = defaultdict(Counter)
    per: dict[str, Counter[str]] = defaultdict(Counter)  # measure -> key -> n
    for (measure, key), n in counts.items():
        if measure in (facts.DAYS_VERIFY, facts.DAYS_DECIDE, facts.DAYS_HELP):
            histograms[measure][int(key)] += n
        else:
            per[measure][key] += n
    timeliness = [
        Timeliness(
            label, s.n(sum(histograms[m].values())), s.days(histograms[m], 0.5), s.days(histograms[m], 0.9)
        )
        for m, label in TIMELINESS
    ]

    by_channel = per[facts.FUNNEL]  # "<channel>|<stage>" -> cases
    channel_keys = sorted(
        {*per[facts.LEADS], *(k.split("|", 1)[0] for k in by_channel)},
        key=lambda c: list(CHANNEL_LABELS).index(c) if c in CHANNEL_LABELS else 99,
    )
    channels = [
        ChannelRow(
            ch,
            CHANNEL_LABELS.get(ch, ch),
            s.n(per[facts.LEADS][ch]),
            s.n(by_channel[f"{ch}|opened"]),
            s.n(per[facts.CHANNEL_VERIFIED][ch]),
            s.n(per[facts.CHANNEL_FOUNDED][ch]),
            s.share(per[facts.CHANNEL_FOUNDED][ch], per[facts.CHANNEL_VERIFIED][ch]),
            s.n(by_channel[f"{ch}|helped"]),
            s.mean(per[facts.CHANNEL_HELP_DAYS][ch], per[facts.CHANNEL_HELPED][ch]),
        )
        for ch in channel_keys
    ]

    warning_levels: dict[str, Counter[str]] = defaultdict(Counter)
    for key, n in per[facts.WARNINGS].items():
        rule, level = key.split("|", 1)
        warning_levels[rule][level] += n
    rule_ids = sorted({*warning_levels, *per[facts.RULE_VERIFIED]})
    rules = [
        RuleRow(
            rule,
            titles.get(rule, rule),
            s.n(sum(warning_levels[rule].values())),
            {lv: s.n(warning_levels[rule][lv]) for lv in ("red", "orange", "yellow")},
            s.n(per[facts.RULE_VERIFIED][rule]),
            s.n(per[facts.RULE_FOUNDED][rule]),
            s.share(per[facts.RULE_FOUNDED][rule], per[facts.RULE_VERIFIED][rule]),
        )
        for rule in rule_ids
    ]

    escalations = per[facts.ESCALATED]
    paperwork = per[facts.PAPERWORK]
    # newly covered: the registry's own records (applied on their own) and the cases' decisions
    proactive = per[facts.COVERED]["proactive"]
    own = per[facts.COVERED]["own"] + per[facts.REGISTRY_COVERED][""]
    covered = proactive + own
    return Figures(
        region_code=region.code,
        region_name=region.name,
        funnel=funnel,
        side=side,
        programs=programs,
        channels=channels,
        rules=rules,
        timeliness=timeliness,
        escalated={k: s.n(escalations[k]) for k in ("township", "county")},
        escalation_rate=s.share(escalations["township"] + escalations["county"], opened),
        paperwork={k: s.n(paperwork[k]) for k in ("due", "on_time", "late")},
        paperwork_on_time=s.share(paperwork["on_time"], paperwork["on_time"] + paperwork["late"]),
        newly_covered=s.n(covered),
        proactive=s.n(proactive),
        own=s.n(own),
        proactive_share=s.share(proactive, covered),
        open_now=s.n(today.open),
        overdue_now=s.n(today.overdue),
        overdue_rate=s.share(today.overdue, today.open),
        raw={
            "opened": opened,
            "founded": funnel_counts["founded"],
            "helped": funnel_counts["helped"],
            "precision": _ratio(funnel_counts["founded"], funnel_counts["verified"]),
            "median_verify": percentile(histograms[facts.DAYS_VERIFY], 0.5),
            "p90_help": percentile(histograms[facts.DAYS_HELP], 0.9),
            "overdue_rate": _ratio(today.overdue, today.open),
            "proactive_share": _ratio(proactive, covered),
        },
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _complement(suppress: bool, pairs: list[tuple[Stage, Stage]]) -> None:
    """Two figures that add up to a shown total: if one is hidden, hide the other too."""
    if not suppress:
        return
    for a, b in pairs:
        if a.count.suppressed != b.count.suppressed and (a.count.value or b.count.value):
            a.count = b.count = HIDDEN
            a.of_opened = b.of_opened = a.conversion = b.conversion = THIN


# -- comparisons -----------------------------------------------------------------------------------------

RANKINGS = {
    "opened": ("发现（立案）户数", True),
    "founded": ("核实存在困难户数", True),
    "helped": ("获得帮扶户数", True),
    "precision": ("核实准确率", True),
    "median_verify": ("核实用时中位数（工作日）", False),
    "p90_help": ("帮扶用时90%分位（工作日）", False),
    "overdue_rate": ("当前逾期率", False),
    "proactive_share": ("主动发现占比", True),
}


def ranking_cells(figures: Figures) -> dict[str, Cell]:
    """A region's figure for each measure children are ranked on, in RANKINGS' order."""
    return {
        "opened": figures.funnel[0].count,
        "founded": figures.funnel[2].count,
        "helped": figures.funnel[6].count,
        "precision": figures.funnel[2].conversion,
        "median_verify": figures.timeliness[0].median,
        "p90_help": figures.timeliness[2].p90,
        "overdue_rate": figures.overdue_rate,
        "proactive_share": figures.proactive_share,
    }


def ranked(children: list[Figures], by: str) -> list[Figures]:
    """Children best first on `by` (higher is better, or lower for times and overdue); no value last."""
    _, higher = RANKINGS.get(by, RANKINGS["opened"])
    key = by if by in RANKINGS else "opened"
    with_value = [f for f in children if f.raw.get(key) is not None]
    without = [f for f in children if f.raw.get(key) is None]
    with_value.sort(key=lambda f: (f.raw[key], f.region_code), reverse=higher)
    return with_value + without


def suppress_siblings(children: list[Figures], suppress: bool) -> None:
    """Where exactly one sibling's count is hidden, the parent's total would give it away: hide the
    smallest shown sibling of that column too."""
    if not suppress:
        return
    for i in range(len(facts.STAGES)):
        stages = [f.funnel[i] for f in children]
        hidden = [st for st in stages if st.count.suppressed]
        shown = [st for st in stages if not st.count.suppressed and st.count.value]
        if len(hidden) == 1 and shown:
            smallest = min(shown, key=lambda st: st.count.value or 0)
            smallest.count = HIDDEN
            smallest.of_opened = smallest.conversion = THIN


def child_level(region: Region) -> str | None:
    from safetynet.regions.models import LEVEL_ORDER

    index = LEVEL_ORDER.index(Level(region.level))
    return LEVEL_ORDER[index + 1].value if index + 1 < len(LEVEL_ORDER) else None


def monthly_series(code: str, period: Period, suppress: bool) -> dict[str, Any]:
    """Month by month in the period: cases opened, verified, founded, helped, and leads received."""
    s = Suppressor(suppress)
    months = by_month(code, period, (facts.STAGE, facts.LEADS))
    series: dict[str, list[int | float | None]] = {
        k: [] for k in ("opened", "verified", "founded", "helped", "leads")
    }
    for month in period.months:
        counts = months.get(month, Counter())
        stages: Counter[str] = Counter()
        leads = 0
        for (measure, key), n in counts.items():
            if measure == facts.STAGE:
                stages[key] += n
            else:
                leads += n
        for k in ("opened", "verified", "founded", "helped"):
            series[k].append(s.n(stages[k]).plain)
        series["leads"].append(s.n(leads).plain)
    return {"months": [f"{m.year}-{m.month:02d}" for m in period.months], **series}


TREND_RULES = 5


def rule_precision_by_month(code: str, period: Period, suppress: bool) -> dict[str, list[float | None]]:
    """Verified precision (founded / verified, percent) month by month, for the rules verified most."""
    s = Suppressor(suppress)
    months = by_month(code, period, (facts.RULE_VERIFIED, facts.RULE_FOUNDED))
    verified: Counter[str] = Counter()
    for counts in months.values():
        for (measure, key), n in counts.items():
            if measure == facts.RULE_VERIFIED:
                verified[key] += n
    rules = sorted(rule for rule, _n in verified.most_common(TREND_RULES))  # the most verified: a readable chart
    out: dict[str, list[float | None]] = {}
    for rule in rules:
        out[rule] = [
            s.share(months[m][(facts.RULE_FOUNDED, rule)], months[m][(facts.RULE_VERIFIED, rule)]).plain
            for m in period.months
        ]
    return out
