"""Monthly exit checks (R3 exit rules): the engine's proposals, each confirmed by staff
(then carried out through the partner module) or dismissed with a reason."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class ExitCheck(StatusMachine, BaseModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Checking")
        COMPUTED = "computed", _("Proposals ready")
        FAILED = "failed", _("Failed")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.COMPUTED, Status.FAILED},
        Status.FAILED: {Status.QUEUED},
        Status.COMPUTED: {Status.QUEUED},
    }

    number = models.CharField(_("number"), max_length=40, unique=True)
    month = models.CharField(_("month"), max_length=7, help_text=_("YYYY-MM"))
    org = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org"), on_delete=models.PROTECT, related_name="+"
    )
    rule_set = models.ForeignKey(
        "credit.RuleSet", verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="+"
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
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)
    artefact_dir = models.CharField(_("artefact directory"), max_length=500, blank=True)
    artefacts = models.JSONField(_("artefacts"), default=dict, blank=True)
    input_sha256 = models.JSONField(_("input hashes"), default=dict, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        ordering = ["-month", "org__path"]
        verbose_name = _("exit check")
        verbose_name_plural = _("exit checks")
        permissions = [
            ("run_exitcheck", _("Can run monthly exit checks")),
            ("decide_exitproposal", _("Can confirm or dismiss exit proposals")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["month", "org"], name="credit_exitcheck_month_org")
        ]

    def __str__(self) -> str:
        return self.number


class ExitProposal(StatusMachine, BaseModel):
    class Action(models.TextChoices):
        EXIT_LINE = "exit_line", _("Exit (category total below threshold)")
        END_BUSINESS = "end_business", _("End the business")
        END_LINE_FOR_COMPLAINTS = "end_line_for_complaints", _("End the line for complaints")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    TRANSITIONS = {
        Status.PROPOSED: {Status.CONFIRMED, Status.DISMISSED},
        Status.CONFIRMED: set(),
        Status.DISMISSED: set(),
    }

    check_run = models.ForeignKey(
        ExitCheck, verbose_name=_("exit check"), on_delete=models.CASCADE, related_name="proposals"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    category_or_line = models.CharField(_("category or line"), max_length=10)
    business_code = models.CharField(_("business code"), max_length=30, blank=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    rule = models.CharField(_("rule"), max_length=60)
    figure = models.DecimalField(_("figure"), max_digits=16, decimal_places=2)
    threshold = models.DecimalField(_("threshold"), max_digits=16, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    exit_case = models.ForeignKey(
        "partners.ExitCase",
        verbose_name=_("exit case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        ordering = ["check_run", "partner_id", "action", "category_or_line", "business_code"]
        verbose_name = _("exit proposal")
        verbose_name_plural = _("exit proposals")
