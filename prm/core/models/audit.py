from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that refuses bulk updates and deletes (the audit log is append-only)."""

    def update(self, **kwargs):  # noqa: ARG002
        raise ApplicationError("audit_append_only", _("The audit log cannot be changed."))

    def delete(self):
        raise ApplicationError("audit_append_only", _("The audit log cannot be changed."))


class AuditEvent(models.Model):
    """One line of the 4A audit log: who did what to which object, from where, when.

    Append-only (R0): the application refuses updates and deletes, and on PostgreSQL a
    trigger refuses them in the database too (migration ``0002_audit_append_only``).
    ``org_path`` is the actor's org path at the time, so auditors see their subtree.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(
        _("actor username"), max_length=150, blank=True, db_index=True
    )
    org_path = models.CharField(_("actor org path"), max_length=255, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    target_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    target_repr = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        permissions = [("export_auditevent", "Can export the audit log")]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ApplicationError("audit_append_only", _("The audit log cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ApplicationError("audit_append_only", _("The audit log cannot be changed."))
