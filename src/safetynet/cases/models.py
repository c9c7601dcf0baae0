"""One case per household episode: where every lead about the household lands, from intake to help.

The workflow is an explicit state machine (`cases.workflow`): each step is a `Step` row with who, when,
why and what was found, taken in one transaction under an optimistic lock on `Case.version`.
"""

from __future__ import annotations

from django.db import models

from safetynet.access.departments import Department


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "进行中"
        CLOSED = "closed", "已结案"

    class Stage(models.TextChoices):
        NEW = "new", "待核实"
        VERIFIED = "verified", "已实地核实"
        INFORMED = "informed", "已告知政策"
        APPLYING = "applying", "协助申请中"
        REVIEWED = "reviewed", "已审核待确认"
        HELPING = "helping", "帮扶中"
        CLOSED = "closed", "已结案"

    household_id = models.CharField(max_length=32, db_index=True)
    region_code = models.CharField(max_length=12, db_index=True)  # the household's village
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    urgent = models.BooleanField(default=False)  # a red warning or an urgent report
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.NEW)
    due_on = models.DateField(null=True, blank=True)  # the current step's deadline, in working days
    due_estimated = models.BooleanField(default=False)  # beyond the published holiday calendar
    extended = models.BooleanField(default=False)  # the dibao decision's one 15-day extension was used
    outcome = models.CharField(max_length=12, blank=True)  # helped, declined, rejected, unfounded
    follow_up_on = models.DateField(null=True, blank=True)
    # Temporary assistance paid first (先行救助): its paperwork is due after the money, by this date.
    paperwork_due = models.DateField(null=True, blank=True)
    # An amount above the county's cap, waiting for case-by-case approval (一事一议) by the county.
    pending_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # A complex case handed to the county's coordination mechanism (several departments refer and answer).
    coordination = models.BooleanField(default=False)
    # Overdue steps climb: village work late → the township sees it as its own; later still → the county.
    escalated_to = models.CharField(max_length=10, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic lock for the workflow's transitions

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one open case per household: a second lead joins it instead of opening another.
            models.UniqueConstraint(
                fields=["household_id"],
                condition=models.Q(status="open"),
                name="cases_one_open_per_household",
            )
        ]
        indexes = [
            # The county inbox's sections of rare cases (benchmarks/leads.py, 200,000 open cases): without
            # these each was a scan of every open case in the county.
            models.Index(
                fields=["opened_at"],
                condition=models.Q(status="open", pending_amount__isnull=False),
                name="cases_open_pending_amount",
            ),
            models.Index(
                fields=["region_code"],
                condition=models.Q(status="open", coordination=True),
                name="cases_open_coordination",
            ),
            # Open cases by deadline: the inbox's overdue sections read the first 50 in this order.
            models.Index(
                fields=["due_on", "id"], condition=models.Q(status="open"), name="cases_open_by_due"
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.household_id}, {self.status})"


class Step(models.Model):
    """One transition of a case: who, when, why, and the facts recorded with it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(max_length=20)
    from_stage = models.CharField(max_length=10)
    to_stage = models.CharField(max_length=10)
    data = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    # None for the system's own steps (an escalation of an overdue case).
    actor = models.ForeignKey("access.User", null=True, blank=True, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.action}"


class Referral(models.Model):
    """A complex case referred to one department (部门转介), tracked until that department answers."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    department = models.CharField(max_length=24, choices=Department.choices)
    request = models.CharField(max_length=1000)  # what the household needs from this department
    due_on = models.DateField()  # the answer's deadline, in working days
    due_estimated = models.BooleanField(default=False)
    referred_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    referred_at = models.DateTimeField(auto_now_add=True)
    answer = models.CharField(max_length=2000, blank=True)
    helped = models.BooleanField(null=True)  # the department gave help (True) or found none it could give
    answered_by = models.ForeignKey(
        "access.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One open request per department per case: a second one would be answered twice.
            models.UniqueConstraint(
                fields=["case", "department"],
                condition=models.Q(answered_at__isnull=True),
                name="cases_one_open_referral_per_department",
            )
        ]
        indexes = [models.Index(fields=["department", "answered_at"], name="cases_referral_inbox")]

    def __str__(self) -> str:
        return f"case {self.case_id} → {self.department}"


class DeadlinePolicy(models.Model):
    """A county's own working-day limits per step, where they differ from the defaults."""

    county_code = models.CharField(max_length=6)
    step = models.CharField(max_length=30)
    working_days = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county_code", "step"], name="cases_one_policy_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.county_code} {self.step}: {self.working_days}"


class CountySettings(models.Model):
    """A county's own rules for amounts, where counties differ (who confirms decisions is
    `access.Delegation`, deadlines are `DeadlinePolicy`)."""

    county_code = models.CharField(max_length=6, unique=True)
    # The temporary-assistance amount a township may pay at once; above it the county decides (一事一议).
    temporary_cap = models.DecimalField(max_digits=12, decimal_places=2)
    # A dibao amount may be rounded up to this unit of yuan (0.01: no rounding; 1: whole yuan; 10).
    amount_rounding = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    # Temporary grants to one household within this many days of an earlier one are flagged.
    repeat_window_days = models.PositiveSmallIntegerField(default=90)

    def __str__(self) -> str:
        return f"{self.county_code}: {self.temporary_cap}"


class Photo(models.Model):
    """A photo taken at a verification visit (optional). Stored in the data folder, never under static
    files: it is read only through the case's scoped, audited route."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos")
    path = models.CharField(
        max_length=200
    )  # relative to the data folder; a name we chose, never the upload's
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey("access.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"photo {self.pk} of case {self.case_id}"
