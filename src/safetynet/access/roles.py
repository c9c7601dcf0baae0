"""The roles of DESIGN.md and what each may do; one table so a reviewer sees the whole policy at once."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Capabilities:
    reads_registry: bool = False  # person and household details in their region
    sees_full_identifiers: bool = False  # whole ID numbers and phones instead of masked ones
    reads_audit: bool = False
    reads_statistics: bool = False
    administers_feeds: bool = False  # departmental batches and their quarantined raw rows
    runs_screening: bool = False  # starts data comparison runs
    tunes_rules: bool = False  # edits the rule pack, runs dry runs and comparisons
    verifies_leads: bool = False  # records whether a warning proved founded
    home_levels: tuple[str, ...] = ("province", "city", "county", "township", "village")


CAPABILITIES: dict[str, Capabilities] = {
    Role.COORDINATOR: Capabilities(reads_registry=True, verifies_leads=True, home_levels=("village",)),
    Role.TOWNSHIP: Capabilities(
        reads_registry=True,
        sees_full_identifiers=True,
        reads_statistics=True,
        verifies_leads=True,
        home_levels=("township",),
    ),
    Role.COUNTY: Capabilities(
        reads_registry=True,
        sees_full_identifiers=True,
        reads_statistics=True,
        administers_feeds=True,
        runs_screening=True,
        verifies_leads=True,
        home_levels=("county",),
    ),
    Role.COUNTY_ADMIN: Capabilities(
        reads_registry=True,
        sees_full_identifiers=True,
        reads_audit=True,
        reads_statistics=True,
        administers_feeds=True,
        runs_screening=True,
        tunes_rules=True,
        verifies_leads=True,
        home_levels=("county",),
    ),
    # The hotline matches callers against the registry but reads identifiers masked, over the phone.
    Role.HOTLINE: Capabilities(reads_registry=True, home_levels=("county",)),
    # Social organisations submit leads and see only their own leads' status: never the registry.
    Role.SOCIAL_ORG: Capabilities(),
    Role.LIAISON: Capabilities(home_levels=("county", "city", "province")),
    Role.LEADER: Capabilities(reads_statistics=True, home_levels=("county", "city", "province")),
    Role.AUDITOR: Capabilities(reads_audit=True),
}


def capabilities(role: str) -> Capabilities:
    return CAPABILITIES.get(role, Capabilities())
