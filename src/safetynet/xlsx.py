"""Excel workbooks of lists, for staff: written row by row (openpyxl's write-only mode keeps no cell in
memory) into a temporary file, then streamed, so an export of 100,000 rows costs what one row does. Every
text cell is formula-safe (`excel_safe`): a value starting with = + - @ is written as text, never run."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from safetynet.tabular import excel_safe

T = TypeVar("T")


SHEET_CHUNK = 2000  # rows read from the database per query while a sheet is written


def sheet_in_chunks(
    rows: Iterable[T], to_cells: Callable[[list[T]], Iterable[list[Any]]], counted: list[int]
) -> Iterator[list[Any]]:
    """A list's objects turned into sheet rows SHEET_CHUNK at a time (names and places are looked up once
    per chunk, and memory stays flat however long the list); `counted[0]` ends as the number of rows, for
    the export's audit entry."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == SHEET_CHUNK:
            yield from to_cells(chunk)
            counted[0] += len(chunk)
            chunk = []
    yield from to_cells(chunk)
    counted[0] += len(chunk)


def workbook_response(
    filename: str, sheet: str, headers: list[str], rows: Iterable[list[Any]]
) -> FileResponse:
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
