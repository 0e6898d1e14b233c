from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel


class Region(BaseModel):
    """An administrative region (province, city or county) by its GB/T 2260 code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")

    code = models.CharField(_("code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class NumberSegment(BaseModel):
    """A mobile number segment (号段): the first 7 digits → operator, province, city."""

    class Operator(models.TextChoices):
        CHINA_MOBILE = "china_mobile", _("China Mobile")
        CHINA_UNICOM = "china_unicom", _("China Unicom")
        CHINA_TELECOM = "china_telecom", _("China Telecom")
        CHINA_BROADNET = "china_broadnet", _("China Broadnet")

    prefix = models.CharField(_("prefix"), max_length=7, unique=True)
    operator = models.CharField(_("operator"), max_length=20, choices=Operator.choices)
    province = models.ForeignKey(
        Region,
        verbose_name=_("province"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    city = models.ForeignKey(
        Region,
        verbose_name=_("city"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["prefix"]
        verbose_name = _("number segment")
        verbose_name_plural = _("number segments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(prefix__regex=r"^1[0-9]{2,6}$"), name="segment_prefix_digits"
            )
        ]

    def __str__(self) -> str:
        return self.prefix
