"""Registrations (menu, workflows, attachment owners, notification events) of agreements,
business codes, exits and the blacklist (imported from ``PartnersConfig.ready``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.core.attachments import attachment_owner_register
from prm.core.models import WorkflowStep
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register
from prm.partners.constants import AGREEMENT_WORKFLOW, EXIT_WORKFLOW
from prm.partners.models import Agreement
from prm.partners.selectors_agreements import agreement_list
from prm.partners.services import agreements as agreement_services
from prm.partners.services import exit as exit_services

PARTNERS_SECTION = _("Partners")

workflow_register(
    DefinitionSpec(
        code=AGREEMENT_WORKFLOW,
        name=_("Cooperation agreement"),
        steps=(
            StepSpec(
                name=_("Countersign by the partner managers"),
                approver_role="partner_manager",
                org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
                mode=WorkflowStep.Mode.COUNTERSIGN,
                deadline_hours=72,
            ),
            StepSpec(
                name=_("Finance approval"),
                approver_role="finance",
                org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
                deadline_hours=72,
            ),
        ),
        on_submitted=agreement_services.agreement_on_submitted,
        on_approved=agreement_services.agreement_on_approved,
        on_rejected=agreement_services.agreement_on_rejected,
        on_withdrawn=agreement_services.agreement_on_withdrawn,
        document_url=lambda target: reverse(
            "partners:agreement_detail", kwargs={"number": target.number}
        ),
    )
)

workflow_register(
    DefinitionSpec(
        code=EXIT_WORKFLOW,
        name=_("Partner exit application"),
        steps=(
            StepSpec(
                name=_("Partner manager decision"),
                approver_role="partner_manager",
                org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
                deadline_hours=120,
            ),
        ),
        on_submitted=exit_services.exit_on_submitted,
        on_approved=exit_services.exit_on_approved,
        on_rejected=exit_services.exit_on_rejected,
        on_withdrawn=exit_services.exit_on_withdrawn,
        document_url=lambda target: reverse(
            "partners:exit_detail", kwargs={"number": target.number}
        ),
    )
)

attachment_owner_register(
    Agreement,
    visible=lambda user: agreement_list(user=user),
    upload_permission="partners.manage_partner",
)

notification_event_register(
    "partners.agreement_signed",
    subject=_("Agreement %(number)s signed"),
    body=_(
        "The cooperation agreement %(number)s “%(title)s” with %(partner)s has been signed. "
        "Term: %(starts_on)s to %(ends_on)s."
    ),
)
notification_event_register(
    "partners.agreement_renewal_reminder",
    subject=_("Agreement %(number)s ends in %(days)s days"),
    body=_(
        "The cooperation agreement %(number)s “%(title)s” with %(partner)s ends on "
        "%(ends_on)s, in %(days)s days. Please arrange its renewal."
    ),
)
notification_event_register(
    "partners.agreement_terminated",
    subject=_("Agreement %(number)s terminated"),
    body=_(
        "The cooperation agreement %(number)s “%(title)s” with %(partner)s has been "
        "terminated. Reason: %(reason)s"
    ),
)
notification_event_register(
    "partners.exit_completed",
    subject=_("Partner exit %(number)s completed"),
    body=_(
        "%(partner)s has exited (%(kind)s). Reason: %(reason)s. Its accounts are disabled, "
        "its business codes released, its agreements terminated and its settlement stopped."
    ),
)

nav_register(
    NavItem(
        key="partner_agreements",
        label=_("Agreements"),
        url_name="partners:agreement_list",
        icon="file-earmark-text",
        permission="partners.view_agreement",
        section=PARTNERS_SECTION,
        order=230,
    ),
    NavItem(
        key="partner_business_codes",
        label=_("Business codes"),
        url_name="partners:code_list",
        icon="upc",
        permission="partners.view_businesscode",
        section=PARTNERS_SECTION,
        order=240,
    ),
    NavItem(
        key="partner_exits",
        label=_("Exits"),
        url_name="partners:exit_list",
        icon="box-arrow-right",
        permission="partners.view_exitcase",
        section=PARTNERS_SECTION,
        order=250,
    ),
    NavItem(
        key="partner_blacklist",
        label=_("Blacklist"),
        url_name="partners:blacklist",
        icon="slash-circle",
        permission="partners.view_blacklistentry",
        audience="operator",
        section=PARTNERS_SECTION,
        order=260,
    ),
)
