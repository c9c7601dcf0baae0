"""Staff pages speak Chinese: every page of the route walk, for every role, is scanned for internal codes,
English words and raw booleans in what a person reads. Not scanned: attributes (a code may sit in a title
for hover, a value for a form), what people typed (textarea), and what is marked technical on purpose —
`<code>` (a rule's id beside its title, a field name the rules editor refers to) and `translate="no"`
(user names, object ids)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from safetynet.access.tests.test_scoped_routes import (
    PUBLIC,
    all_routes,
    declare_campaign,
    fill,
    queue_review_for,
)
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db

ROLES = {
    "coordinator": "371522100201",
    "township": "371522100000",
    "county": "371522000000",
    "county_admin": "371522000000",
    "hotline": "371522000000",
    "social_org": "371522000000",
    "liaison": "371522000000",
    "leader": "371500000000",
    "auditor": "371522000000",
}
CODE = re.compile(r"(?<![A-Za-z0-9_.@/-])[a-z_]{4,}(?![A-Za-z0-9_.@/-])|\b(?:True|False|None)\b")
HIDDEN = re.compile(r"<(script|style|textarea|code|pre)\b.*?</\1>|<(\w+)\b[^>]*\btranslate=\"no\"[^>]*>.*?</\2>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    return html.unescape(TAG.sub(" ", HIDDEN.sub(" ", page)))


def test_no_staff_page_shows_a_code_an_english_word_or_a_raw_boolean(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    for person in Person.objects.filter(name__in=["王建国", "张桂兰"]):
        queue_review_for(person)
    from safetynet.policies.services import seed_catalog

    seed_catalog("371522")
    declare_campaign(make_user("campaigns", "county", "371522000000"))
    found: dict[str, set[str]] = {}
    for role, region in ROLES.items():
        client = Client()
        client.force_login(make_user(f"walk-{role}", role, region))
        for route in all_routes():
            if route in PUBLIC or route.startswith("api/") or route.startswith("i18n/"):
                continue
            response = client.get(fill(route, "H001"))
            if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
                continue
            words = set(CODE.findall(visible_text(response.content.decode())))
            if words:
                found.setdefault(route, set()).update(words)
    assert not found, "\n".join(f"{route}: {sorted(words)}" for route, words in sorted(found.items()))
