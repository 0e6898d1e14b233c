from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class Promoter(StatusMachine, BaseModel):
    """A person who recommends products to subscribers and earns rebates (R4 推荐人):
    a hall clerk, a call-centre agent, a telemarketer or an ordinary promoter.

    Every promoter must be a subscriber of the operator (their own number is checked
    against the number segments). The city admin approves a registration, which assigns
    the work ID and creates the login with an initial password.
    """

    class Kind(models.TextChoices):
        HALL_CLERK = "hall_clerk", _("Hall clerk")
        CALL_CENTRE_AGENT = "call_centre_agent", _("Call-centre agent")
        TELEMARKETER = "telemarketer", _("Telemarketer")
        ORDINARY = "ordinary", _("Ordinary promoter")

    class Path(models.TextChoices):
        INTRANET = "intranet", _("Intranet form")
        INTERNET = "internet", _("Internet form")
        SEAT_FEED = "seat_feed", _("Call-centre seat feed")

    # R4: hall clerks and call-centre agents register through the intranet,
    # telemarketers and ordinary promoters through the internet.
    PATH_OF_KIND = {
        Kind.HALL_CLERK: Path.INTRANET,
        Kind.CALL_CENTRE_AGENT: Path.INTRANET,
        Kind.TELEMARKETER: Path.INTERNET,
        Kind.ORDINARY: Path.INTERNET,
    }

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting approval")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        DISABLED = "disabled", _("Disabled")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.ACTIVE, Status.REJECTED},
        Status.REJECTED: {Status.SUBMITTED},
        Status.ACTIVE: {Status.DISABLED},
        Status.DISABLED: {Status.ACTIVE},
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    work_id = models.CharField(_("work ID"), max_length=20, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    msisdn = models.CharField(_("mobile number"), max_length=11)
    kind = models.CharField(_("promoter type"), max_length=20, choices=Kind.choices)
    path = models.CharField(_("registration path"), max_length=20, choices=Path.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    org = models.ForeignKey(
        "accounts.OrgUnit",
        verbose_name=_("approving city"),
        on_delete=models.PROTECT,
        related_name="promoters",
    )
    channel = models.ForeignKey(
        "incentives.Channel",
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promoters",
    )
    outlet = models.ForeignKey(
        "incentives.Outlet",
        verbose_name=_("outlet"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promoters",
    )
    seat_number = models.CharField(_("seat number"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promoter",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["work_id", "pk"]
        verbose_name = _("promoter")
        verbose_name_plural = _("promoters")
        permissions = [
            ("approve_promoter", _("Can approve promoter registrations")),
            ("sync_seats", _("Can synchronise call-centre seats")),
        ]
        constraints = [
            # One live registration per number (rejected ones may register again).
            models.UniqueConstraint(
                fields=["msisdn"],
                condition=~models.Q(status="rejected"),
                name="incentives_promoter_msisdn_unique_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_id or '—'} {self.name}"


class SeatSync(BaseModel):
    """One synchronisation of call-centre seats from the call-centre system's feed."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        REJECTED = "rejected", _("Rejected")

    source = models.CharField(_("source"), max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    disabled_count = models.PositiveIntegerField(_("disabled"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    org = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("city"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("seat synchronisation")
        verbose_name_plural = _("seat synchronisations")
