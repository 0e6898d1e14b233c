"""TM Forum-shaped resources that have no home in a domain model, and event hubs.

``PartyRole`` (TMF669) holds a partner's engagement in a category (kept in step with the
partner by the partners app's services) and any role an integration creates through
the API. Organisations (TMF632) and agreements (TMF651) are views of
``partners.Partner`` and ``partners.Agreement``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel


class PartyRole(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    status = models.CharField(_("status"), max_length=40, blank=True, db_index=True)
    status_reason = models.CharField(_("status reason"), max_length=300, blank=True)
    partner = models.OneToOneField(
        "partners.Partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="party_role",
    )
    # The TMF attributes other than the ones above, stored as sent (roleType,
    # engagedParty, characteristic, validFor, contactMedium, account, ...).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # Operator node whose staff manage the role (scoping of API users).
    org = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at"]
        permissions = [("manage_partyrole", "Can manage TMF party roles")]
        verbose_name = _("party role")
        verbose_name_plural = _("party roles")

    def __str__(self) -> str:
        return self.name


class HubSubscription(BaseModel):
    """A listener registered with ``POST …/hub`` for one API's events."""

    class Api(models.TextChoices):
        PARTY_ROLE = "partyRole", "partyRole"
        ORGANIZATION = "organization", "organization"
        AGREEMENT = "agreement", "agreement"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api = models.CharField(_("API"), max_length=20, choices=Api.choices)
    callback = models.URLField(_("callback"), max_length=500)
    query = models.CharField(_("query"), max_length=500, blank=True)
    # Key of the HMAC-SHA256 signature header; returned once at creation.
    secret = models.CharField(_("signing secret"), max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")

    def __str__(self) -> str:
        return self.callback


class EventDelivery(BaseModel):
    """One event sent (or to be sent) to one subscription, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        HubSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event type"), max_length=60)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("event delivery")
        verbose_name_plural = _("event deliveries")
