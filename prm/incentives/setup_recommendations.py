"""Registrations of recommendations (imported in IncentivesConfig.ready): menu entries,
the confirmation SMS and the billing retry task."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.incentives import tasks_recommendations  # noqa: F401  (registers the Celery task)
from prm.incentives.constants import EVENT_CONFIRMATION_SMS, INCENTIVES_SECTION

nav_register(
    NavItem(
        key="incentives_recommendation_new",
        label=_("New recommendation"),
        url_name="incentives:recommendation_create",
        icon="person-plus",
        permission="incentives.record_recommendation",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=425,
    ),
    NavItem(
        key="incentives_recommendation_mine",
        label=_("My recommendations"),
        url_name="incentives:recommendation_mine",
        icon="card-checklist",
        permission="incentives.record_recommendation",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=426,
    ),
    NavItem(
        key="incentives_recommendations",
        label=_("Recommendations"),
        url_name="incentives:recommendation_list",
        icon="card-checklist",
        permission="incentives.view_recommendation",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=430,
    ),
)

# Sent to the subscriber when a promoter records a recommendation (R4: the subscriber
# confirms by SMS reply). The code is redacted in the stored SMS log.
notification_event_register(
    EVENT_CONFIRMATION_SMS,
    subject=_("Please confirm the recommended product"),
    body=_(
        "%(promoter)s recommended %(product)s (%(fee)s yuan/month). "
        "Reply Y %(code)s to confirm, N %(code)s to decline."
    ),
)
