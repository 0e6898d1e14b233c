"""Marketing resources (R3): calls for plans after a publication, partners' plans with
resource requests (days 1-5), staff review on the workflow engine (days 5-10),
allocations of approved plans, and their emergency revocation."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine

from ._fields import money


class ResourceKind(models.TextChoices):
    SMS_PUSH = "sms_push", _("SMS push slots")
    PORTAL_BANNER = "portal_banner", _("Portal banner position")
    CHANNEL_PROMOTION = "channel_promotion", _("Channel promotion")
    BUNDLE = "bundle", _("Bundled-offer inclusion")
    SUBSIDY = "subsidy", _("Marketing subsidy")
    OTHER = "other", _("Other")


class ResourceCall(BaseModel):
    """A call for marketing plans for one month (plans are submitted on its days 1-5)."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    org = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField(_("month"), help_text=_("First day of the month the plans are for."))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    evaluation = models.ForeignKey(
        "credit.Evaluation",
        verbose_name=_("after evaluation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    budget = money(_("budget (yuan)"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-month", "-created_at"]
        verbose_name = _("call for marketing plans")
        verbose_name_plural = _("calls for marketing plans")
        permissions = [("manage_resourcecall", _("Can call for marketing plans"))]
        constraints = [
            models.UniqueConstraint(fields=["org", "month"], name="credit_call_org_month")
        ]

    def __str__(self) -> str:
        return self.number


class ResourcePlan(StatusMachine, BaseModel):
    """A partner's marketing plan with its resource requests (owns attachments)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("In review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }

    number = models.CharField(_("number"), max_length=40, unique=True)
    call = models.ForeignKey(
        ResourceCall, verbose_name=_("call"), on_delete=models.PROTECT, related_name="plans"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(_("tier when submitted"), max_length=20, blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("plan"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("marketing plan")
        verbose_name_plural = _("marketing plans")
        permissions = [
            ("submit_resourceplan", _("Can submit the own partner's marketing plans")),
            ("review_resourceplan", _("Can review marketing plans")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "partner"],
                condition=~models.Q(status="withdrawn"),
                name="credit_plan_one_per_call",
            )
        ]

    def __str__(self) -> str:
        return self.number


class ResourceRequest(BaseModel):
    """One resource asked for in a plan."""

    plan = models.ForeignKey(
        ResourcePlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="requests"
    )
    kind = models.CharField(_("resource"), max_length=30, choices=ResourceKind.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = money(_("amount (yuan)"), default=0)

    class Meta:
        ordering = ["plan", "pk"]
        verbose_name = _("resource request")
        verbose_name_plural = _("resource requests")


class ResourceAllocation(BaseModel):
    """A resource granted by an approved plan; withdrawn at once on an emergency
    revocation (credit downgrade or a violation committed with it)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")
        ENDED = "ended", _("Ended")

    class RevokeCause(models.TextChoices):
        CREDIT_DOWNGRADE = "credit_downgrade", _("Downgraded for insufficient credit")
        VIOLATION = "violation", _("Violation committed with allocated resources")

    plan = models.ForeignKey(
        ResourcePlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="allocations"
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("resource"), max_length=30, choices=ResourceKind.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = money(_("amount (yuan)"), default=0)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_cause = models.CharField(
        _("revoked because"), max_length=20, choices=RevokeCause.choices, blank=True
    )
    revoke_note = models.TextField(_("revocation note"), blank=True)

    class Meta:
        ordering = ["-valid_from", "pk"]
        verbose_name = _("resource allocation")
        verbose_name_plural = _("resource allocations")
        indexes = [models.Index(fields=["partner", "status"], name="credit_alloc_partner")]
