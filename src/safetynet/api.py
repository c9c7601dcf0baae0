"""The JSON API (Django Ninja): one router per app, OpenAPI at /api/docs.

Every error answers in one shape: `{"code": a stable English token, "message": Chinese for the person,
"detail": the same message (or the schema's errors), "fields": {field: [reasons]}}`, so a client branches
on `code` and shows `message`. Routes let domain errors rise; the handlers below translate them.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import django_auth

from safetynet.access.api import router as access_router
from safetynet.access.permissions import NotPermitted
from safetynet.access.ratelimit import RateLimited
from safetynet.apierrors import refuse_nul
from safetynet.campaigns.api import router as campaigns_router
from safetynet.cases.actions import Conflict, StepRejected
from safetynet.cases.api import router as cases_router
from safetynet.jobs.api import router as jobs_router
from safetynet.lake.api import router as lake_router
from safetynet.leads.api import router as leads_router
from safetynet.linkage.api import router as linkage_router
from safetynet.policies.api import router as policies_router
from safetynet.registry.api import router as registry_router
from safetynet.screening.api import router as screening_router


class StrictParser(Parser):
    """JSON bodies as the database can keep them: text with a lone surrogate (never valid UTF-8, refused
    by PostgreSQL) or nesting deeper than any real request is a 400 with a reason, not a 500."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = super().parse_body(request)
        except RecursionError:
            raise HttpError(400, "请求的 JSON 嵌套层数过多") from None
        if _has_surrogate(data):
            raise HttpError(400, "请求中含有无效的 Unicode 字符（孤立的代理码点）")
        return data


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


SURROGATE = re.compile("[\ud800-\udfff]")

# Session authentication (Ninja enforces CSRF on unsafe methods): pages and API share one login.
api = NinjaAPI(
    title="safetynet API",
    version="1",
    auth=django_auth,
    urls_namespace="api",
    docs_decorator=login_required,
    parser=StrictParser(),
)
# NUL in any input of any route: a 422 naming the field, before PostgreSQL would refuse it with a 500.
api.add_decorator(refuse_nul)
api.add_router("/access", access_router)
api.add_router("/registry", registry_router)
api.add_router("/screening", screening_router)
api.add_router("/linkage", linkage_router)
api.add_router("/leads", leads_router)
api.add_router("/cases", cases_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/policies", policies_router)
api.add_router("/jobs", jobs_router)
# Departments push with a bearer token of their own (the router sets its auth): no session, no CSRF.
api.add_router("/lake", lake_router)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
}
# When a route's own words are not for a person (English), the person reads these.
MESSAGES = {
    400: "请求格式不正确",
    401: "请先登录",
    403: "您的角色无权执行此操作，或对象不在您的辖区内",
    404: "未找到，或不在您的辖区内",
    409: "该记录已被他人更新，请刷新后重试",
    413: "提交的内容过大",
    422: "提交的内容不符合要求",
    429: "请求过于频繁，请稍后再试",
}
HAN = re.compile(r"[\u4e00-\u9fff]")


def error(
    request: HttpRequest, status: int, message: str, *, code: str = "", fields: Any = None, detail: Any = None
) -> HttpResponse:
    if not HAN.search(message):
        message = MESSAGES.get(status, message)
    body = {
        "code": code or CODES.get(status, "error"),
        "message": message,
        "detail": message if detail is None else detail,
        "fields": fields or {},
    }
    return api.create_response(request, body, status=status)


@api.exception_handler(NotPermitted)
def not_permitted(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return error(request, 403, exc.message, code="not_permitted", detail=exc.message)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, str(exc))


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return error(request, 409, str(exc), code="conflict")


@api.exception_handler(StepRejected)
def rejected(request: HttpRequest, exc: StepRejected) -> HttpResponse:
    return error(request, 422, str(exc), code=exc.code, fields=exc.fields)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja wraps whatever the parser raises as "Cannot parse request body": the parser's reason is ours.
    cause = exc.__cause__
    return error(request, exc.status_code, str(cause if isinstance(cause, HttpError) else exc))


@api.exception_handler(ValidationError)
def schema_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        name = str(item.get("loc", ["", ""])[-1])
        fields.setdefault(name, []).append(str(item.get("msg", "")))
    return error(request, 422, "请求内容不符合接口格式", code="invalid", fields=fields, detail=exc.errors)


@api.exception_handler(RateLimited)
def too_many(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return error(request, 429, str(exc), code="rate_limited")


@api.exception_handler(MultiPartParserError)
def bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return error(request, 400, "multipart 请求格式有误（缺少或错误的 boundary）")


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "请先登录", code="unauthenticated")
