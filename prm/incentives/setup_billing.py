"""Registrations of the billing store and the call-centre assist (imported in
IncentivesConfig.ready): menu entries, the recommendation SMS and the import task.

The assist has no setup module of its own in ``SETUP_MODULES``; it reads the billing
store and is registered here with it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.incentives import tasks_billing  # noqa: F401  (registers the Celery task)
from prm.incentives.constants import EVENT_RECOMMENDATION_SMS, INCENTIVES_SECTION

nav_register(
    NavItem(
        key="incentives_billing",
        label=_("Billing extracts"),
        url_name="incentives:billing_month_list",
        icon="database",
        permission="incentives.view_billingmonth",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=460,
    ),
    NavItem(
        key="incentives_assist",
        label=_("Call-centre assist"),
        url_name="incentives:assist",
        icon="headset",
        permission="incentives.use_assist",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=470,
    ),
)

# Sent by a call-centre agent to a calling subscriber (R4 call-centre assist).
notification_event_register(
    EVENT_RECOMMENDATION_SMS,
    subject=_("A product recommended for you"),
    body=_("We recommend %(product)s for you (%(fee)s yuan a month). Call us back to open it."),
)
