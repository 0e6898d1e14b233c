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
HOME_PROMOTER = "promoter"

_AUDIT = ("core.view_auditevent", "core.export_auditevent")
_ORG_READ = ("accounts.view_orgunit", "accounts.view_user")
# Reading partner and portal data (R1/R2); writes need the specific permissions below.
_PARTNER_READ = (
    "partners.view_partner",
    "partners.view_partnercategory",
    "partners.view_qualification",
    "partners.view_agreement",
    "partners.view_businesscode",
    "partners.view_changerequest",
    "partners.view_exitcase",
    "partners.view_blacklistentry",
    "partners.view_expert",
    "partners.view_expertpanel",
)
_PORTAL_READ = (
    "portal.view_announcement",
    "portal.view_breachcase",
    "portal.view_publicnotice",
    "portal.view_inquiry",
    "portal.view_knowledgearticle",
)
# What a partner's own users read in the portal (their own rows only: selectors scope).
_PARTNER_PORTAL = (
    "portal.view_announcement",
    "portal.view_breachcase",
    "portal.view_publicnotice",
    "portal.view_inquiry",
    "portal.add_inquiry",
    "portal.view_knowledgearticle",
)

# Channel incentives (R4): reading channels, promoters, products, runs and reports.
_INCENTIVES_READ = (
    "incentives.view_channel",
    "incentives.view_outlet",
    "incentives.view_promoter",
    "incentives.view_product",
    "incentives.view_rebateversion",
    "incentives.view_recommendation",
    "incentives.view_billingmonth",
    "incentives.view_settlementrun",
    "incentives.view_developmenttarget",
)

