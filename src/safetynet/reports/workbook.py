"""The monthly statistics workbook: a fixed layout, one sheet per measure, the same for every region and
month so a bureau can file them side by side and link formulas across months. Suppressed cells read "<5"."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from safetynet.reports.measures import RANKINGS, STAGE_LABELS, Cell, ranking_cells
from safetynet.reports.services import Dashboard
from safetynet.tabular import excel_safe

SHEETS = ("概况", "发现漏斗", "办理时效", "规则质量", "渠道质量", "辖区比较", "月度趋势")
LEVELS = {"red": "红色", "orange": "橙色", "yellow": "黄色"}


def value(cell: Cell | int | float | str | None) -> Any:
    if isinstance(cell, Cell):
        return str(cell) if cell.suppressed else cell.value
    return excel_safe(cell) if isinstance(cell, str) else cell


def build(board: Dashboard) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    f = board.figures
    title = f"{board.region.name} 社会救助主动发现统计（{board.period}）"

    def sheet(name: str, headers: list[str]) -> Worksheet:
        page = book.create_sheet(name)
        page.append([title])
        page["A1"].font = Font(bold=True, size=13)
        page.append([])
        page.append(headers)
        for c in page[3]:
            c.font = Font(bold=True)
            c.alignment = Alignment(wrap_text=True)
        page.freeze_panes = "A4"
        for n, _ in enumerate(headers):
            page.column_dimensions[chr(ord("A") + n)].width = 16 if n else 26
        return page

    def rows(page: Worksheet, lines: list[list[Any]]) -> None:
        for line in lines:
            page.append([value(x) for x in line])

    rows(
        sheet("概况", ["指标", "数值"]),
        [
            ["发现（立案）户数", f.funnel[0].count],
            ["核实存在困难户数", f.funnel[2].count],
            ["获得帮扶户数", f.funnel[6].count],
            ["新纳入低保、特困户数", f.newly_covered],
            ["其中主动发现", f.proactive],
            ["其中本人申请", f.own],
            ["主动发现占比（%）", f.proactive_share],
            ["当前在办个案", f.open_now],
            ["当前逾期个案", f.overdue_now],
            ["当前逾期率（%）", f.overdue_rate],
            ["逾期升级（乡镇）", f.escalated["township"]],
            ["逾期升级（县级）", f.escalated["county"]],
            ["每百件升级次数", f.escalation_rate],
            ["先行救助应补手续", f.paperwork["due"]],
            ["按期补齐", f.paperwork["on_time"]],
            ["逾期补齐", f.paperwork["late"]],
            ["按期补齐率（%）", f.paperwork_on_time],
        ],
    )
    rows(
        sheet("发现漏斗", ["环节", "户数", "较上一环节转化率（%）", "占发现户数（%）"]),
        [[s.label, s.count, s.conversion, s.of_opened] for s in [*f.funnel, *f.side]]
        + [[f"纳入：{name}", n, None, None] for name, n in f.programs],
    )
    rows(
        sheet("办理时效", ["环节", "件数", "中位数（工作日）", "90%分位（工作日）"]),
        [[t.label, t.n, t.median, t.p90] for t in f.timeliness],
    )
    rows(
        sheet(
            "规则质量", ["规则", "预警线索", "红色", "橙色", "黄色", "已核实", "核实有困难", "准确率（%）"]
        ),
        [
            [r.title, r.warnings, *(r.by_level[k] for k in LEVELS), r.verified, r.founded, r.precision]
            for r in f.rules
        ],
    )
    rows(
        sheet(
            "渠道质量",
            [
                "渠道",
                "线索",
                "立案户数",
                "已核实",
                "核实有困难",
                "准确率（%）",
                "获得帮扶",
                "平均帮扶用时（工作日）",
            ],
        ),
        [
            [c.label, c.leads, c.opened, c.verified, c.founded, c.precision, c.helped, c.mean_help]
            for c in f.channels
        ],
    )
    rank_headers = ["地区", *(label for label, _ in RANKINGS.values())]
    rows(
        sheet("辖区比较", rank_headers), [[k.region_name, *ranking_cells(k).values()] for k in board.children]
    )
    series = board.series
    trend = sheet(
        "月度趋势",
        [
            "月份",
            STAGE_LABELS["opened"],
            STAGE_LABELS["verified"],
            STAGE_LABELS["founded"],
            STAGE_LABELS["helped"],
            "线索",
        ],
    )
    for i, month in enumerate(series["months"]):
        trend.append(
            [
                month,
                *(
                    _or_hidden(series[k][i], board)
                    for k in ("opened", "verified", "founded", "helped", "leads")
                ),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _or_hidden(n: int | float | None, board: Dashboard) -> Any:
    return "<5" if n is None and board.suppressed else n


def response(board: Dashboard) -> HttpResponse:
    name = f"statistics-{board.region.code}-{board.period.start:%Y%m}-{board.period.end:%Y%m}.xlsx"
    answer = HttpResponse(
        build(board), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    answer["Content-Disposition"] = f'attachment; filename="{name}"'
    answer["Cache-Control"] = "no-store"
    return answer
