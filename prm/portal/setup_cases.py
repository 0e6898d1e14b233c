"""Registrations of breach investigations and inquiries (imported in PortalConfig.ready):
menu entries, attachment owners and notification events."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.attachments import attachment_owner_register
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.portal.models import BreachCase, BreachResponse, Inquiry
from prm.portal.selectors_cases import (
    breach_case_visible,
    breach_response_visible,
    inquiry_visible,
)

PORTAL_SECTION = _("Portal")

nav_register(
    NavItem(
        key="portal_cases",
        label=_("Breach investigations"),
        url_name="portal:case_list",
        icon="exclamation-octagon",
        permission="portal.view_breachcase",
        section=PORTAL_SECTION,
        order=330,
    ),
    NavItem(
        key="portal_inquiries",
        label=_("Inquiries"),
        url_name="portal:inquiry_list",
        icon="question-circle",
        permission="portal.view_inquiry",
        section=PORTAL_SECTION,
        order=340,
    ),
)

# Staff evidence can be added to a case later through the generic upload page; a
# partner's evidence comes only with its response, an inquiry's files only with it.
attachment_owner_register(
    BreachCase, visible=breach_case_visible, upload_permission="portal.manage_breachcase"
)
attachment_owner_register(BreachResponse, visible=breach_response_visible)
attachment_owner_register(Inquiry, visible=inquiry_visible)

EVENT_CASE_OPENED = "portal.breach_case_opened"
EVENT_CASE_RESPONDED = "portal.breach_case_responded"
EVENT_CASE_OVERDUE = "portal.breach_case_overdue"
EVENT_CASE_UPHELD = "portal.breach_case_upheld"
EVENT_CASE_NOT_UPHELD = "portal.breach_case_not_upheld"
EVENT_INQUIRY_CREATED = "portal.inquiry_created"
EVENT_INQUIRY_ANSWERED = "portal.inquiry_answered"
EVENT_INQUIRY_REOPENED = "portal.inquiry_reopened"
EVENT_INQUIRY_DUE_SOON = "portal.inquiry_due_soon"
EVENT_INQUIRY_OVERDUE = "portal.inquiry_overdue"

notification_event_register(
    EVENT_CASE_OPENED,
    subject=_("Breach investigation %(number)s"),
    body=_(
        "The operator opened breach investigation %(number)s about %(business)s "
        "(%(violation_type)s). Please submit your feedback and evidence by %(due)s."
    ),
)
notification_event_register(
    EVENT_CASE_RESPONDED,
    subject=_("Response to breach investigation %(number)s"),
    body=_("%(partner)s responded to breach investigation %(number)s."),
)
notification_event_register(
    EVENT_CASE_OVERDUE,
    subject=_("No response to breach investigation %(number)s"),
    body=_(
        "%(partner)s did not respond to breach investigation %(number)s by %(due)s. "
        "The case can now be decided."
    ),
)
notification_event_register(
    EVENT_CASE_UPHELD,
    subject=_("Breach investigation %(number)s upheld"),
    body=_(
        "Breach investigation %(number)s was upheld. Reasons: %(reason)s Penalties: %(penalties)s"
    ),
)
notification_event_register(
    EVENT_CASE_NOT_UPHELD,
    subject=_("Breach investigation %(number)s not upheld"),
    body=_("Breach investigation %(number)s was not upheld. Reasons: %(reason)s"),
)
notification_event_register(
    EVENT_INQUIRY_CREATED,
    subject=_("New inquiry %(number)s"),
    body=_("%(partner)s asks: %(subject)s. Please answer by %(due)s."),
)
notification_event_register(
    EVENT_INQUIRY_ANSWERED,
    subject=_("Your inquiry %(number)s was answered"),
    body=_("Your inquiry %(number)s (%(subject)s) was answered."),
)
notification_event_register(
    EVENT_INQUIRY_REOPENED,
    subject=_("Inquiry %(number)s reopened"),
    body=_("%(partner)s reopened inquiry %(number)s (%(subject)s). Please answer by %(due)s."),
)
notification_event_register(
    EVENT_INQUIRY_DUE_SOON,
    subject=_("Inquiry %(number)s is due soon"),
    body=_("Inquiry %(number)s from %(partner)s (%(subject)s) must be answered by %(due)s."),
)
notification_event_register(
    EVENT_INQUIRY_OVERDUE,
    subject=_("Inquiry %(number)s is overdue"),
    body=_(
        "Inquiry %(number)s from %(partner)s (%(subject)s) was due by %(due)s and is "
        "not answered yet."
    ),
)
