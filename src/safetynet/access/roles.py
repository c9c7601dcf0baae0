"""The roles of the system and where each works; what each may do is `access.permissions`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("village coordinator")
    TOWNSHIP = "township", _("township staff")
    COUNTY = "county", _("county staff")
    COUNTY_ADMIN = "county_admin", _("county administrator")
    HOTLINE = "hotline", _("hotline operator")
    SOCIAL_ORG = "social_org", _("social organisation")
    LIAISON = "liaison", _("department liaison")
    LEADER = "leader", _("leader / analyst")
    AUDITOR = "auditor", _("auditor")


# The region levels a role's account may be bound to.
HOME_LEVELS: dict[str, tuple[str, ...]] = {
    Role.COORDINATOR: ("village",),
    Role.TOWNSHIP: ("township",),
    Role.COUNTY: ("county",),
    Role.COUNTY_ADMIN: ("county",),
    Role.HOTLINE: ("county",),
    Role.SOCIAL_ORG: ("province", "city", "county", "township", "village"),
    Role.LIAISON: ("county", "city", "province"),
    Role.LEADER: ("county", "city", "province"),
    Role.AUDITOR: ("province", "city", "county", "township", "village"),
}
