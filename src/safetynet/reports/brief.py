"""The analysis brief (分析简报): a printable PDF of the period's figures with charts and a short
commentary generated from them (what rose, what fell, where work lags), and the same commentary and
chart data for the dashboard. Names are set in the letter's embedded fonts, so rare characters print."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from safetynet.policies.letter import fonts
from safetynet.reports.measures import RANKINGS, SMALL, Cell, Figures, ranking_cells
from safetynet.reports.services import Dashboard

BLUE = colors.HexColor("#1f5fa8")


def _pct(cell: Cell) -> str:
    return f"{cell}%" if cell.value is not None and not cell.suppressed else str(cell)


def commentary(board: Dashboard) -> list[str]:
    """A few sentences a leader reads first: the period in one line, then what changed and what lags."""
    f = board.figures
    lines = [
        f"{board.period}，{f.region_name}通过主动发现立案 {f.funnel[0].count} 户，实地核实 {f.funnel[1].count} 户，"
        f"其中存在困难 {f.funnel[2].count} 户（核实准确率 {_pct(f.funnel[2].conversion)}），"
        f"获得帮扶 {f.funnel[6].count} 户。"
    ]
    if f.newly_covered.value:
        lines.append(
            f"新纳入低保、特困 {f.newly_covered} 户，其中主动发现 {f.proactive} 户、本人申请 {f.own} 户，"
            f"主动发现占比 {_pct(f.proactive_share)}。"
        )
    lines.extend(_month_on_month(board))
    t = f.timeliness
    if t[0].median.value is not None:
        lines.append(
            f"从发现到实地核实用时中位数 {t[0].median} 个工作日（90%在 {t[0].p90} 个工作日内），"
            f"到获得帮扶中位数 {t[2].median} 个工作日。"
        )
    if f.open_now.value:
        lines.append(f"目前在办 {f.open_now} 户，其中逾期 {f.overdue_now} 户（{_pct(f.overdue_rate)}）。")
    lines.extend(_lags(board))
    return lines


def _month_on_month(board: Dashboard) -> list[str]:
    series = board.series
    if len(series["months"]) < 2:
        return []
    out = []
    for key, label in (("opened", "立案"), ("founded", "核实存在困难"), ("helped", "获得帮扶")):
        now, before = series[key][-1], series[key][-2]
        if now is None or before is None or now == before:
            continue
        change = "增加" if now > before else "减少"
        pct = f"（{abs(now - before) * 100 / before:.1f}%）" if before else ""
        year, month = series["months"][-1].split("-")
        out.append(f"{year}年{int(month)}月{label} {now} 户，较上月{change} {abs(now - before)} 户{pct}。")
    return out[:2]


def _lags(board: Dashboard) -> list[str]:
    out = []
    shown = [
        k for k in board.children if k.raw.get("overdue_rate") is not None and not k.overdue_rate.suppressed
    ]
    if len(shown) >= 2:
        worst = max(shown, key=lambda k: k.raw["overdue_rate"])
        if worst.raw["overdue_rate"] > 0:
            out.append(f"逾期率最高的是{worst.region_name}（{_pct(worst.overdue_rate)}），需督促办理。")
    slow = [
        k
        for k in board.children
        if k.raw.get("median_verify") is not None and not k.timeliness[0].median.suppressed
    ]
    if len(slow) >= 2:
        slowest = max(slow, key=lambda k: k.raw["median_verify"])
        out.append(f"核实最慢的是{slowest.region_name}（中位数 {slowest.timeliness[0].median} 个工作日）。")
    weak = [
        r
        for r in board.figures.rules
        if r.verified.value is not None and r.verified.value >= SMALL and r.precision.value is not None
    ]
    if len(weak) >= 2:
        low = min(weak, key=lambda r: r.precision.value or 0)
        out.append(f"预警规则中“{low.title}”核实准确率最低（{_pct(low.precision)}），建议复核其阈值。")
    return out


def chart_data(board: Dashboard) -> dict[str, Any]:
    """What the dashboard's ECharts draw: numbers only, None where a cell is suppressed."""
    f = board.figures
    return {
        "funnel": [{"name": s.label, "value": s.count.plain} for s in f.funnel],
        "series": board.series,
        "channels": {
            "labels": [c.label for c in f.channels],
            "opened": [c.opened.plain for c in f.channels],
            "founded": [c.founded.plain for c in f.channels],
            "helped": [c.helped.plain for c in f.channels],
        },
        "rules": {
            "labels": [r.title for r in f.rules],
            "precision": [r.precision.plain for r in f.rules],
            "trend": {
                next((r.title for r in f.rules if r.rule == rule), rule): values
                for rule, values in board.rule_trend.items()
            },
        },
        "children": {
            "labels": [k.region_name for k in board.children],
            "codes": [k.region_code for k in board.children],
            "values": [_rank_value(k, board.rank_by) for k in board.children],
        },
        "commentary": commentary(board),
    }


def _rank_value(k: Figures, by: str) -> float | int | None:
    cells = ranking_cells(k)
    return cells.get(by, cells["opened"]).plain


# -- the PDF -------------------------------------------------------------------------------------------------


def _t(value: Any) -> str:
    return fonts().runs(str(value))


