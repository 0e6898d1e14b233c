from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine

_ZERO = Decimal("0.00")


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=_ZERO)


class SettlementRun(StatusMachine, BaseModel):
    """The monthly rebate settlement of one city for one period (R4 rule 5: on the 15th
    of the month after the observation windows closed).

    The run exports the period's development records and the billing extracts to files,
    runs the settlement engine on them and keeps the result files as immutable
    artefacts (hashes recorded) plus per-promoter statements. It may be re-run until it
    is submitted; approval goes city → province on the workflow engine and locks it:
    corrections are adjustments in a later run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Computing")
        COMPUTED = "computed", _("Computed")
        FAILED = "failed", _("Failed")
        SUBMITTED = "submitted", _("In approval")
        APPROVED = "approved", _("Approved")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.COMPUTED, Status.FAILED},
        Status.FAILED: {Status.QUEUED},
        Status.COMPUTED: {Status.QUEUED, Status.SUBMITTED},
        Status.SUBMITTED: {Status.APPROVED, Status.COMPUTED},
        Status.APPROVED: set(),
    }

    number = models.CharField(_("number"), max_length=40, unique=True)
    period = models.CharField(_("period"), max_length=7, help_text=_("YYYY-MM"))
    org = models.ForeignKey(
        "accounts.OrgUnit",
        verbose_name=_("city"),
        on_delete=models.PROTECT,
        related_name="settlement_runs",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    revision = models.PositiveIntegerField(_("revision"), default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when the monthly schedule started it."),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=60, blank=True)
    message = models.TextField(_("message"), blank=True)
    artefact_dir = models.CharField(_("artefact directory"), max_length=500, blank=True)
    artefacts = models.JSONField(
        _("artefacts"), default=dict, blank=True, help_text=_("file → SHA-256")
    )
    input_sha256 = models.JSONField(_("input hashes"), default=dict, blank=True)
    rule_version = models.CharField(_("rule version"), max_length=40, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    changes = models.JSONField(_("changes from the previous result"), default=dict, blank=True)
    records = models.PositiveIntegerField(_("records"), default=0)
    qualified = models.PositiveIntegerField(_("qualified"), default=0)
    gross_amount = _money(_("gross amount"))
    clawback_amount = _money(_("clawbacks"))
    adjustment_amount = _money(_("adjustments"))
    payable_amount = _money(_("payable"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    payout_generated_at = models.DateTimeField(_("payout file produced at"), null=True, blank=True)

    class Meta:
        ordering = ["-period", "org__path"]
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")
        permissions = [
            ("start_settlementrun", _("Can start and re-run settlements")),
            ("approve_settlementrun", _("Can approve settlements")),
            ("export_payout", _("Can produce payout files")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["period", "org"], name="incentives_run_period_org"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_locked(self) -> bool:
        return self.status in {self.Status.SUBMITTED, self.Status.APPROVED}


class SettlementStatement(BaseModel):
    """One promoter's statement in a run: the engine's figures plus the negative balance
    carried in from the previous approved run and adjustments included in this run."""

    run = models.ForeignKey(
        SettlementRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="statements"
    )
    promoter = models.ForeignKey(
        "incentives.Promoter",
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        related_name="statements",
    )
    records = models.PositiveIntegerField(_("records"), default=0)
    qualified = models.PositiveIntegerField(_("qualified"), default=0)
    gross_amount = _money(_("gross amount"))
    clawback_amount = _money(_("clawbacks"))
    carried_in = _money(_("carried in"))
    adjustment_amount = _money(_("adjustments"))
    net_amount = _money(_("net amount"))
    payable_amount = _money(_("payable"))
    carry_forward = _money(_("carried forward"))

    class Meta:
        ordering = ["run", "promoter__work_id"]
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")
        constraints = [
            models.UniqueConstraint(fields=["run", "promoter"], name="incentives_statement_unique"),
            models.CheckConstraint(
                condition=models.Q(payable_amount__gte=0), name="incentives_payable_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(carry_forward__lte=0), name="incentives_carry_not_positive"
            ),
        ]


class PaidRecord(BaseModel):
    """A development record paid by an approved run: the ``paid_records`` and
    ``rebate_history`` of later runs (6-month rule, clawbacks)."""

    recommendation = models.OneToOneField(
        "incentives.Recommendation",
        verbose_name=_("recommendation"),
        on_delete=models.PROTECT,
        related_name="payment",
    )
    run = models.ForeignKey(
        SettlementRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="paid_records"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["run", "recommendation"]
        verbose_name = _("paid record")
        verbose_name_plural = _("paid records")


class Clawback(BaseModel):
    """A rebate taken back because of a later upheld forced-subscription complaint (R4
    lagging-complaint audit): at most one per paid record, in the run where it was found."""

    paid_record = models.OneToOneField(
        PaidRecord, verbose_name=_("paid record"), on_delete=models.PROTECT, related_name="clawback"
    )
    run = models.ForeignKey(
        SettlementRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="clawbacks"
    )
    complained_at = models.DateTimeField(_("complained at"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["run", "paid_record"]
        verbose_name = _("clawback")
        verbose_name_plural = _("clawbacks")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__lt=0), name="incentives_clawback_negative"
            )
        ]


class SettlementAdjustment(BaseModel):
    """A correction to an approved settlement, paid (or taken back) in a later run."""

    promoter = models.ForeignKey(
        "incentives.Promoter",
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        related_name="adjustments",
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.TextField(_("reason"))
    corrects_run = models.ForeignKey(
        SettlementRun,
        verbose_name=_("corrects run"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    applied_run = models.ForeignKey(
        SettlementRun,
        verbose_name=_("paid in run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="adjustments",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("settlement adjustment")
        verbose_name_plural = _("settlement adjustments")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="incentives_adjustment_not_zero"
            )
        ]


class DevelopmentTarget(BaseModel):
    """A monthly development target (number of qualifying records) for a channel,
    optionally for one product (R4 marketing management: targets and volume tracking)."""

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    channel = models.ForeignKey(
        "incentives.Channel",
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="targets",
    )
    product = models.ForeignKey(
        "incentives.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    target = models.PositiveIntegerField(_("target"))

    class Meta:
        ordering = ["-month", "channel"]
        verbose_name = _("development target")
        verbose_name_plural = _("development targets")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "channel", "product"],
                name="incentives_target_unique",
                nulls_distinct=False,
            ),
        ]
