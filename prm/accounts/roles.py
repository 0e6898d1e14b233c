"""The roles of R0, their permissions and home views.

Synchronised into ``Role`` + ``Group`` rows after migrations (``roles_sync``). The
permissions of a role may then be changed by a system admin on the roles page; a later
sync adds permissions newly declared here but never removes ones an admin granted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    audience: str  # "operator" or "partner"
    home_view: str
    permissions: tuple[str, ...]
    description: str = ""


# Home views (seed 002 8.1.1): management, operations, account manager, customer, CS.
HOME_MANAGEMENT = "management"
HOME_OPERATIONS = "operations"
HOME_ACCOUNT_MANAGER = "account_manager"
HOME_CS = "cs"
HOME_PARTNER = "partner"
HOME_AUDIT = "audit"
HOME_ADMIN = "admin"

_AUDIT = ("core.view_auditevent", "core.export_auditevent")
_ORG_READ = ("accounts.view_orgunit", "accounts.view_user")

ROLE_SPECS: tuple[RoleSpec, ...] = (
    RoleSpec(
        "system_admin",
        _("System administrator"),
        "operator",
        HOME_ADMIN,
        _ORG_READ
        + _AUDIT
        + (
            "accounts.manage_orgunit",
            "accounts.manage_user",
            "accounts.view_role",
            "accounts.manage_role",
            "accounts.request_account",
            "accounts.view_accountrequest",
            "core.view_importjob",
            "core.view_workflowinstance",
            "core.change_region",
            "core.change_numbersegment",
        ),
        _("Manages orgs, users, roles and platform settings for their org subtree."),
    ),
    RoleSpec(
        "partner_manager",
        _("Partner manager"),
        "operator",
        HOME_MANAGEMENT,
        _ORG_READ + ("accounts.request_account", "accounts.view_accountrequest"),
        _("Manages partner onboarding, reviews and exits."),
    ),
    RoleSpec(
        "channel_manager",
        _("Channel manager"),
        "operator",
        HOME_MANAGEMENT,
        _ORG_READ,
        _("Manages channels, promoters and incentive settlements."),
    ),
    RoleSpec(
        "account_manager",
        _("Account manager"),
        "operator",
        HOME_ACCOUNT_MANAGER,
        ("accounts.view_orgunit",),
        _("Owns group customers and their sales opportunities."),
    ),
    RoleSpec(
        "presales_manager",
        _("Presales support manager"),
        "operator",
        HOME_ACCOUNT_MANAGER,
        ("accounts.view_orgunit",),
        _("Supports key opportunities with solutions."),
    ),
    RoleSpec(
        "project_manager",
        _("Project manager"),
        "operator",
        HOME_OPERATIONS,
        ("accounts.view_orgunit",),
        _("Delivers projects and provisioning."),
    ),
    RoleSpec(
        "operations_staff",
        _("Operations / monitoring staff"),
        "operator",
        HOME_OPERATIONS,
        ("accounts.view_orgunit",),
        _("Watches alarms, tickets and SLAs."),
    ),
    RoleSpec(
        "cs_agent",
        _("Customer service agent"),
        "operator",
        HOME_CS,
        (),
        _("Handles complaints and customer calls."),
    ),
    RoleSpec(
        "finance",
        _("Finance"),
        "operator",
        HOME_MANAGEMENT,
        ("accounts.view_orgunit",),
        _("Approves payouts and follows revenue."),
    ),
    RoleSpec(
        "auditor",
        _("Auditor (read-only)"),
        "operator",
        HOME_AUDIT,
        _ORG_READ + _AUDIT,
        _("Reads everything in their subtree, including the audit log; changes nothing."),
    ),
    RoleSpec(
        "partner_admin",
        _("Partner administrator"),
        "partner",
        HOME_PARTNER,
        ("accounts.view_user", "accounts.view_orgunit"),
        _("Manages the partner's own data and users."),
    ),
    RoleSpec(
        "partner_staff",
        _("Partner staff"),
        "partner",
        HOME_PARTNER,
        (),
        _("Works on the partner's documents."),
    ),
    RoleSpec(
        "promoter",
        _("Promoter"),
        "partner",
        HOME_PARTNER,
        (),
        _("Records recommendations and sees their own rebates."),
    ),
    RoleSpec(
        "field_engineer",
        _("Field engineer"),
        "partner",
        HOME_PARTNER,
        (),
        _("Handles inspections and work orders on a phone."),
    ),
)

ROLE_BY_CODE = {spec.code: spec for spec in ROLE_SPECS}
