"""Policy pages and API: CSRF on the forms, county staff only for edits, NGO refused everywhere, and the
notification letter as a PDF whose text is checked (masked ID for a village coordinator)."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from pypdf import PdfReader

from safetynet.access.masking import mask_id_number
from safetynet.access.models import AuditEntry
from safetynet.cases.models import Case
from safetynet.policies import services
from safetynet.policies.models import Policy
from safetynet.registry.models import Household

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
COUNTY = "371522"


@pytest.fixture
def catalog(household_facts) -> None:  # type: ignore[no-untyped-def]
    services.seed_catalog(COUNTY)


@pytest.fixture
def case_h001(catalog) -> Case:  # type: ignore[no-untyped-def]
    return Case.objects.create(household_id="H001", region_code="371522100201")


def login(make_user, name: str, role: str, region: str, csrf: bool = False) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(make_user(name, role, region))
    return client


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


FORM = {
    "code": "heating",
    "title": "冬季取暖补贴",
    "department": "civil_affairs",
    "summary": "冬季取暖",
    "how_to_apply": "向乡镇提出",
    "contacts": "县民政局",
    "active": "on",
    "fact": ["income_ratio", "has_elderly_60", ""],
    "op": ["<=", "==", "<"],
    "value": ["1.5", "是", ""],
}


def test_forms_need_csrf_and_show_errors_in_chinese(catalog, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = login(make_user, "admin", "county_admin", "371522000000", csrf=True)
    page = admin.get("/policies/")
    assert page.status_code == 200 and "最低生活保障" in page.content.decode()
    assert "/policies/new/" in page.content.decode()  # county staff see the edit links
    before = Policy.objects.count()
    assert admin.post("/policies/new/", FORM).status_code == 403  # no CSRF token
    assert Policy.objects.count() == before
    admin.get("/policies/new/")
    token = admin.cookies["csrftoken"].value

    bad = dict(FORM, value=["很低", "是", ""], csrfmiddlewaretoken=token)
    refused = admin.post("/policies/new/", bad)
    assert refused.status_code == 422
    body = refused.content.decode()
    assert "第 1 行条件：「人均收入与低保标准之比」的值应为数字，收到「很低」" in body
    assert 'value="冬季取暖补贴"' in body  # what was typed is kept
    assert Policy.objects.count() == before

    saved = admin.post("/policies/new/", dict(FORM, csrfmiddlewaretoken=token))
    assert saved.status_code == 302
    policy = Policy.objects.get(code="heating")
    assert policy.conditions == [
        {"fact": "income_ratio", "op": "<=", "value": 1.5},
        {"fact": "has_elderly_60", "op": "==", "value": True},
    ]
    edit = admin.get(f"/policies/{policy.pk}/edit/").content.decode()
    assert 'value="1.5"' in edit and 'value="是"' in edit
    changed = dict(FORM, title="冬季取暖补助", version="0", csrfmiddlewaretoken=token)
    assert admin.post(f"/policies/{policy.pk}/edit/", changed).status_code == 302
    stale = admin.post(f"/policies/{policy.pk}/edit/", dict(changed, title="旧稿"))
    assert stale.status_code == 422 and "已被他人修改" in stale.content.decode()
    assert Policy.objects.get(pk=policy.pk).title == "冬季取暖补助"
    assert AuditEntry.objects.filter(action__in=["create_policy", "update_policy"]).count() == 2

    village = login(make_user, "coord", "coordinator", "371522100201")
    listing = village.get("/policies/")
    assert listing.status_code == 200 and "冬季取暖补助" in listing.content.decode()
    assert "/policies/new/" not in listing.content.decode()
    assert village.get("/policies/new/").status_code == 403
    assert village.get(f"/policies/{policy.pk}/edit/").status_code == 403


def test_api_catalog_match_and_edits(catalog, make_user) -> None:  # type: ignore[no-untyped-def]
    village = login(make_user, "coord", "coordinator", "371522100201")
    listed = village.get("/api/policies").json()
    assert len(listed) == Policy.objects.count() and {"民政局", "医保局", "残联"} <= {
        p["department_label"] for p in listed
    }
    matched = village.get("/api/policies/match/H001")
    assert matched.status_code == 200
    dibao = next(m for m in matched.json() if m["code"] == "dibao")
    assert dibao["why"].startswith("家庭人均月收入 366.67 元，低于低保标准 780 元")
    assert village.get("/api/policies/match/H002").status_code == 404  # another village
    body = {"code": "x1", "title": "t", "department": "civil_affairs"}
    assert village.post("/api/policies", body, content_type="application/json").status_code == 403

    admin = login(make_user, "admin", "county_admin", "371522000000", csrf=True)
    admin.get("/policies/")
    token = admin.cookies["csrftoken"].value
    body = {
        "code": "heating",
        "title": "冬季取暖补贴",
        "department": "civil_affairs",
        "conditions": [{"fact": "income_ratio", "op": "<=", "value": 1.5}],
    }

    def send(method: str, url: str, data: dict, csrf: bool = True):  # type: ignore[no-untyped-def]
        headers = {"HTTP_X_CSRFTOKEN": token} if csrf else {}
        return getattr(admin, method)(url, json.dumps(data), content_type="application/json", **headers)

    assert send("post", "/api/policies", body, csrf=False).status_code == 403
    hostile = send(
        "post", "/api/policies", dict(body, conditions=[{"fact": "__import__('os')", "op": "==", "value": 1}])
    )
    assert hostile.status_code == 422 and "未知的条件项" in hostile.json()["detail"]
    sql = send("post", "/api/policies", dict(body, conditions="'; DROP TABLE policies_policy; --"))
    assert sql.status_code == 422 and "JSON" in sql.json()["detail"]
    assert not Policy.objects.filter(code="heating").exists()
    created = send("post", "/api/policies", body)
    assert created.status_code == 201 and created.json()["condition_texts"] == [
        "人均收入与低保标准之比 ≤ 1.5倍"
    ]
    url = f"/api/policies/{created.json()['policy_id']}"
    updated = send("put", url, dict(body, title="冬季取暖补助", version=0))
    assert updated.status_code == 200 and updated.json()["version"] == 1
    assert send("put", url, dict(body, title="旧稿", version=0)).status_code == 409
    assert admin.get(url).json()["title"] == "冬季取暖补助"


def test_social_organisations_get_403_on_every_policies_route(case_h001, make_user) -> None:  # type: ignore[no-untyped-def]
    ngo = login(make_user, "ngo", "social_org", "371522000000")
    policy = Policy.objects.first()
    assert policy is not None
    for url in (
        "/policies/",
        "/policies/new/",
        f"/policies/{policy.pk}/edit/",
        f"/cases/{case_h001.pk}/letter/",
        f"/cases/{case_h001.pk}/letter/?policy=dibao",
        "/api/policies",
        "/api/policies/match/H001",
        f"/api/policies/{policy.pk}",
    ):
        response = ngo.get(url)
        assert response.status_code == 403, url
        assert "王建国" not in response.content.decode(errors="replace")
    body = {"code": "x1", "title": "t", "department": "civil_affairs"}
    assert ngo.post("/api/policies", body, content_type="application/json").status_code == 403
    anonymous = Client()
    assert anonymous.get(f"/cases/{case_h001.pk}/letter/").status_code == 302


def test_notification_letter_pdf(case_h001, make_user) -> None:  # type: ignore[no-untyped-def]
    head = Household.objects.get(pk="H001").head_id_number
    village = login(make_user, "coord", "coordinator", "371522100201")
    village_user = village.session["_auth_user_id"]
    from safetynet.access.models import User

    User.objects.filter(pk=village_user).update(first_name="王秀兰")  # letters are signed by name
    response = village.get(f"/cases/{case_h001.pk}/letter/", {"policy": ["dibao", "elderly_allowance"]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="notification-case-') and disposition.isascii()
    data = response.content
    assert data.startswith(b"%PDF") and 2_000 < len(data) < 500_000
    text = pdf_text(data)
    for expected in (
        "社会救助政策告知书",
        "王建国",
        "莘县燕店镇东王村",
        "最低生活保障",
        "高龄津贴",
        "本人签字",
        "告知人（工作人员）：王秀兰",
    ):
        assert expected in text, expected
    assert "家庭人均月收入 366.67 元，低于低保标准 780 元" in text
    assert services.STAFF_JUDGEMENT in text  # 高龄津贴 does not fit by the registry: the clerk chose it
    assert "有权申请，也有权不申请" in text
    assert mask_id_number(head) in text and head not in text  # a coordinator sees the ID masked
    entry = AuditEntry.objects.get(action="notification_letter")
    assert entry.object_id == str(case_h001.pk) and "dibao,elderly_allowance" in entry.detail

    assert text.count("东王村") == 1  # the address once, not the region's names and then the address again
    # A township clerk sees the whole ID; without a choice the letter lists every fitting policy.
    town = login(make_user, "town", "township", "371522100000")
    whole = pdf_text(town.get(f"/cases/{case_h001.pk}/letter/").content)
    assert head in whole and "家庭经济困难学生资助" in whole and "高龄津贴" not in whole

    unknown = village.get(f"/cases/{case_h001.pk}/letter/", {"policy": "nope<script>"})
    assert unknown.status_code == 422 and "本县政策目录中没有在用的政策" in unknown.content.decode()
    assert "<script>" not in unknown.content.decode()
    other = login(make_user, "coord2", "coordinator", "371522100202")  # 西李村
    assert other.get(f"/cases/{case_h001.pk}/letter/").status_code == 404
    assert village.get("/cases/999999/letter/").status_code == 404
    assert AuditEntry.objects.filter(action="notification_letter").count() == 2
