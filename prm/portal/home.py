"""The portal's cards on the home pages (registered with core's dashboard)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.core.dashboard import HomePanel, home_panel_register
from prm.partners.selectors import partner_of_user
from prm.portal.models import BreachCase, Inquiry
from prm.portal.selectors_announcements import announcement_unread_count, knowledge_review_queue
from prm.portal.selectors_cases import breach_case_list, inquiry_list, inquiry_overdue_count


def _staff_figures(user) -> list[tuple[str, int, str]]:
    if user.is_partner_user or not user.has_perm("portal.view_breachcase"):
        return []
    cases = breach_case_list(user=user)
    return [
        (
            _("Breach cases awaiting the partner"),
            cases.filter(status=BreachCase.Status.AWAITING_RESPONSE).count(),
            reverse("portal:case_list") + "?status=awaiting_response",
        ),
        (
            _("Breach cases to decide"),
            cases.filter(status=BreachCase.Status.RESPONDED).count(),
            reverse("portal:case_list") + "?status=responded",
        ),
        (
            _("Inquiries overdue"),
            inquiry_overdue_count(user=user),
            reverse("portal:inquiry_list") + "?overdue=on",
        ),
        (
            _("Knowledge articles to review"),
            knowledge_review_queue(user=user).count(),
            reverse("portal:knowledge_list") + "?tab=review",
        ),
    ]


def _partner_figures(user) -> list[tuple[str, int, str]]:
    partner = partner_of_user(user)
    if partner is None or partner.is_application:
        return []
    cases = breach_case_list(user=user).filter(status=BreachCase.Status.AWAITING_RESPONSE)
    inquiries = inquiry_list(user=user).filter(status=Inquiry.Status.OPEN)
    return [
        (
            _("Unread announcements"),
            announcement_unread_count(partner=partner),
            reverse("portal:announcement_list"),
        ),
        (_("Breach cases to answer"), cases.count(), reverse("portal:case_list")),
        (_("Open inquiries"), inquiries.count(), reverse("portal:inquiry_list")),
    ]


home_panel_register(
    HomePanel(
        key="portal_staff",
        title=gettext_lazy("Partner portal"),
        views=("management", "admin", "audit", "cs"),
        figures=_staff_figures,
        icon="megaphone",
        order=20,
    ),
    HomePanel(
        key="portal_partner",
        title=gettext_lazy("Portal"),
        views=("partner",),
        figures=_partner_figures,
        icon="megaphone",
        order=20,
    ),
)
