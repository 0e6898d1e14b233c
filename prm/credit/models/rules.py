"""Versioned rule sets and tier entitlements (R3: every number configurable)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel

from ._fields import Tier


class RuleSet(BaseModel):
    """One version of the credit rules (``params``: :meth:`prm.credit.engine.rules.
    RuleSet.to_dict`). Version 1 is the contract's defaults. A draft may be edited and
    previewed (what-if); a published version applies from ``effective_from`` and never
    changes again."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    version = models.PositiveIntegerField(_("version"), unique=True)
    effective_from = models.CharField(
        _("effective from quarter"), max_length=6, help_text=_("YYYYQn")
    )
    params = models.JSONField(_("parameters"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("credit rule set")
        verbose_name_plural = _("credit rule sets")
        permissions = [("manage_ruleset", _("Can create and publish credit rule sets"))]

    def __str__(self) -> str:
        return f"v{self.version}"


class TierEntitlement(BaseModel):
    """What a tier entitles a partner to (configurable by staff)."""

    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, unique=True)
    may_apply_resources = models.BooleanField(_("may apply for marketing resources"), default=False)
    max_business_codes = models.PositiveIntegerField(_("maximum business codes"), default=5)
    review_shortcut = models.BooleanField(
        _("review shortcut"),
        default=False,
        help_text=_("A partner without violations goes straight to testing."),
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("tier entitlement")
        verbose_name_plural = _("tier entitlements")
        permissions = [("manage_entitlement", _("Can change tier entitlements"))]

    def __str__(self) -> str:
        return self.get_tier_display()
