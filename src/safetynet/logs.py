"""Structured logs: one JSON object a line, to stderr and to a rotating file in the data folder, with no ID
number or phone in clear (every message and field passes the same masking as free text on pages).

`RequestLogMiddleware` writes a line per request (method, path without its query, status, milliseconds,
the user and role); Django's own warnings and errors come out in the same shape."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from safetynet.access.masking import mask_in_text

FIELDS = ("method", "path", "status", "ms", "user", "role", "command", "outcome")
requests_log = logging.getLogger("safetynet.requests")
# JSON leaves these raw with ensure_ascii=False, but line readers (Python's splitlines, many log shippers)
# break a line at them: a hostile name holding U+2028 would cut its record in two.
LINE_BREAKS_ESCAPED = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, and the known extra fields; masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_in_text(record.getMessage()),
        }
        for name in FIELDS:
            if hasattr(record, name):
                value = getattr(record, name)
                line[name] = mask_in_text(value) if isinstance(value, str) else value
        if record.exc_info:
            line["error"] = mask_in_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False).translate(LINE_BREAKS_ESCAPED)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, not the one there when logging was configured (a
    test runner or a daemoniser swaps it, and a closed stream would turn every line into an error)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # type: ignore[no-untyped-def]
        pass


class RequestLogMiddleware:
    """One line per request. The query string is left out (a search's text may be a name or a number)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            user = None
        requests_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.get_username() if user is not None else "",
                "role": getattr(user, "role", "") if user is not None else "",
            },
        )
        return response
