"""Registrations of the products concern (imported at app ready): the menu entry of the
product catalogue. Its import kind lives in ``imports_channels`` with the other master
data of the incentives app."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register

nav_register(
    NavItem(
        key="incentives_products",
        label=_("Products"),
        url_name="incentives:product_list",
        icon="box-seam",
        permission="incentives.view_product",
        audience="operator",
        section=_("Channel incentives"),
        order=410,
    ),
)
