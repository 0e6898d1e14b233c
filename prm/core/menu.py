"""Menu entries of the platform pages (registered in CoreConfig.ready)."""

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register

nav_register(
    NavItem(
        key="approvals",
        label=_("Approvals"),
        url_name="core:workflow_tasks",
        icon="check2-square",
        audience="operator",
        order=10,
    ),
    NavItem(
        key="imports",
        label=_("Imports"),
        url_name="core:import_list",
        icon="upload",
        permission="accounts.manage_user",
        audience="operator",
        section=_("Administration"),
        order=840,
    ),
    NavItem(
        key="audit",
        label=_("Audit log"),
        url_name="core:audit_list",
        icon="journal-text",
        permission="core.view_auditevent",
        audience="operator",
        order=900,
    ),
)
