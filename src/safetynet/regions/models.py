"""The administrative tree (province > city > county > township > village) keyed by 12-digit codes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("province")
    CITY = "city", _("city")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")


# How many leading digits of a 12-digit code identify a region of each level; a region's subtree is
# every code sharing that prefix, so scoping is a range scan on an indexed column, not a tree walk.
PREFIX_LENGTH = {Level.PROVINCE: 2, Level.CITY: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}
LEVEL_ORDER = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE]


class Region(models.Model):
    code = models.CharField(max_length=12, primary_key=True)
    name = models.CharField(max_length=100)
    level = models.CharField(max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH[Level(self.level)]]


class Boundary(models.Model):
    """A region's outline for the leaders' map: one GeoJSON feature (Polygon or MultiPolygon, WGS 84
    longitude/latitude), imported from a county's own file (`safetynet regions boundaries FILE`)."""

    region = models.OneToOneField(Region, on_delete=models.CASCADE, primary_key=True, related_name="boundary")
    feature = models.JSONField()
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"boundary of {self.region_id}"
