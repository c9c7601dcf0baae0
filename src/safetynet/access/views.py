"""Pages of the access app: login, the audit trail, and a county's accounts."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from safetynet.access import audit_labels, services
from safetynet.access.models import AuditEntry, User
from safetynet.access.permissions import LABELS as CAP_LABELS
from safetynet.access.roles import Role
from safetynet.tabular import excel_safe


class LoginView(auth_views.LoginView):
    template_name = "access/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (at least 12 characters, not a common one); the change is audited and
    the account's other sessions end."""

    template_name = "access/password.html"
    success_url = "/"

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        user = self.request.user
        services.record(services.Actor.from_request(self.request, "password change"), "password_change")
        services.end_other_sessions(user, keep=self.request.session.session_key or "")  # type: ignore[arg-type]
        messages.success(self.request, "密码已修改")
        return response


class AuditFilterForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150, required=False)
    action = forms.CharField(label="操作", max_length=40, required=False)
    object_id = forms.CharField(label="对象编号", max_length=64, required=False)
    person = forms.CharField(label="身份证号或电话（查谁被查阅过）", max_length=20, required=False)
    since = forms.DateField(label="起", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="止", required=False, widget=forms.DateInput(attrs={"type": "date"}))


AUDIT_PAGE = 50
AUDIT_EXPORT_LIMIT = 100_000


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    """The audit trail with filters and pages; `?format=csv` downloads what the filters select."""
    actor = services.Actor.from_request(request, "audit review")
    form = AuditFilterForm(request.GET)
    filters = services.AuditFilters(**form.cleaned_data) if form.is_valid() else services.AuditFilters()
    try:
        entries = services.audit_entries(actor, filters)
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    if request.GET.get("format") == "csv":
        return _audit_csv(entries[:AUDIT_EXPORT_LIMIT])
    page = Paginator(entries, AUDIT_PAGE).get_page(request.GET.get("page"))
    roles = dict(Role.choices)
    for e in page.object_list:  # the codes stay in the CSV; the page says them in words
        e.action_label = audit_labels.action(e.action)  # type: ignore[attr-defined]
        e.object_label = audit_labels.object_type(e.object_type)  # type: ignore[attr-defined]
        e.purpose_label = audit_labels.purpose(e.purpose)  # type: ignore[attr-defined]
        e.detail_label = audit_labels.detail(e.detail)  # type: ignore[attr-defined]
        e.role_label = roles.get(e.role, e.role)  # type: ignore[attr-defined]
        if e.object_type == "capability":  # a refusal names what was refused in words
            e.object_id = CAP_LABELS.get(e.object_id, e.object_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access/audit.html",
        {
            "form": form,
            "page": page,
            "total": page.paginator.count,
            "number": page.number,
            "pages": page.paginator.num_pages,
            "query": query.urlencode(),
        },
    )


def _audit_csv(entries: Iterable[AuditEntry]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    response["Cache-Control"] = "no-store"
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            "时间",
            "用户",
            "角色",
            "操作",
            "对象类型",
            "对象编号",
            "地区",
            "用途",
            "说明",
            "IP",
            "查阅对象（哈希）",
        ]
    )
    for e in entries:
        writer.writerow(
            [e.at.isoformat(), e.username, e.role, e.action, e.object_type, e.object_id, e.region_code,
             excel_safe(e.purpose), excel_safe(e.detail), e.ip_address or "", e.subject]
        )  # fmt: skip
    return response


class UserForm(forms.Form):
    username = forms.RegexField(label="用户名", regex=r"^[A-Za-z0-9_.@-]{3,150}$", max_length=150)
    full_name = forms.CharField(label="姓名（告知书上署名）", max_length=50)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput, max_length=128)
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    region_code = forms.RegexField(label="地区代码（12 位）", regex=r"^\d{12}$")
    organisation = forms.CharField(label="单位（部门联络员填部门）", max_length=100, required=False)


@login_required
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    """The county administrator's accounts: list, add, lock and unlock."""
    actor = services.Actor.from_request(request, "user accounts")
    form = UserForm()
    status = 200
    try:
        if request.method == "POST" and request.POST.get("user"):
            user_id = request.POST.get("user", "")
            services.set_active(
                actor, int(user_id) if user_id.isdigit() else -1, request.POST.get("active") == "1"
            )
            messages.success(request, "已更新账号状态")
            return redirect("access:users")
        if request.method == "POST":
            form = UserForm(request.POST)
            if form.is_valid():
                services.add_user(actor, **form.cleaned_data)
                messages.success(request, f"已创建账号 {form.cleaned_data['username']}")
                return redirect("access:users")
            status = 422
        accounts = services.county_users(actor)
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    except ValueError as error:
        messages.error(request, str(error))
        accounts, status = services.county_users(actor), 422
    return render(request, "access/users.html", {"accounts": accounts, "form": form}, status=status)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label="动态验证码（6 位）",
        regex=r"^\d{6}$",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app (first time: a QR code and the key in letters), then confirm each sign-in
    with its 6-digit code."""
    from safetynet.access import second_factor as totp

    user = request.user
    assert isinstance(user, User)
    device = totp.device_for(user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if totp.confirm(request, device, form.cleaned_data["code"]):
            target = request.GET.get("next", "/")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = "/"
            return redirect(target)
        form.add_error("code", "验证码不正确或已过期，请输入验证器当前显示的 6 位数字")
        status = 422
    elif request.method == "POST":
        status = 422
    context = {"form": form, "enrolling": not device.confirmed}
    if not device.confirmed:
        context.update(totp.enrolment(device))
    return render(request, "access/second_factor.html", context, status=status)
