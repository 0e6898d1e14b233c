"""Raw data of the credit rules (R3): imported revenue and complaints, unpaid items and
violations. Every row keeps its source: the import and its row, the breach case, or
the staff member who entered it (with evidence attachments)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel

from ._fields import BusinessLine, Degree, money


class CreditImport(BaseModel):
    """One imported file of raw data (all rows or none). A later import of the same kind
    for the same months replaces their rows (audited), until their quarter is published."""

    class Kind(models.TextChoices):
        REVENUE = "revenue", _("Revenue and paying users")
        COMPLAINTS = "complaints", _("Complaints and users")
        UNPAID_ITEMS = "unpaid_items", _("Unpaid items")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    org = models.ForeignKey(
        "accounts.OrgUnit", verbose_name=_("org"), on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    months = models.JSONField(_("months"), default=list, blank=True, help_text=_("YYYY-MM"))
    replaced_rows = models.PositiveIntegerField(_("rows replaced"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("credit data import")
        verbose_name_plural = _("credit data imports")
        permissions = [("import_rawdata", _("Can import and enter credit raw data"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class _Sourced(BaseModel):
    source_import = models.ForeignKey(
        CreditImport,
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_row = models.PositiveIntegerField(_("row in the file"), null=True, blank=True)

    class Meta:
        abstract = True


class RevenueRecord(_Sourced):
    """Paying users and info-fee revenue of one business code of a partner in a month."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices
    )
    business_code = models.CharField(_("business code"), max_length=30)
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    paying_users = models.PositiveBigIntegerField(_("paying users"))
    info_fee = money(_("info fee (yuan)"))

    class Meta:
        ordering = ["month", "partner_id", "business_line", "business_code"]
        verbose_name = _("revenue record")
        verbose_name_plural = _("revenue records")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "business_line", "business_code", "month"],
                name="credit_revenue_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(info_fee__gte=0), name="credit_revenue_fee_ge_0"
            ),
        ]
        indexes = [models.Index(fields=["month", "partner"], name="credit_revenue_month")]


class ComplaintRecord(_Sourced):
    """Complaints and users of a partner's business line in a month."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices
    )
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    complaints = models.PositiveIntegerField(_("complaints"))
    users = models.PositiveBigIntegerField(_("users"))

    class Meta:
        ordering = ["month", "partner_id", "business_line"]
        verbose_name = _("complaint record")
        verbose_name_plural = _("complaint records")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "business_line", "month"], name="credit_complaint_unique"
            )
        ]
        indexes = [models.Index(fields=["month", "partner"], name="credit_complaint_month")]


class UnpaidItem(_Sourced):
    """Unpaid items (未缴费项) of a partner's business line, imported or entered by staff
    (owns evidence attachments)."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices
    )
    recorded_on = models.DateField(_("recorded on"))
    count = models.PositiveIntegerField(_("count"))
    note = models.TextField(_("note"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-recorded_on", "partner_id"]
        verbose_name = _("unpaid item")
        verbose_name_plural = _("unpaid items")
        indexes = [models.Index(fields=["recorded_on", "partner"], name="credit_unpaid_date")]


class Violation(BaseModel):
    """A determined violation: from an upheld breach case with a credit deduction
    (``case``), or entered by staff with evidence (owns attachments)."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="+"
    )
    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices
    )
    determined_on = models.DateField(_("determined on"))
    degree = models.CharField(_("degree"), max_length=20, choices=Degree.choices)
    with_allocated_resources = models.BooleanField(
        _("committed with allocated marketing resources"), default=False
    )
    case = models.OneToOneField(
        "portal.BreachCase",
        verbose_name=_("breach case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_violation",
    )
    description = models.TextField(_("description"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-determined_on", "partner_id"]
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        indexes = [models.Index(fields=["determined_on", "partner"], name="credit_violation_date")]
