"""A figure with its unit only when there is a number: "50.0%", but "样本不足" or "—" alone."""

from __future__ import annotations

from django import template

from safetynet.reports.measures import Cell

register = template.Library()


@register.filter
def percent(cell: Cell) -> str:
    return f"{cell}%" if isinstance(cell, Cell) and cell.plain is not None else str(cell)
