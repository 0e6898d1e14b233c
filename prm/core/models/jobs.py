from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel, StatusMachine


class ImportJob(StatusMachine, BaseModel):
    """One upload of a master-data file (xlsx/csv) and what became of it.

    Every row is validated first; if any row fails, nothing is written and a row-level
    error report is kept for download. Otherwise all rows are written in one transaction.
    Progress fields feed the job page's progress bar.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Imported")
        REJECTED = "rejected", _("Rejected (row errors)")
        FAILED = "failed", _("Failed")

    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.SUCCEEDED, Status.REJECTED, Status.FAILED},
        Status.FAILED: {Status.QUEUED},
        Status.SUCCEEDED: set(),
        Status.REJECTED: set(),
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=50, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    source = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_org_path = models.CharField(max_length=255, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in {self.Status.SUCCEEDED, self.Status.REJECTED} else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
