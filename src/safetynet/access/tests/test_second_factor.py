"""County administrators and auditors confirm each sign-in with a TOTP code before anything answers."""

from __future__ import annotations

import base64
import time

import pytest
from django.test import Client
from django_otp.oath import TOTP

from safetynet.access.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
ADMIN_PAGES = ["/", "/users/", "/cases/settings/", "/screening/rules/", "/lake/", "/audit/", "/linkage/settings/"]


def _code(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


@pytest.fixture(autouse=True)
def _second_factor_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAFETYNET_SECOND_FACTOR_ROLES = ("county_admin", "auditor")


def test_an_administrator_reaches_nothing_before_the_second_factor(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "county_admin", "371522000000")
    admin = Client()
    assert admin.post("/login/", {"username": "admin", "password": PASSWORD}).status_code == 302
    for page in ADMIN_PAGES:
        response = admin.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/2fa/"), page
    api = admin.get("/api/cases")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"

    enrol = admin.get("/2fa/").content.decode()
    secret = enrol.split('data-testid="secret">')[1].split("<")[0]
    assert "<svg" in enrol and len(secret) >= 16
    wrong = admin.post("/2fa/?next=/users/", {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and admin.get("/users/").status_code == 302
    time.sleep(1.2)  # a wrong code throttles the next try for a second (django-otp), as for a guesser
    done = admin.post("/2fa/?next=/users/", {"code": _code(secret)})
    assert done.status_code == 302 and done["Location"] == "/users/"
    assert all(admin.get(page).status_code == 200 for page in ADMIN_PAGES)
    actions = set(AuditEntry.objects.filter(username="admin").values_list("action", flat=True))
    assert {"second_factor_failed", "second_factor_enrolled", "second_factor"} <= actions

    # The next sign-in asks for a code again, and no longer shows the key.
    again = Client()
    again.post("/login/", {"username": "admin", "password": PASSWORD})
    assert again.get("/users/").status_code == 302
    page = again.get("/2fa/").content.decode()
    assert 'data-testid="secret"' not in page
    assert again.post("/2fa/", {"code": _code(secret)}).status_code in (302, 422)  # a code is used once
    assert "//evil.example" not in again.post("/2fa/?next=//evil.example/", {"code": "12"}).get("Location", "")


def test_other_roles_are_not_asked(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("town", "township", "371522100000")
    town = Client()
    town.post("/login/", {"username": "town", "password": PASSWORD})
    assert town.get("/cases/inbox/").status_code == 200
