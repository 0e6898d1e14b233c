from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class Recommendation(StatusMachine, BaseModel):
    """A promoter's record that a subscriber took a product on their recommendation
    (R4 推荐/发展记录): the development record the monthly settlement judges.

    The subscriber confirms by replying to an SMS with the confirmation code; the order is
    then handed to the billing system for opening. ``pk`` is the ``record_id`` of the
    settlement files; ``number`` is the public reference.
    """

    class Source(models.TextChoices):
        WEB = "web", _("Web form")
        API = "api", _("API")
        ASSIST = "assist", _("Call-centre assist")

    class Status(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting the subscriber's reply")
        CONFIRMED = "confirmed", _("Confirmed by the subscriber")
        DECLINED = "declined", _("Declined by the subscriber")
        ORDERED = "ordered", _("Sent to billing")
        OPEN_FAILED = "open_failed", _("Billing refused to open")

    TRANSITIONS = {
        Status.AWAITING_CONFIRMATION: {Status.CONFIRMED, Status.DECLINED},
        Status.CONFIRMED: {Status.ORDERED, Status.OPEN_FAILED},
        Status.OPEN_FAILED: {Status.ORDERED, Status.OPEN_FAILED},
        Status.ORDERED: set(),
        Status.DECLINED: set(),
    }

    number = models.CharField(_("number"), max_length=24, unique=True)
    promoter = models.ForeignKey(
        "incentives.Promoter",
        verbose_name=_("promoter"),
        on_delete=models.PROTECT,
        related_name="recommendations",
    )
    # The promoter's channel and city at the time (reports and scoping do not move when
    # the promoter later changes channel).
    channel = models.ForeignKey(
        "incentives.Channel",
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recommendations",
    )
    org = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("city"), on_delete=models.PROTECT, related_name="+"
    )
    msisdn = models.CharField(_("subscriber number"), max_length=11, db_index=True)
    product = models.ForeignKey(
        "incentives.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="recommendations",
    )
    recommended_at = models.DateTimeField(_("recommended at"), db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmation_code = models.CharField(_("confirmation code"), max_length=8)
    status = models.CharField(
        _("status"),
        max_length=30,
        choices=Status.choices,
        default=Status.AWAITING_CONFIRMATION,
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    billing_order_id = models.CharField(_("billing order"), max_length=40, blank=True)
    billing_message = models.CharField(_("billing message"), max_length=300, blank=True)
    seat_work_id = models.CharField(
        _("recording seat"),
        max_length=20,
        blank=True,
        help_text=_("The work ID of the call-centre seat that recorded it (assist)."),
    )

    class Meta:
        ordering = ["-recommended_at", "-id"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        permissions = [
            ("record_recommendation", _("Can record recommendations as a promoter")),
            ("use_assist", _("Can use the call-centre assist")),
        ]
        indexes = [
            models.Index(fields=["msisdn", "product", "recommended_at"]),
            models.Index(fields=["promoter", "recommended_at"]),
            models.Index(fields=["org", "recommended_at"]),
        ]

    def __str__(self) -> str:
        return self.number
