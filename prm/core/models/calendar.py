from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel


class CalendarDay(BaseModel):
    """An exception to the Monday–Friday working week (R0 reference data: work calendar).

    A public holiday on a weekday is stored with ``is_working_day=False``; a weekend day
    made a working day by the State Council's shifted days (调休) with ``True``.
    """

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
