"""Excel workbooks of lists, for staff: written row by row (openpyxl's write-only mode keeps no cell in
memory) into a temporary file, then streamed, so an export of 100,000 rows costs what one row does. Every
text cell is formula-safe (`excel_safe`): a value starting with = + - @ is written as text, never run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Any

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from safetynet.tabular import excel_safe


def workbook_response(filename: str, sheet: str, headers: list[str], rows: Iterable[list[Any]]) -> FileResponse:
    """An .xlsx download of `rows` under `headers` (bold, frozen); not cached by the browser."""
    book = Workbook(write_only=True)
    page = book.create_sheet(sheet[:31])
    page.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(page, value=title)
        cell.font = bold
        header_cells.append(cell)
    page.append(header_cells)
    for row in rows:
        page.append([excel_safe(v) if isinstance(v, str) else v for v in row])
    out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it (and so removes it) when sent
    book.save(out)
    out.seek(0)
    response = FileResponse(
        out,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