def _bars(labels: list[str], values: list[float | int | None], title: str) -> Drawing:
    font = fonts().base
    drawing = Drawing(170 * mm, 12 * mm + 7 * mm * max(1, len(labels)))
    chart = HorizontalBarChart()
    chart.x, chart.y = 40 * mm, 4 * mm
    chart.width, chart.height = 120 * mm, 7 * mm * max(1, len(labels))
    chart.data = [[v or 0 for v in reversed(values)] or [0]]
    chart.categoryAxis.categoryNames = list(reversed(labels)) or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = BLUE
    drawing.add(chart)
    drawing.add(String(0, drawing.height - 5 * mm, title, fontName=font, fontSize=10))
    return drawing


def _trend(series: dict[str, Any]) -> Drawing:
    font = fonts().base
    drawing = Drawing(170 * mm, 60 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 10 * mm, 150 * mm, 40 * mm
    keys = ("opened", "founded", "helped")
    chart.data = [[v or 0 for v in series[k]] or [0] for k in keys]
    step = max(1, len(series["months"]) // 12)
    chart.categoryAxis.categoryNames = [
        m[2:] if i % step == 0 else "" for i, m in enumerate(series["months"])
    ]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    for i, colour in enumerate((BLUE, colors.HexColor("#d9822b"), colors.HexColor("#2e8b57"))):
        chart.lines[i].strokeColor = colour
        chart.lines[i].strokeWidth = 1.5
    drawing.add(chart)
    for i, (label, colour) in enumerate(
        zip(("立案", "存在困难", "获得帮扶"), (BLUE, "#d9822b", "#2e8b57"), strict=True)
    ):
        drawing.add(
            String(
                20 * mm + i * 30 * mm,
                55 * mm,
                f"— {label}",
                fontName=font,
                fontSize=8,
                fillColor=colors.toColor(colour),
            )
        )
    return drawing


def _table(header: list[str], rows: list[list[Any]]) -> Table:
    font = fonts().base
    cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    data = [[Paragraph(_t(h), cell) for h in header]] + [
        [Paragraph(_t(v), cell) for v in row] for row in rows
    ]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def build(board: Dashboard) -> bytes:
    font = fonts().base
    body = ParagraphStyle(
        "body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK", firstLineIndent=21
    )
    title = ParagraphStyle("title", fontName=font, fontSize=17, leading=26, alignment=1, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12.5, leading=20, spaceBefore=8, spaceAfter=4)
    f = board.figures
    story: list[Any] = [
        Paragraph(_t(f"{f.region_name}社会救助主动发现分析简报"), title),
        Paragraph(
            _t(f"统计期间：{board.period}"),
            ParagraphStyle("sub", parent=body, alignment=1, firstLineIndent=0),
        ),
        Spacer(1, 3 * mm),
        Paragraph(_t("一、研判要点"), heading),
        *[Paragraph(_t(line), body) for line in commentary(board)],
        Paragraph(_t("二、发现漏斗"), heading),
        _bars([s.label for s in f.funnel], [s.count.plain for s in f.funnel], "各环节户数"),
        _table(
            ["环节", "户数", "较上一环节（%）", "占发现户数（%）"],
            [[s.label, s.count, s.conversion, s.of_opened] for s in [*f.funnel, *f.side]],
        ),
        Paragraph(_t("三、月度趋势"), heading),
        _trend(board.series),
        Paragraph(_t("四、办理时效（工作日）"), heading),
        _table(
            ["环节", "件数", "中位数", "90%分位"], [[t.label, t.n, t.median, t.p90] for t in f.timeliness]
        ),
        Paragraph(_t("五、预警规则和发现渠道"), heading),
        _table(
            ["规则", "预警线索", "已核实", "存在困难", "准确率（%）"],
            [[r.title, r.warnings, r.verified, r.founded, r.precision] for r in f.rules] or [["—"] * 5],
        ),
        Spacer(1, 3 * mm),
        _table(
            ["渠道", "线索", "立案", "存在困难", "获得帮扶", "平均帮扶用时"],
            [[c.label, c.leads, c.opened, c.founded, c.helped, c.mean_help] for c in f.channels]
            or [["—"] * 6],
        ),
    ]
    if board.children:
        story += [
            Paragraph(_t("六、辖区比较"), heading),
            _table(
                ["地区", *(label for label, _ in RANKINGS.values())],
                [[k.region_name, *ranking_cells(k).values()] for k in board.children],
            ),
        ]
    if board.suppressed:
        story.append(Spacer(1, 3 * mm))
        story.append(Paragraph(_t(f"注：不足 {SMALL} 户的数字以“<{SMALL}”表示，以免识别到具体家庭。"), body))
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=escape(f"{f.region_name}分析简报 {board.period}"), author="safetynet",
    )  # fmt: skip
    doc.build(story)
    return out.getvalue()


def response(board: Dashboard) -> HttpResponse:
    name = f"brief-{board.region.code}-{board.period.start:%Y%m}-{board.period.end:%Y%m}.pdf"
    answer = HttpResponse(build(board), content_type="application/pdf")
    answer["Content-Disposition"] = f'attachment; filename="{name}"'
    answer["Cache-Control"] = "no-store"
    return answer
