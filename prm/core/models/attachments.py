from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel


def attachment_upload_to(instance: Attachment, filename: str) -> str:  # noqa: ARG001
    # The stored name never uses the uploader's file name: it is not trusted.
    return f"attachments/{timezone.now():%Y/%m}/{instance.public_id}"


class Attachment(BaseModel):
    """A file attached to a business object (qualification document, evidence, photo).

    The type is detected from the content, the SHA-256 is recorded, and it is served only
    to users who may see the owning object (``prm.core.attachments``).
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    owner_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    owner_id = models.CharField(max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    purpose = models.CharField(_("purpose"), max_length=50, blank=True)
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["owner_type", "owner_id"], name="attachment_owner_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="attachment_size_positive")
        ]

    def __str__(self) -> str:
        return self.original_name
