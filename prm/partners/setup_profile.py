"""Registrations of the registry / profile / qualifications concern (imported at app
ready): URL converters, the change-request workflow, notification events and menu
entries. ``Qualification`` is registered as an attachment owner by ``setup_registration``
(its documents); qualification scans use that registration."""

from __future__ import annotations

from django.urls import register_converter, reverse
from django.utils.translation import gettext_lazy as _

from prm.core.models import WorkflowStep
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register
from prm.partners.constants import CHANGE_REQUEST_WORKFLOW
from prm.partners.services import profile as profile_services


class PartnerCodeConverter:
    """A partner code (``P-2026-000123``): upper-case letters, a dash, then more.

    Lower-case words (``registration-status``, ``agreements``) never match, so the
    registry's ``/{code}`` routes cannot swallow the other concerns' paths.
    """

    regex = r"[A-Z]{1,4}-[0-9A-Za-z-]{1,30}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


class PartnerKeyConverter(PartnerCodeConverter):
    """A partner code, or the id of an application that has no code yet."""

    regex = r"[A-Z]{1,4}-[0-9A-Za-z-]{1,30}|[0-9]{1,12}"


register_converter(PartnerCodeConverter, "partner_code")
register_converter(PartnerKeyConverter, "partner_key")


def _change_request_url(target) -> str:
    return reverse("partners:change_request_detail", kwargs={"number": target.number})


workflow_register(
    DefinitionSpec(
        code=CHANGE_REQUEST_WORKFLOW,
        name=_("Partner data change request"),
        steps=(
            StepSpec(
                # Routed from the partner's managing org (workflow_submit(org=…)).
                name=_("Partner manager review"),
                approver_role="partner_manager",
                org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
                deadline_hours=48,
            ),
        ),
        on_submitted=profile_services.change_request_on_submitted,
        on_approved=profile_services.change_request_on_approved,
        on_rejected=profile_services.change_request_on_rejected,
        on_withdrawn=profile_services.change_request_on_withdrawn,
        document_url=_change_request_url,
    )
)

notification_event_register(
    "partners.change_request_approved",
    subject=_("Change request %(number)s approved"),
    body=_("The change request %(number)s of %(partner)s was approved; the new data is in effect."),
)
notification_event_register(
    "partners.change_request_rejected",
    subject=_("Change request %(number)s rejected"),
    body=_(
        "%(actor)s rejected the change request %(number)s of %(partner)s. Reason: %(reason)s. "
        "It may be resubmitted or withdrawn."
    ),
)
notification_event_register(
    "partners.qualification_expiring",
    subject=_("Qualification expiring: %(name)s"),
    body=_(
        "The qualification %(name)s of %(partner)s expires on %(expires_on)s (in %(days)s "
        "days). Renew it in time: while a mandatory qualification is expired, no new "
        "business is started with the partner."
    ),
)
notification_event_register(
    "partners.business_suspended",
    subject=_("New business suspended: %(partner)s"),
    body=_(
        "Mandatory qualifications of %(partner)s have expired: %(names)s. No new business "
        "is started with the partner until they are renewed."
    ),
)
notification_event_register(
    "partners.business_resumed",
    subject=_("New business resumed: %(partner)s"),
    body=_(
        "The mandatory qualifications of %(partner)s are valid again: new business is no "
        "longer suspended."
    ),
)

PARTNERS_SECTION = _("Partners")

nav_register(
    NavItem(
        key="partners_registry",
        label=_("Partner registry"),
        url_name="partners:partner_list",
        icon="buildings",
        permission="partners.view_partner",
        audience="operator",
        section=PARTNERS_SECTION,
        order=205,
    ),
    NavItem(
        key="partners_change_requests",
        label=_("Change requests"),
        url_name="partners:change_request_list",
        icon="pencil-square",
        permission="partners.view_changerequest",
        audience="all",
        section=PARTNERS_SECTION,
        order=265,
    ),
    NavItem(
        key="partners_my_company",
        label=_("My company"),
        url_name="partners:my_profile",
        icon="building",
        permission="partners.view_partner",
        audience="partner",
        section=PARTNERS_SECTION,
        order=200,
    ),
)
