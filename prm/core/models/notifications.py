from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel


class Notification(BaseModel):
    """A message in a user's in-app inbox, rendered from an event template."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    event = models.CharField(_("event"), max_length=80)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.title


class SmsMessage(BaseModel):
    """An outbound SMS handed to the gateway, with what the gateway answered."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    number = models.CharField(_("mobile number"), max_length=20, db_index=True)
    text = models.TextField(_("text"))
    event = models.CharField(_("event"), max_length=80, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    gateway = models.CharField(_("gateway"), max_length=40, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")

    def __str__(self) -> str:
        return f"{self.number} {self.status}"
