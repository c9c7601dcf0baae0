"""Sign-in as a bureau must have it: strong passwords, a change-password page, idle sign-out, a cap on
sessions, no copies of personal pages kept, only the site's own scripts, and HTTPS behind a TLS proxy."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from safetynet.access.models import AuditEntry, UserSession

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def _signed_in(username: str) -> Client:
    client = Client()
    assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_passwords_are_long_and_uncommon_and_can_be_changed(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("town", "township", "371522100000")
    client = _signed_in("town")
    page = client.get("/password/")
    assert page.status_code == 200 and "12" in page.content.decode()
    for weak, reason in (("short-pw-1", "太短"), ("password1234", "太常见")):
        refused = client.post(
            "/password/", {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak}
        )
        assert refused.status_code == 200 and reason in refused.content.decode(), weak
    other = _signed_in("town")  # a second session of the same account
    strong = "东王村-核实-2026-九月"
    done = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong}
    )
    assert done.status_code == 302
    assert AuditEntry.objects.filter(username="town", action="password_change").exists()
    assert other.get("/cases/inbox/").status_code == 302  # the other session ended: sign in again
    assert client.get("/cases/inbox/").status_code == 200


def test_idle_sessions_end_and_an_account_holds_three_at_most(county, make_user) -> None:  # type: ignore[no-untyped-def]
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    make_user("town", "township", "371522100000")
    clients = [_signed_in("town") for _ in range(4)]
    assert UserSession.objects.filter(user__username="town").count() == 3
    assert clients[0].get("/cases/inbox/").status_code == 302  # the oldest was signed out
    assert all(c.get("/cases/inbox/").status_code == 200 for c in clients[1:])
    assert Session.objects.count() == 3


def test_personal_pages_are_not_kept_and_run_only_the_sites_scripts(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("town", "township", "371522100000")
    client = _signed_in("town")
    page = client.get("/registry/households/H001/")
    assert page["Cache-Control"] == "no-store"
    assert (
        "script-src" not in page["Content-Security-Policy"]
        and "default-src 'self'" in page["Content-Security-Policy"]
    )
    body = page.content.decode()
    assert "onchange=" not in body and "style=" not in body and "<script>" not in body


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31_536_000,
    ALLOWED_HOSTS=["safetynet.county.example"],
)
def test_behind_a_tls_proxy_sign_in_passes_the_csrf_check(county, make_user) -> None:  # type: ignore[no-untyped-def]
    """What SAFETYNET_HTTPS=1 sets (settings.py): the proxy terminates TLS and says so in a header."""
    make_user("town", "township", "371522100000")
    browser = Client(enforce_csrf_checks=True, HTTP_HOST="safetynet.county.example")
    proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_ORIGIN": "https://safetynet.county.example"}
    form = browser.get("/login/", **proxied)
    assert form["Strict-Transport-Security"].startswith("max-age=31536000")
    token = browser.cookies["csrftoken"].value
    signed_in = browser.post(
        "/login/", {"username": "town", "password": PASSWORD, "csrfmiddlewaretoken": token}, **proxied
    )
    assert signed_in.status_code == 302, signed_in.content[:300]
    assert browser.cookies["sessionid"]["secure"]
    # The same request that does not come through the TLS proxy is refused (a forged origin).
    direct = Client(enforce_csrf_checks=True, HTTP_HOST="safetynet.county.example")
    direct.get("/login/")
    refused = direct.post(
        "/login/",
        {"username": "town", "password": PASSWORD, "csrfmiddlewaretoken": direct.cookies["csrftoken"].value},
        HTTP_ORIGIN="https://evil.example",
    )
    assert refused.status_code == 403
