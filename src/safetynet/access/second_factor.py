"""A TOTP second factor (django-otp) for the roles that hold most power over personal data."""

from __future__ import annotations

import base64

import django_otp
import qrcode
import qrcode.image.svg
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from safetynet.access.models import User
from safetynet.access.services import Actor, record


def device_for(user: User) -> TOTPDevice:
    """The user's authenticator: the confirmed one, else the one being enrolled (made on first visit)."""
    found = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "id").first()
    return found or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def enrolment(device: TOTPDevice) -> dict[str, str]:
    """What a person needs to add the key to an app: a QR code (inline SVG) and the key in letters."""
    qr = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return {
        "qr_svg": qr.to_string(encoding="unicode"),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
    }


def confirm(request: HttpRequest, device: TOTPDevice, code: str) -> bool:
    """Check a code; on success the device is confirmed (first time) and this session is verified."""
    actor = Actor.from_request(request, "second factor")
    if not device.verify_token(code):
        record(actor, "second_factor_failed", "user", actor.user.get_username())
        return False
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record(actor, "second_factor_enrolled", "user", actor.user.get_username())
    django_otp.login(request, device)
    record(actor, "second_factor", "user", actor.user.get_username())
    return True
