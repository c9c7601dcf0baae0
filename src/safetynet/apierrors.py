"""The API's error answer as a schema, and how a route declares the errors it may answer with.

The exception handlers in safetynet/api.py give every error one body (docs/architecture.md, "Forms and
errors"). Routes list the statuses they may answer with through `answers`, so the OpenAPI document names
each one with that body and a client (or schemathesis, tests/test_api_fuzz.py) can rely on it:

    @router.get("/{case_id}", response=answers(CaseOut, 403, 404, 422))

Every router also adds `refuse_nul`. This module imports no app, so every app's router may use it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from ninja import Field, Schema
from ninja.errors import ValidationError
from pydantic import BaseModel

# Row ids beyond the database's 64-bit integer range are refused as invalid (422) before a query, which
# PostgreSQL would otherwise fail with "out of range" and SQLite with an OverflowError.
MAX_ID = (1 << 63) - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ErrorOut(Schema):
    """What every error answers."""

    code: str  # stable and English: not_found, not_permitted, conflict, invalid, not_allowed_now …
    message: str  # for the person, in Chinese
    detail: str | list[dict[str, Any]]  # the message again, or the schema's errors (code "invalid")
    fields: dict[str, list[str]]  # a refused form's reasons, by field


# Every route is signed in (a session, or a department's token on /api/lake): without it, 401.
ALWAYS = (401,)


def answers(ok: Any, *errors: int, status: int = 200) -> dict[int, Any]:
    """A route's `response=`: `ok` under `status` (or `ok` as a whole {status: schema} mapping), and
    ErrorOut under 401 and each of `errors`. The usual ones: 400 a body that is not JSON; 403 the role, the
    region or (on a write) the CSRF token refused; 404 no such object in your region; 409 someone acted
    first; 422 input that breaks the schema or the rules."""
    declared: dict[int, Any] = dict(ok) if isinstance(ok, dict) else {status: ok}
    for code in sorted({*ALWAYS, *errors}):
        declared.setdefault(code, ErrorOut)
    return declared


NUL_MESSAGE = "不能包含空字符（\\0）"


def refuse_nul(view: Callable[..., Any]) -> Callable[..., Any]:
    """An operation decorator (`router.add_decorator(refuse_nul)`): an input holding a NUL character, in
    the path, the query or the body, is refused as invalid (422, naming the field) before the route runs.
    PostgreSQL text cannot hold one, so it would otherwise fail the route's query with a 500."""

    @functools.wraps(view)
    def checked(request: Any, *args: Any, **kwargs: Any) -> Any:
        found = [loc for name, value in kwargs.items() for loc in _nul_at(value, (name,))]
        if found:
            raise ValidationError([{"loc": loc, "msg": NUL_MESSAGE, "type": "nul_character"} for loc in found])
        return view(request, *args, **kwargs)

    return checked


def _nul_at(value: Any, loc: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [loc] if "\x00" in value else []
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in ([(*loc, key)] if "\x00" in str(key) else _nul_at(item, (*loc, key)))
        ]
    if isinstance(value, list | tuple):
        return [found for i, item in enumerate(value) for found in _nul_at(item, (*loc, i))]
    return []