# Reading credit data (R3); the partner side reads only its own through view_own_credit.
_CREDIT_READ = (
    "credit.view_creditimport",
    "credit.view_revenuerecord",
    "credit.view_complaintrecord",
    "credit.view_unpaiditem",
    "credit.view_violation",
    "credit.view_ruleset",
    "credit.view_tierentitlement",
    "credit.view_evaluation",
    "credit.view_partnercredit",
    "credit.view_exitcheck",
    "credit.view_exitproposal",
    "credit.view_resourcecall",
    "credit.view_resourceplan",
    "credit.view_resourceallocation",
    "credit.view_businessreview",
)

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
            "core.change_calendarday",
        ),
        _("Manages orgs, users, roles and platform settings for their org subtree."),
    ),
    RoleSpec(
        "partner_manager",
        _("Partner manager"),
        "operator",
        HOME_MANAGEMENT,
        _ORG_READ
        + _PARTNER_READ
        + _PORTAL_READ
        + (
            "accounts.request_account",
            "accounts.view_accountrequest",
            "core.view_workflowinstance",
            "partners.review_partner",
            "partners.recommend_partner",
            "partners.manage_partner",
            "partners.manage_expert",
            "partners.manage_blacklist",
            "partners.change_partnercategory",
            "portal.publish_announcement",
            "portal.manage_breachcase",
            "portal.answer_inquiry",
            "portal.write_knowledgearticle",
            "portal.review_knowledgearticle",
            "tmf.view_partyrole",
            "tmf.manage_partyrole",
        )
        + _CREDIT_READ
        + ("credit.decide_exitproposal", "credit.decide_businessreview"),
        _("Manages partner onboarding, reviews and exits."),
    ),
    RoleSpec(
        "channel_manager",
        _("Channel manager"),
        "operator",
        HOME_MANAGEMENT,
        _ORG_READ
        + _INCENTIVES_READ
        + (
            "partners.view_partner",
            "portal.view_knowledgearticle",
            "portal.write_knowledgearticle",
            "core.view_workflowinstance",
            "incentives.add_channel",
            "incentives.change_channel",
            "incentives.add_promoter",
            "incentives.approve_promoter",
            "incentives.change_promoter",
            "incentives.sync_seats",
            "incentives.change_product",
            "incentives.import_billing",
            "incentives.start_settlementrun",
            "incentives.approve_settlementrun",
            "incentives.export_payout",
            "incentives.add_settlementadjustment",
            "incentives.change_developmenttarget",
        ),
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
        ("incentives.use_assist", "incentives.view_product"),
        _("Handles complaints and customer calls."),
    ),
    RoleSpec(
        "finance",
        _("Finance"),
        "operator",
        HOME_MANAGEMENT,
        (
            "accounts.view_orgunit",
            "partners.view_partner",
            "partners.view_agreement",
            "incentives.view_channel",
            "incentives.view_promoter",
            "incentives.view_settlementrun",
            "incentives.export_payout",
        ),
        _("Approves payouts and follows revenue."),
    ),
    RoleSpec(
        "auditor",
        _("Auditor (read-only)"),
        "operator",
        HOME_AUDIT,
        _ORG_READ
        + _AUDIT
        + _PARTNER_READ
        + _PORTAL_READ
        + _INCENTIVES_READ
        + _CREDIT_READ
        + ("tmf.view_partyrole",),
        _("Reads everything in their subtree, including the audit log; changes nothing."),
    ),
    RoleSpec(
        "partner_admin",
        _("Partner administrator"),
        "partner",
        HOME_PARTNER,
        ("accounts.view_user", "accounts.view_orgunit")
        + _PARTNER_PORTAL
        + (
            "partners.view_partner",
            "partners.view_qualification",
            "partners.add_qualification",
            "partners.view_agreement",
            "partners.view_businesscode",
            "partners.view_changerequest",
            "partners.add_changerequest",
            "partners.view_exitcase",
            "partners.add_exitcase",
            "credit.view_own_credit",
            "credit.submit_resourceplan",
            "credit.submit_businessreview",
        ),
        _("Manages the partner's own data and users."),
    ),
    RoleSpec(
        "partner_staff",
        _("Partner staff"),
        "partner",
        HOME_PARTNER,
        _PARTNER_PORTAL
        + ("partners.view_partner", "partners.view_qualification", "credit.view_own_credit"),
        _("Works on the partner's documents."),
    ),
    RoleSpec(
        "promoter",
        _("Promoter"),
        # Promoters sign in under the operator city that approved them (ADR 0014); their
        # selectors show only their own records and statements.
        "operator",
        HOME_PROMOTER,
        ("incentives.record_recommendation", "incentives.view_product"),
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

# Roles added with the partner lifecycle (R1).
ROLE_SPECS += (
    RoleSpec(
        "partner_applicant",
        _("Partner applicant"),
        "partner",
        HOME_PARTNER,
        ("partners.register_partner",),
        _("A company registering as a partner: sees only the registration pages."),
    ),
    RoleSpec(
        "expert",
        _("Review expert"),
        "operator",
        HOME_MANAGEMENT,
        ("partners.view_expertpanel",),
        _("Member of the expert pool: scores the applications of panels they are drawn for."),
    ),
)

# Roles added with partner credit and tiering (R3).
ROLE_SPECS += (
    RoleSpec(
        "credit_manager",
        _("Partner credit manager"),
        "operator",
        HOME_MANAGEMENT,
        _ORG_READ
        + _CREDIT_READ
        + (
            "partners.view_partner",
            "core.view_workflowinstance",
            "credit.import_rawdata",
            "credit.manage_ruleset",
            "credit.run_evaluation",
            "credit.publish_evaluation",
            "credit.manage_exemption",
            "credit.manage_entitlement",
            "credit.run_exitcheck",
            "credit.decide_exitproposal",
            "credit.manage_resourcecall",
            "credit.review_resourceplan",
            "credit.decide_businessreview",
        ),
        _("Keeps the credit raw data and rules, runs and publishes evaluations, decides exits."),
    ),
)

ROLE_BY_CODE = {spec.code: spec for spec in ROLE_SPECS}
