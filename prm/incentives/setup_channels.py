"""Registrations of the channels concern (imported at app ready): the import kinds of
channels, outlets and development targets (and products, which share the module) and the
menu entries of the "Channel incentives" section."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register
from prm.incentives import imports_channels  # noqa: F401  (registers the import specs)
from prm.incentives.constants import INCENTIVES_SECTION

# The menu section every incentive concern puts its entries in (same label, one dropdown).

nav_register(
    NavItem(
        key="incentives_channels",
        label=_("Channels"),
        url_name="incentives:channel_list",
        icon="shop",
        permission="incentives.view_channel",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=400,
    ),
    NavItem(
        key="incentives_targets",
        label=_("Development targets"),
        url_name="incentives:target_list",
        icon="bullseye",
        permission="incentives.view_developmenttarget",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=420,
    ),
)
