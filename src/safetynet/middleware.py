"""Middleware: Chinese first, API writes made idempotent by an `Idempotency-Key` header, private pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone


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


class IdempotencyMiddleware:
    """An API write with an `Idempotency-Key` header is done once: the same key sent again by the same
    user or department (a retry after a timeout) gets the first answer again (header
    `Idempotent-Replayed: true`); while the first is still being answered, 409; the key reused for
    another request, 422. Answers are kept for a day; a 5xx is not kept, so a retry does the work."""

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

        fingerprint = _fingerprint(request)
        IdempotentRequest.objects.filter(created_at__lt=timezone.now() - KEEP_ANSWERS).delete()
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(principal=principal, key=key, fingerprint=fingerprint)
        except IntegrityError:
            first = IdempotentRequest.objects.filter(principal=principal, key=key).first()
            if first is None:  # expired between the two statements: do the work
                return self.get_response(request)
            if first.fingerprint != fingerprint:
                return _answer(422, "idempotency_key_reused", "该 Idempotency-Key 已用于另一个请求")
            if first.status is None:
                return _answer(409, "in_progress", "相同的请求正在处理，请稍后重试")
            replay = HttpResponse(bytes(first.body), status=first.status, content_type=first.content_type)
            replay["Idempotent-Replayed"] = "true"
            return replay
        response = self.get_response(request)
        if response.status_code >= 500 or response.streaming:
            row.delete()
        else:
            row.status = response.status_code
            row.content_type = response.get("Content-Type", "")[:100]
            row.body = response.content
            row.save(update_fields=["status", "content_type", "body"])
        return response


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
