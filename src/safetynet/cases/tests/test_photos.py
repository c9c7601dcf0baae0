"""Verification photos: real images stored privately and read back scoped; anything else refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from safetynet import testing
from safetynet.access import encryption
from safetynet.access.models import AuditEntry
from safetynet.access.services import Actor
from safetynet.cases.models import Photo
from safetynet.leads import services as leads
from safetynet.leads.models import Channel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
JPEG = testing.picture("JPEG")
PNG = testing.picture("PNG")
VISIT = {
    "action": "verify",
    "version": "0",
    "visited_on": "2026-01-05",
    "situation": "房屋漏雨",
    "monthly_income": "600",
    "monthly_expense": "0",
    "hardship": "yes",
    "wants_help": "yes",
    "can_apply": "no",
}


@pytest.fixture
def case_id(county, make_user, settings, tmp_path) -> int:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    hotline = Actor(user=make_user("hotline", "hotline", "371522000000"), purpose="test")
    lead = leads.report(
        hotline, leads.LeadInput(Channel.HOTLINE, "房屋漏雨", {"name": "王建国", "phone": "13812345678"})
    )
    assert lead.case_id
    return lead.case_id


def _town(make_user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("town", "township", "371522100000"))
    return client


def test_photos_with_the_visit_then_more_then_read_back(case_id, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    town = _town(make_user)
    early = town.post(f"/api/cases/{case_id}/photos", {"files": [SimpleUploadedFile("a.jpg", JPEG)]})
    assert early.status_code == 422 and "先记录实地查访" in early.json()["detail"]
    page = town.post(
        f"/cases/{case_id}/",
        {**VISIT, "photos": [SimpleUploadedFile("../../etc/passwd.jpg", JPEG, "image/jpeg")]},
        follow=True,
    )
    assert "已保存 1 张查访照片" in page.content.decode()
    more = town.post(f"/api/cases/{case_id}/photos", {"files": [SimpleUploadedFile("b.png", PNG)]})
    assert more.status_code == 200 and more.json()[0]["content_type"] == "image/png"
    stored = list(Photo.objects.order_by("id"))
    assert [p.content_type for p in stored] == ["image/jpeg", "image/png"]
    assert all(".." not in p.path and "passwd" not in p.path for p in stored)  # our names, not theirs
    # kept encrypted (tests/test_file_modes.py), re-encoded (test_a_photo_keeps_its_picture…)
    kept = encryption.unseal((tmp_path / stored[0].path).read_bytes(), stored[0].path)
    assert kept.startswith(b"\xff\xd8\xff") and stored[0].size == len(kept)
    shown = town.get(f"/cases/{case_id}/photos/{stored[0].pk}/")
    assert shown.status_code == 200 and shown.content == kept and shown["Content-Type"] == "image/jpeg"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.filter(action="read", object_type="case_photo").count() == 1
    assert "本人能否自行申请：否" in town.get(f"/cases/{case_id}/").content.decode()


def test_anything_but_an_image_is_refused_and_nothing_kept(case_id, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    town = _town(make_user)
    town.post(f"/cases/{case_id}/", VISIT)
    url = f"/api/cases/{case_id}/photos"
    hostile = [
        (b"<svg onload=alert(1)></svg>", "不是 JPEG"),
        (b"<html><script>alert(1)</script>", "不是 JPEG"),
        (b"MZ\x90\x00" + b"\x00" * 100, "不是 JPEG"),
        (b"", "不是 JPEG"),
        (b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024), "超过"),
    ]
    for content, reason in hostile:
        files = [SimpleUploadedFile("ok.jpg", JPEG), SimpleUploadedFile("x.jpg", content, "image/jpeg")]
        response = town.post(url, {"files": files})
        assert response.status_code == 422 and reason in response.json()["detail"], response.content
    assert not Photo.objects.exists()
    assert not [f for f in (tmp_path / "photos").rglob("*") if f.is_file()]  # no file kept either
    many = town.post(url, {"files": [SimpleUploadedFile(f"{n}.jpg", JPEG) for n in range(21)]})
    assert many.status_code == 422 and "最多 20 张" in many.json()["detail"]


def test_photos_are_scoped(case_id, make_user) -> None:  # type: ignore[no-untyped-def]
    town = _town(make_user)
    town.post(f"/cases/{case_id}/", VISIT)
    town.post(f"/api/cases/{case_id}/photos", {"files": [SimpleUploadedFile("a.jpg", JPEG)]})
    photo = Photo.objects.get()
    other = Client()
    other.force_login(make_user("guan", "township", "371522101000"))
    assert other.get(f"/cases/{case_id}/photos/{photo.pk}/").status_code == 404
    assert (
        other.post(f"/api/cases/{case_id}/photos", {"files": [SimpleUploadedFile("a.jpg", JPEG)]}).status_code
        == 403
    )
    ngo = Client()
    ngo.force_login(make_user("ngo", "social_org", "371522000000"))
    assert ngo.get(f"/cases/{case_id}/photos/{photo.pk}/").status_code == 403
    assert town.get(f"/cases/{case_id + 1}/photos/{photo.pk}/").status_code == 404  # photo of another case id


def test_a_photo_keeps_its_picture_and_loses_its_gps(case_id, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    town = _town(make_user)
    sent = testing.picture("JPEG", gps=True, size=(80, 40))
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif().get_ifd(0x8825)  # the phone's GPS position is in what was sent
    town.post(f"/cases/{case_id}/", {**VISIT, "photos": SimpleUploadedFile("p.jpg", sent)})
    photo = Photo.objects.get(case_id=case_id)
    stored = encryption.unseal((tmp_path / photo.path).read_bytes(), photo.path)
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert not kept.getexif() and kept.size == (40, 80)  # upright, as the phone showed it
    bomb = testing.picture("PNG", size=(8000, 7000))
    refused = town.post(f"/api/cases/{case_id}/photos", {"files": [SimpleUploadedFile("b.png", bomb)]})
    assert refused.status_code == 422 and "像素过多" in refused.json()["message"]
