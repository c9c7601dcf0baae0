"""Photos of a verification visit (实地查访, optional): checked by content, stored encrypted, read scoped.

The type comes from the file's first bytes (JPEG, PNG or WebP), never from its name or the browser's
claim; the stored name is ours. Each is read back only through the case's region scope, and audited.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from PIL import Image, ImageOps

from safetynet.access import encryption
from safetynet.access.permissions import Cap, require
from safetynet.access.services import Actor, PersonalDataScope, record
from safetynet.cases.actions import StepRejected
from safetynet.cases.models import Case, Photo, Step

MAX_BYTES = 8 * 1024 * 1024  # a phone camera's JPEG is 2–5 MB
MAX_PER_CASE = 20
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def _kind(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
MAX_PIXELS = 50_000_000  # a phone's photo is 12–50 million pixels; more is a decompression bomb


def reencoded(content: bytes, ext: str, number: int) -> bytes:
    """The picture alone, drawn again: EXIF (the GPS position of the household's home, the phone's
    serial), comments and any bytes hidden after the image are dropped; the orientation is applied first,
    so the photo still stands the right way up."""
    try:
        image = Image.open(io.BytesIO(content))
    except (OSError, ValueError, Image.DecompressionBombError):
        raise StepRejected(f"第 {number} 张照片无法读取（文件损坏或格式不符）") from None
    if image.width * image.height > MAX_PIXELS:  # known from the header, before any pixel is decoded
        raise StepRejected(f"第 {number} 张照片像素过多，请压缩后再传")
    try:
        with image:
            upright = ImageOps.exif_transpose(image)
            if ext == "jpg" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, FORMATS[ext], **({"quality": 90} if ext != "png" else {}))
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise StepRejected(f"第 {number} 张照片无法读取（文件损坏或格式不符）") from None


def attach(actor: Actor, case_id: int, files: list[bytes]) -> list[Photo]:
    """Store the photos of the case's latest verification visit; all or none."""
    require(actor, Cap.ADD_PHOTOS, target=f"case {case_id}")
    scope = PersonalDataScope(actor)
    case = scope.restrict(Case.objects.all(), "region_code").filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied("no such case in your region")
    step = Step.objects.filter(case=case, action="verify").order_by("-id").first()
    if step is None:
        raise StepRejected("请先记录实地查访，再上传查访照片")
    checked = []
    for number, content in enumerate(files, 1):
        if len(content) > MAX_BYTES:
            raise StepRejected(f"第 {number} 张照片超过 {MAX_BYTES // 1024 // 1024} MB，请压缩后再传")
        kind = _kind(content[:16])
        if kind is None:
            raise StepRejected(f"第 {number} 个文件不是 JPEG、PNG 或 WebP 图片")
        checked.append((reencoded(content, kind[1], number), *kind))
    folder = settings.DATA_DIR / "photos" / str(case.pk)
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Photo] = []
    written = []
    try:
        with transaction.atomic():
            # Uploads to one case take turns, so two at once cannot both pass the cap.
            Case.objects.select_for_update().filter(pk=case.pk).first()
            if Photo.objects.filter(case=case).count() + len(checked) > MAX_PER_CASE:
                raise StepRejected(f"每个个案最多 {MAX_PER_CASE} 张照片")
            for content, content_type, ext in checked:
                relative = f"photos/{case.pk}/{uuid.uuid4().hex}.{ext}"
                target = settings.DATA_DIR / relative
                target.write_bytes(encryption.seal(content, relative))  # AES-GCM at rest
                written.append(target)
                saved.append(
                    Photo.objects.create(
                        case=case,
                        step=step,
                        path=relative,
                        content_type=content_type,
                        size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(),
                        uploaded_by=actor.user,
                    )
                )
            record(
                actor,
                "case_photos",
                "case",
                str(case.pk),
                region_code=case.region_code,
                detail=str(len(saved)),
            )
    except BaseException:
        for target in written:  # nothing half-kept: the rows rolled back, so do the files
            target.unlink(missing_ok=True)
        raise
    return saved


@dataclass(frozen=True)
class PhotoFile:
    content: bytes
    content_type: str


def read(actor: Actor, case_id: int, photo_id: int) -> PhotoFile | None:
    require(actor, Cap.READ_CASES)
    scope = PersonalDataScope(actor)
    photo = (
        scope.restrict(Photo.objects.select_related("case"), "case__region_code")
        .filter(pk=photo_id, case_id=case_id)
        .first()
    )
    if photo is None:
        return None
    scope.audit_read("case_photo", str(photo.pk), photo.case.region_code)
    content = encryption.unseal((settings.DATA_DIR / photo.path).read_bytes(), photo.path)
    return PhotoFile(content, photo.content_type)
