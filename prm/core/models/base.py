from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError


class BaseModel(models.Model):
    """Abstract base of every PRM model: creation and update times."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class StatusMachine:
    """Mixin for models with a ``status`` field and a written-down ``TRANSITIONS`` map.

    ``TRANSITIONS`` maps a status value to the set of statuses it may move to;
    :meth:`transition_to` refuses every other move with an ``ApplicationError``.
    """

    TRANSITIONS: dict[str, set[str]] = {}

    def transition_to(self, new_status: str) -> str:
        old = self.status  # type: ignore[attr-defined]
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise ApplicationError(
                "invalid_transition",
                _("This document cannot move from “%(old)s” to “%(new)s”.")
                % {"old": old, "new": new_status},
            )
        self.status = new_status  # type: ignore[attr-defined]
        return old


class SiteFlag(BaseModel):
    """A named platform-wide fact, e.g. that the demo data set is loaded."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    value = models.CharField(_("value"), max_length=255, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("site flag")
        verbose_name_plural = _("site flags")

    def __str__(self) -> str:
        return self.key
