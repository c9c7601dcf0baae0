"""Pages of the access app: login, the home page each role lands on, and the audit trail."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from safetynet.access import services
from safetynet.access.roles import Role


class LoginView(auth_views.LoginView):
    template_name = "access/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    actor = services.Actor.from_request(request, "audit review")
    username = request.GET.get("username", "").strip()[:150]
    object_id = request.GET.get("object_id", "").strip()[:64]
    try:
        entries = services.audit_trail(actor, username=username, object_id=object_id)
    except PermissionDenied:
        return render(request, "forbidden.html", status=403)
    return render(
        request, "access/audit.html", {"entries": entries, "username": username, "object_id": object_id}
    )


class UserForm(forms.Form):
    username = forms.RegexField(label="用户名", regex=r"^[A-Za-z0-9_.@-]{3,150}$", max_length=150)
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
