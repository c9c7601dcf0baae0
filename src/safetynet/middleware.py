"""Middleware: Chinese first, API writes made idempotent by an `Idempotency-Key` header, private pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone

if TYPE_CHECKING:  # the models load after the middleware module
    from safetynet.access.models import IdempotentRequest


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Like Django's, but a browser's Accept-Language does not override the default: only the
    language the user picked (the language cookie) does. Bureau PCs often run English browsers."""

    def process_request(self, request: HttpRequest) -> None:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


KEEP_ANSWERS = dt.timedelta(hours=24)
SMALL_BODY = 1 << 20  # bytes: a larger body (a department's push) is fingerprinted by its size
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Long writes that commit in stages and already answer a repeat themselves: a pushed file is landed once
# per content (a twin waits for it), and a second screening run while one is running is a 409. They
# cannot run inside one request transaction, which would hold SQLite's write lock for minutes.
SELF_GUARDED = (re.compile(r"^/api/lake/[^/]+/batches$"), re.compile(r"^/api/screening/runs$"))


class IdempotencyMiddleware:
    """An API write with an `Idempotency-Key` header is done once: the same key sent again by the same
    user or department (a retry after a timeout) gets the first answer again (header
    `Idempotent-Replayed: true`); the key reused for another request, 422. Answers are kept for a day.

    The key, the work and the answer commit in one transaction, so a server killed mid-request leaves
    neither the work nor a key stuck "in progress": the retry simply does the work. A twin sent while
    the first is running waits for it and gets its answer. A 5xx undoes the work and keeps no answer.
    The SELF_GUARDED long writes keep their own transactions; a retry of one whose first attempt has
    no answer yet runs again and the route itself makes sure nothing lands twice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or request.method not in UNSAFE or not request.path.startswith("/api/"):
            return self.get_response(request)
        principal = _principal(request)
        if principal is None or len(key) > 100 or not key.isprintable():
            return self.get_response(request)
        from safetynet.access.models import IdempotentRequest

        IdempotentRequest.objects.filter(created_at__lt=timezone.now() - KEEP_ANSWERS).delete()
        fingerprint = _fingerprint(request)
        if any(pattern.match(request.path) for pattern in SELF_GUARDED):
            return self._self_guarded(request, principal, key, fingerprint)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotentRequest.objects.create(principal=principal, key=key, fingerprint=fingerprint)
            except IntegrityError:  # sent before; on PostgreSQL the insert waited for the first to commit
                repeat = _repeat(principal, key, fingerprint)
                return repeat if repeat is not None else self.get_response(request)
            response = self.get_response(request)
            if response.status_code >= 500 or response.streaming:
                transaction.set_rollback(True)
            else:
                _keep(row, response)
        return response

    def _self_guarded(self, request: HttpRequest, principal: str, key: str, fingerprint: str) -> HttpResponse:
        from safetynet.access.models import IdempotentRequest

        try:
            with transaction.atomic():
                IdempotentRequest.objects.create(principal=principal, key=key, fingerprint=fingerprint)
        except IntegrityError:
            repeat = _repeat(principal, key, fingerprint)
            if repeat is not None:
                return repeat
        response = self.get_response(request)
        row = IdempotentRequest.objects.filter(principal=principal, key=key, status__isnull=True).first()
        if row is not None:
            if response.status_code >= 500 or response.streaming:
                row.delete()
            else:
                _keep(row, response)
        return response


def _repeat(principal: str, key: str, fingerprint: str) -> HttpResponse | None:
    """The answer to a key sent before: the first answer replayed, 422 for another request under the same
    key, or None (the work should be done) when the first has no answer yet or has expired."""
    from safetynet.access.models import IdempotentRequest

    first = IdempotentRequest.objects.filter(principal=principal, key=key).first()
    if first is None:
        return None
    if first.fingerprint != fingerprint:
        return _answer(422, "idempotency_key_reused", "该 Idempotency-Key 已用于另一个请求")
    if first.status is None:
        return None
    replay = HttpResponse(bytes(first.body), status=first.status, content_type=first.content_type)
    replay["Idempotent-Replayed"] = "true"
    return replay


def _keep(row: IdempotentRequest, response: HttpResponse) -> None:
    row.status = response.status_code
    row.content_type = response.get("Content-Type", "")[:100]
    row.body = response.content
    row.save(update_fields=["status", "content_type", "body"])


def _principal(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    token = request.headers.get("Authorization", "")
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:40] if token else None


def _fingerprint(request: HttpRequest) -> str:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    body = request.body if length <= SMALL_BODY else f"{length}:{request.content_type}".encode()
    head = f"{request.method} {request.get_full_path()}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def _answer(status: int, code: str, message: str) -> HttpResponse:
    body = {"code": code, "message": message, "detail": message, "fields": {}}
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


class PrivatePagesMiddleware:
    """Every answer to a signed-in user may hold personal data: no browser or proxy keeps a copy
    (`no-store`), and pages run only the site's own scripts and styles (Content-Security-Policy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
        response.setdefault("Content-Security-Policy", settings.SAFETYNET_CSP)
        return response


SECOND_FACTOR_FREE = ("/2fa/", "/login/", "/logout/", "/static/", "/i18n/")


class SecondFactorMiddleware:
    """A role that must use a second factor (SAFETYNET_SECOND_FACTOR_ROLES: county administrators and
    auditors by default) reaches nothing but the code page until this session's sign-in is confirmed with
    a TOTP code; the API answers 403 `second_factor_required`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "role", "") in settings.SAFETYNET_SECOND_FACTOR_ROLES
            and not user.is_verified()
            and not request.path.startswith(SECOND_FACTOR_FREE)
        ):
            if request.path.startswith("/api/"):
                return _answer(403, "second_factor_required", "请先完成两步验证（动态验证码）")
            return HttpResponseRedirect(f"/2fa/?next={urllib.parse.quote(request.get_full_path())}")
        return self.get_response(request)
