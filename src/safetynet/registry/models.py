"""The civil-affairs registry: households, persons, assistance, applications and local standards.

Columns follow the registry files of docs/data-contract.md one to one, so an import is a plain column mapping.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaType(models.TextChoices):
    URBAN = "urban", _("urban")
    RURAL = "rural", _("rural")


class Gender(models.TextChoices):
    M = "M", _("male")
    F = "F", _("female")


class Relation(models.TextChoices):
    HEAD = "head", _("head")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other")


class DisabilityType(models.TextChoices):
    NONE = "", _("none")
    VISUAL = "visual", _("visual")
    HEARING = "hearing", _("hearing")
    SPEECH = "speech", _("speech")
    PHYSICAL = "physical", _("physical")
    INTELLECTUAL = "intellectual", _("intellectual")
    MENTAL = "mental", _("mental")
    MULTIPLE = "multiple", _("multiple")


class SelfCare(models.TextChoices):
    FULL = "full", _("full")
    PARTIAL = "partial", _("partial")
    NONE = "none", _("none")


class Employment(models.TextChoices):
    EMPLOYED = "employed", _("employed")
    FARMER = "farmer", _("farmer")
    UNEMPLOYED = "unemployed", _("unemployed")
    STUDENT = "student", _("student")
    RETIRED = "retired", _("retired")
    UNABLE = "unable", _("unable to work")
    CHILD = "child", _("child")


class Program(models.TextChoices):
    DIBAO = "dibao", _("dibao")
    TEKUN = "tekun", _("tekun")
    DIBAO_EDGE = "dibao_edge", _("dibao edge")
    RIGID_EXPENSE = "rigid_expense", _("rigid expense")
    RELAPSE_MONITORING = "relapse_monitoring", _("relapse monitoring")
    TEMPORARY = "temporary", _("temporary assistance")
    MEDICAL = "medical", _("medical assistance")
    EDUCATION = "education", _("education assistance")
    HOUSING = "housing", _("housing assistance")
    EMPLOYMENT = "employment", _("employment assistance")


class AssistanceStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    ENDED = "ended", _("ended")


class Decision(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


COVERING_PROGRAMS = (Program.DIBAO, Program.TEKUN)


class Household(models.Model):
    household_id = models.CharField(max_length=32, primary_key=True)
    # A plain indexed code, not a foreign key: the scoped layer range-scans it, and imports check it.
    region_code = models.CharField(max_length=12, db_index=True)
    address = models.CharField(max_length=200, blank=True)
    area_type = models.CharField(max_length=5, choices=AreaType.choices)
    head_id_number = models.CharField(max_length=18)

    def __str__(self) -> str:
        return self.household_id


class Person(models.Model):
    id_number = models.CharField(max_length=18, primary_key=True)
    name = models.CharField(max_length=50, db_index=True)
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_date = models.DateField()
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    relation = models.CharField(max_length=10, choices=Relation.choices)
    phone = models.CharField(max_length=20, blank=True, db_index=True)
    disability_level = models.PositiveSmallIntegerField(default=0)
    disability_type = models.CharField(max_length=12, choices=DisabilityType.choices, blank=True)
    self_care = models.CharField(max_length=7, choices=SelfCare.choices, default=SelfCare.FULL)
    serious_illness = models.BooleanField(default=False)
    employment = models.CharField(max_length=10, choices=Employment.choices)
    monthly_income = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Filled from the deaths feed by later issues; a dead person counts as a member for nothing.
    death_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            # A list's search box finds households by the beginning of a member's name: on PostgreSQL the
            # prefix is read from this index alone, without visiting the 70,000 rows of a common surname.
            models.Index(
                fields=["name", "household"],
                name="registry_person_name_house",
                opclasses=["varchar_pattern_ops", "varchar_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.name


class Assistance(models.Model):
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="assistance", db_column="id_number"
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="assistance")
    program = models.CharField(max_length=20, choices=Program.choices)
    status = models.CharField(max_length=6, choices=AssistanceStatus.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    monthly_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # '' for a row of assistance.csv; a grant recorded by a case names its step (case:12:step:34), so
    # three temporary payments to one household on one day are three records, and a retry is none.
    reference = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            # The natural key of a row in assistance.csv, which makes re-imports idempotent.
            models.UniqueConstraint(
                fields=["person", "household", "program", "start_date", "reference"],
                name="assistance_natural_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.household_id} {self.start_date}"


class Application(models.Model):
    application_id = models.CharField(max_length=32, primary_key=True)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="applications")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="applications", db_column="id_number"
    )
    program = models.CharField(max_length=20, choices=Program.choices)
    applied_on = models.DateField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.application_id


class Standard(models.Model):
    """A county's assistance standard (低保标准) for one year and area type."""

    county_code = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    area_type = models.CharField(max_length=5, choices=AreaType.choices)
    dibao_monthly = models.DecimalField(max_digits=10, decimal_places=2)
    tekun_monthly = models.DecimalField(max_digits=10, decimal_places=2)
    edge_multiplier = models.DecimalField(max_digits=5, decimal_places=2)
    rigid_expense_ratio = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county_code", "year", "area_type"], name="standard_natural_key")
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.year} {self.area_type}"


