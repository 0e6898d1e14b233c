"""Menu entries of the accounts and console pages (registered in AccountsConfig.ready)."""

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register

ADMINISTRATION = _("Administration")

nav_register(
    NavItem(
        key="account_requests",
        label=_("Account requests"),
        url_name="accounts:request_list",
        icon="person-plus",
        permission="accounts.view_accountrequest",
        audience="operator",
        order=700,
    ),
    NavItem(
        key="console_orgs",
        label=_("Org units"),
        url_name="console:org_list",
        icon="diagram-3",
        permission="accounts.view_orgunit",
        section=ADMINISTRATION,
        order=800,
    ),
    NavItem(
        key="console_users",
        label=_("Users"),
        url_name="console:user_list",
        icon="people",
        permission="accounts.view_user",
        section=ADMINISTRATION,
        order=810,
    ),
    NavItem(
        key="console_roles",
        label=_("Roles"),
        url_name="console:role_list",
        icon="shield-lock",
        permission="accounts.view_role",
        audience="operator",
        section=ADMINISTRATION,
        order=820,
    ),
)
