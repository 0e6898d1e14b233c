"""Evaluations (quarterly, monthly fine-tuning, what-if previews), their results, and
each partner's current credit standing with its history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine

from ._fields import BusinessLine, Tier


class Evaluation(StatusMachine, BaseModel):
    """One run of the credit engine over the partners managed under ``org``.

    ``quarterly``: the quarter's evaluation (``period`` ``YYYYQn``), computed, submitted
    for review on the workflow engine and published (then immutable); its tiers hold
    from the 1st of the month after publication. ``monthly``: fine-tuning for a month
    (``period`` ``YYYY-MM``): only crossings of the pass line change tiers, applied at
    once. ``what_if``: a draft rule set on a past quarter, compared with what was
    published; never published.
    """

    class Kind(models.TextChoices):
        QUARTERLY = "quarterly", _("Quarterly evaluation")
        MONTHLY = "monthly", _("Monthly fine-tuning")
        WHAT_IF = "what_if", _("What-if preview")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Computing")
        COMPUTED = "computed", _("Computed")
        FAILED = "failed", _("Failed")
        SUBMITTED = "submitted", _("In review")
        PUBLISHED = "published", _("Published")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.COMPUTED, Status.FAILED},
        Status.FAILED: {Status.QUEUED},
        Status.COMPUTED: {Status.QUEUED, Status.SUBMITTED, Status.PUBLISHED},
        Status.SUBMITTED: {Status.PUBLISHED, Status.COMPUTED},
        Status.PUBLISHED: set(),
    }

    number = models.CharField(_("number"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=7, help_text=_("YYYYQn or YYYY-MM"))
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
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)
    artefact_dir = models.CharField(_("artefact directory"), max_length=500, blank=True)
    artefacts = models.JSONField(
        _("artefacts"), default=dict, blank=True, help_text=_("file → SHA-256")
    )
    input_sha256 = models.JSONField(_("input hashes"), default=dict, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    partners = models.PositiveIntegerField(_("partners"), default=0)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_from = models.DateField(_("tiers hold from"), null=True, blank=True)

    class Meta:
        ordering = ["-period", "-created_at"]
        verbose_name = _("credit evaluation")
        verbose_name_plural = _("credit evaluations")
        permissions = [
            ("run_evaluation", _("Can compute credit evaluations and what-if previews")),
            ("publish_evaluation", _("Can review and publish credit evaluations")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "org"],
                condition=~models.Q(kind="what_if"),
                name="credit_evaluation_period_org",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_locked(self) -> bool:
        return self.status in {self.Status.SUBMITTED, self.Status.PUBLISHED}


class TierResult(BaseModel):
    """One partner's row of an evaluation (the engine's ``tiers`` output) with the
    standing it had before, so changes can be shown."""

    evaluation = models.ForeignKey(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.CASCADE, related_name="results"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    credit_degree = models.DecimalField(_("credit degree"), max_digits=7, decimal_places=2)
    eligible = models.BooleanField(_("eligible"))
    disqualified = models.BooleanField(_("disqualified"))
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=4, null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices)
    reasons = models.TextField(_("reasons"))
    previous_tier = models.CharField(
        _("previous tier"), max_length=20, choices=Tier.choices, blank=True
    )
    previous_credit_degree = models.DecimalField(
        _("previous credit degree"), max_digits=7, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["evaluation", "rank", "partner_id"]
        verbose_name = _("tier result")
        verbose_name_plural = _("tier results")
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "partner"], name="credit_result_unique")
        ]
        indexes = [models.Index(fields=["evaluation", "tier"], name="credit_result_tier")]


class CreditPointResult(BaseModel):
    """Credit points of one business line of a partner in an evaluation."""

    evaluation = models.ForeignKey(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.CASCADE, related_name="points"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices
    )
    points = models.DecimalField(_("credit points"), max_digits=9, decimal_places=2)
    violation_deduction = models.DecimalField(
        _("violation deduction"), max_digits=9, decimal_places=2
    )
    unpaid_deduction = models.DecimalField(_("unpaid deduction"), max_digits=9, decimal_places=2)
    complaint_deduction = models.DecimalField(
        _("complaint deduction"), max_digits=9, decimal_places=2
    )

    class Meta:
        ordering = ["evaluation", "partner_id", "business_line"]
        verbose_name = _("credit points")
        verbose_name_plural = _("credit points")
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "partner", "business_line"], name="credit_points_unique"
            )
        ]


class PartnerCredit(BaseModel):
    """A partner's current credit standing (``Partner.tier`` mirrors ``tier``) and its
    exemption from the revenue exit rules."""

    class Exemption(models.TextChoices):
        INNOVATIVE = "innovative", _("Innovative partner")
        LOCAL = "local", _("Local partner")
        COMPLEMENTARY = "complementary", _("Complementary partner")

    partner = models.OneToOneField(
        "partners.Partner",
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        related_name="credit",
    )
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, blank=True)
    credit_degree = models.DecimalField(
        _("credit degree"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    since = models.DateField(_("since"), null=True, blank=True)
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("from evaluation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    exemption = models.CharField(
        _("exemption"), max_length=20, choices=Exemption.choices, blank=True
    )
    exemption_reason = models.TextField(_("reason for the exemption"), blank=True)
    exemption_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("exemption set by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    exemption_set_at = models.DateTimeField(_("exemption set at"), null=True, blank=True)

    class Meta:
        ordering = ["partner_id"]
        verbose_name = _("partner credit")
        verbose_name_plural = _("partner credit")
        permissions = [
            ("view_own_credit", _("Can see the own partner's credit and tier")),
            ("manage_exemption", _("Can exempt partners from the revenue exit rules")),
        ]


class TierChange(BaseModel):
    """History of a partner's tier: every change and why."""

    class Cause(models.TextChoices):
        EVALUATION = "evaluation", _("Quarterly evaluation published")
        FINE_TUNING = "fine_tuning", _("Monthly fine-tuning")
        VIOLATION = "violation", _("Violation with allocated resources")

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    old_tier = models.CharField(_("old tier"), max_length=20, choices=Tier.choices, blank=True)
    new_tier = models.CharField(_("new tier"), max_length=20, choices=Tier.choices)
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices)
    evaluation = models.ForeignKey(
        Evaluation,
        verbose_name=_("evaluation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    violation = models.ForeignKey(
        "credit.Violation",
        verbose_name=_("violation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    effective_on = models.DateField(_("effective on"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-effective_on", "-created_at"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
