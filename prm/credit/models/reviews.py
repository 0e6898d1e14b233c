"""Business review calendar (R3): new and high-tariff business applications are
reviewed monthly; order-instruction changes, network connections, WAP QR codes, IVR
flow changes and IVR long numbers at month end. One queue per review type."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class BusinessReview(StatusMachine, BaseModel):
    class ReviewType(models.TextChoices):
        NEW_BUSINESS = "new_business", _("New business")
        HIGH_TARIFF = "high_tariff", _("High-tariff business")
        ORDER_INSTRUCTION = "order_instruction", _("Order-instruction change")
        NETWORK_CONNECTION = "network_connection", _("Network connection")
        WAP_QR_CODE = "wap_qr_code", _("WAP QR code")
        IVR_FLOW = "ivr_flow", _("IVR flow change")
        IVR_LONG_NUMBER = "ivr_long_number", _("IVR long number")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        TESTING = "testing", _("In testing")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.PENDING: {Status.TESTING, Status.APPROVED, Status.REJECTED},
        Status.TESTING: {Status.APPROVED, Status.REJECTED},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
    }

    number = models.CharField(_("number"), max_length=40, unique=True)
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    review_type = models.CharField(_("review type"), max_length=30, choices=ReviewType.choices)
    business_code = models.CharField(_("business code"), max_length=30, blank=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    tariff = models.DecimalField(
        _("tariff (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    due_on = models.DateField(_("review due on"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    shortcut = models.BooleanField(_("review shortcut used"), default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
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
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["due_on", "created_at"]
        verbose_name = _("business review")
        verbose_name_plural = _("business reviews")
        permissions = [
            ("submit_businessreview", _("Can submit the own partner's business for review")),
            ("decide_businessreview", _("Can decide business reviews")),
        ]
        indexes = [
            models.Index(fields=["review_type", "status", "due_on"], name="credit_review_queue")
        ]

    def __str__(self) -> str:
        return self.number
