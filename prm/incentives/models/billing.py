from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class BillingMonth(BaseModel):
    """One month of billing-system extracts (subscribers snapshot, usage, product changes,
    billed items, complaints) held as Parquet files in the month's store directory.

    A month may be imported again — the new files replace the old, audited — until the
    settlement of that period is approved; then it is locked.
    """

    month = models.DateField(_("month"), unique=True, help_text=_("First day of the month."))
    revision = models.PositiveIntegerField(_("revision"), default=0)
    files = models.JSONField(
        _("files"), default=dict, blank=True, help_text=_("table → {sha256, rows, name}")
    )
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    locked_by_run = models.ForeignKey(
        "incentives.SettlementRun",
        verbose_name=_("locked by settlement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-month"]
        verbose_name = _("billing month")
        verbose_name_plural = _("billing months")
        permissions = [("import_billing", _("Can import billing extracts"))]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class BillingImport(StatusMachine, BaseModel):
    """One upload of a month's billing extracts and what became of it (a job record with
    progress; a failed import says why and wrote nothing)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Failed")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.SUCCEEDED, Status.FAILED},
        Status.FAILED: set(),
        Status.SUCCEEDED: set(),
    }

    month = models.DateField(_("month"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    staging_dir = models.CharField(_("staging directory"), max_length=500)
    files = models.JSONField(_("files"), default=dict, blank=True)
    replaced_files = models.JSONField(_("replaced files"), default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.TextField(_("message"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("billing import")
        verbose_name_plural = _("billing imports")
