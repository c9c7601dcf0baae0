"""API routes of the access app: who am I."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from safetynet.apierrors import answers

router = Router(tags=["access"])


class MeOut(Schema):
    username: str
    role: str
    region_code: str | None
    region_name: str | None


@router.get("/me", response=answers(MeOut))
def me(request: HttpRequest) -> MeOut:
    user = request.user
    region = getattr(user, "region", None)
    return MeOut(
        username=user.get_username(),
        role=getattr(user, "role", ""),
        region_code=region.code if region else None,
        region_name=region.name if region else None,
    )
