"""Registrations of the incentive analysis and reports (imported in
``IncentivesConfig.ready``): the menu entries "Reports" (staff reading settlement runs)
and "My statements" (promoters)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register
from prm.incentives.constants import INCENTIVES_SECTION

# The section label every incentive concern uses (one dropdown, see setup_channels).

nav_register(
    NavItem(
        key="incentives_reports",
        label=_("Reports"),
        url_name="incentives:reports",
        icon="bar-chart",
        permission="incentives.view_settlementrun",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=480,
    ),
    NavItem(
        key="incentives_my_statements",
        label=_("My statements"),
        url_name="incentives:my_statements",
        icon="receipt",
        # Held by promoters only; the page itself checks promoter_of_user.
        permission="incentives.record_recommendation",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=485,
    ),
)
