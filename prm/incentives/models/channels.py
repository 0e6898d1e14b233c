from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel


class Channel(BaseModel):
    """A sales channel of the operator (R4 渠道体系): an own hall, a cooperative hall, a
    handset store, a call-centre seat group … managed by one operator node (a city or a
    county). Channels run by a partner (channel agents, social agents) link the partner."""

    class Kind(models.TextChoices):
        OWN_HALL = "own_hall", _("Own business hall")
        COOPERATIVE_HALL = "cooperative_hall", _("Cooperative hall")
        HANDSET_STORE = "handset_store", _("Handset store")
        CS_SEAT = "cs_seat", _("Customer-service seats")
        ACCOUNT_MANAGER = "account_manager", _("Account managers")
        VILLAGE_AGENT = "village_agent", _("Village agent")
        TELEMARKETING = "telemarketing", _("Telemarketing seats")
        GROUP_ACCOUNT_MANAGER = "group_account_manager", _("Group account managers")
        SOCIAL_AGENT = "social_agent", _("Social agent")
        ONLINE = "online", _("Online channel")

    code = models.CharField(_("channel code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("channel type"), max_length=30, choices=Kind.choices)
    org = models.ForeignKey(
        "accounts.OrgUnit",
        verbose_name=_("managing operator node"),
        on_delete=models.PROTECT,
        related_name="channels",
    )
    partner = models.ForeignKey(
        "partners.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="channels",
        help_text=_("The partner that runs the channel, if any."),
    )
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # Channel parameters (渠道参数): settlement share and monthly development quota.
    rebate_share_percent = models.DecimalField(
        _("rebate share (%)"),
        max_digits=5,
        decimal_places=2,
        default=100,
        help_text=_("Share of each rebate paid to the channel's promoters."),
    )
    monthly_quota = models.PositiveIntegerField(_("monthly development quota"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rebate_share_percent__gte=0, rebate_share_percent__lte=100),
                name="incentives_channel_share_0_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Outlet(BaseModel):
    """A place or team of a channel where promoters work (R4 hierarchy channel → outlet →
    staff): one hall, one store, one seat group."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="outlets"
    )
    code = models.CharField(_("outlet code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("outlet")
        verbose_name_plural = _("outlets")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