class ImportBatch(models.Model):
    """One `safetynet registry import`: what came in, from whom, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        REJECTED = "rejected", _("rejected")

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    source_dir = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64, db_index=True)
    files = models.JSONField(default=dict)  # file name -> {"sha256", "rows", "encoding"}
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    imported_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"batch {self.pk} {self.status}"


class RegistryState(models.Model):
    """One row: a counter every change to the registry moves on (imports, decisions, verified incomes),
    so a screening run knows whether the newest lake snapshot still shows the registry as it is."""

    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"registry version {self.version}"


class VerifiedIncome(models.Model):
    """A household's monthly income and rigid expenses as verified on site (实地核实) by a case's visit.
    The facts of the next runs use it instead of the registry's income for a while (pack window
    verified_income_months); until then the household's facts show it beside the run's figures."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="verified_incomes")
    visited_on = models.DateField()
    monthly_income = models.DecimalField(max_digits=12, decimal_places=2)
    monthly_expense = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    reference = models.CharField(max_length=64, unique=True)  # the case step that verified it
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_on}: {self.monthly_income}"


class HouseholdFacts(models.Model):
    """A household's facts as the newest live screening run computed them (screening/features.py is their
    one definition). One row per household, replaced by every live run; read by every page, the policy
    matcher, the pre-assessment and campaigns, so two pages never show two incomes for one household."""

    household = models.OneToOneField(
        Household, primary_key=True, on_delete=models.CASCADE, related_name="facts", db_constraint=False
    )
    run_id = models.PositiveIntegerField()
    as_of = models.DateField()
    computed_at = models.DateTimeField()  # when the run read the registry: later visits are not in it
    region_code = models.CharField(max_length=12, db_index=True)
    area_type = models.CharField(max_length=5)
    members = models.PositiveSmallIntegerField()
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2)
    per_capita_income = models.DecimalField(max_digits=14, decimal_places=2)
    dibao_line = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    low_income_line = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    tekun_line = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    rigid_expense_ratio = models.DecimalField(max_digits=8, decimal_places=4, null=True)
    has_standard = models.BooleanField()
    low_income = models.BooleanField()
    below_dibao = models.BooleanField()
    covered = models.BooleanField()
    tekun = models.BooleanField()
    programs = models.CharField(max_length=200, blank=True)  # running programs, comma-separated
    verified_income = models.BooleanField()  # the income is a verification visit's
    verified_on = models.DateField(null=True)
    youngest_age = models.PositiveSmallIntegerField(null=True)
    oldest_age = models.PositiveSmallIntegerField(null=True)
    has_minor = models.BooleanField()
    has_elderly = models.BooleanField()
    all_elderly = models.BooleanField()
    dependants = models.PositiveSmallIntegerField()
    able_adults = models.PositiveSmallIntegerField()
    has_student = models.BooleanField()
    has_disabled = models.BooleanField()
    disability_level = models.PositiveSmallIntegerField(null=True)  # the most severe among members
    has_severe_disability = models.BooleanField()
    self_care = models.CharField(max_length=7, blank=True)  # the weakest among members
    serious_illness = models.BooleanField()
    has_unemployed = models.BooleanField()
    out_of_pocket = models.DecimalField(max_digits=14, decimal_places=2)
    out_of_pocket_share = models.DecimalField(max_digits=14, decimal_places=4, null=True)

    class Meta:
        indexes = [models.Index(fields=["region_code", "low_income"], name="registry_facts_low_income")]

    def __str__(self) -> str:
        return f"facts of {self.household_id} (run {self.run_id})"
