from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel


class Product(BaseModel):
    """A product promoters may recommend (R4 产品信息): a data package, an own business, a
    fixed/broadband product or an SP business such as CRBT, with its monthly fee."""

    class Kind(models.TextChoices):
        DATA_PACKAGE = "data_package", _("Data / traffic package")
        OWN_BUSINESS = "own_business", _("Own business")
        BROADBAND = "broadband", _("Fixed line / broadband")
        SP_BUSINESS = "sp_business", _("SP business (e.g. CRBT)")

    code = models.CharField(_("product code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("product type"), max_length=20, choices=Kind.choices)
    monthly_fee = models.DecimalField(_("monthly fee"), max_digits=14, decimal_places=2)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(
        _("open for recommendation"),
        default=True,
        help_text=_("Inactive products cannot be recommended; past records keep them."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_fee__gte=0), name="incentives_product_fee_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RebateVersion(BaseModel):
    """The rebate per qualifying subscriber of a product from a date on (R4 rule 6).

    Versions are never edited once a settlement used them: a new rule is a new version
    from a later date, and the previous open-ended version is closed the day before.
    The version whose ``[effective_from, effective_to]`` holds the date of a
    recommendation applies to it.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="versions"
    )
    rebate = models.DecimalField(_("rebate per subscriber"), max_digits=14, decimal_places=2)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["product", "effective_from"]
        verbose_name = _("rebate version")
        verbose_name_plural = _("rebate versions")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "effective_from"], name="incentives_rebate_version_unique_from"
            ),
            models.CheckConstraint(
                condition=models.Q(rebate__gte=0), name="incentives_rebate_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="incentives_rebate_version_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} {self.rebate} ({self.effective_from})"
