"""Registrations of the promoter concern (imported by ``IncentivesConfig.ready``): the
registration approval workflow, the notification events, the menu entries and the
seat-synchronisation task."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.core.models import WorkflowStep
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register
from prm.incentives import tasks_promoters  # noqa: F401  (registers the Celery task)
from prm.incentives.constants import (
    EVENT_PROMOTER_APPROVED,
    EVENT_PROMOTER_REJECTED,
    INCENTIVES_SECTION,
    PROMOTER_WORKFLOW,
)
from prm.incentives.services import promoters


def _document_url(target) -> str:
    return reverse("incentives:promoter_detail", kwargs={"public_id": target.public_id})


# R4: the city admin (the city's channel manager) approves a promoter registration.
PROMOTER_REGISTRATION = workflow_register(
    DefinitionSpec(
        code=PROMOTER_WORKFLOW,
        name=_("Promoter registration"),
        steps=(
            StepSpec(
                name=_("City admin approval"),
                approver_role="channel_manager",
                org_scope=WorkflowStep.OrgScope.LEVEL,
                org_level="city",
                deadline_hours=72,
                remind_before_hours=24,
            ),
        ),
        on_submitted=promoters.promoter_on_submitted,
        on_approved=promoters.promoter_on_approved,
        on_rejected=promoters.promoter_on_rejected,
        on_withdrawn=promoters.promoter_on_withdrawn,
        before_approve=promoters.promoter_before_approve,
        document_url=_document_url,
    )
)

# SMS to the promoter's own number (``notify_number``); the password is never stored.
notification_event_register(
    EVENT_PROMOTER_APPROVED,
    subject=_("Promoter registration approved"),
    body=_(
        "%(name)s, your promoter registration is approved. Your work ID %(work_id)s is "
        "your PRM login; initial password: %(password)s. Change it when you first sign in."
    ),
)
notification_event_register(
    EVENT_PROMOTER_REJECTED,
    subject=_("Promoter registration not approved"),
    body=_(
        "%(name)s, your promoter registration was not approved. Reason: %(reason)s. "
        "You may register again."
    ),
)

nav_register(
    NavItem(
        key="incentives_promoters",
        label=_("Promoters"),
        url_name="incentives:promoter_list",
        icon="people",
        permission="incentives.view_promoter",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=402,
    ),
    NavItem(
        key="incentives_promoter_register",
        label=_("Register a promoter"),
        url_name="incentives:promoter_register_intranet",
        icon="person-plus",
        permission="incentives.add_promoter",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=403,
    ),
    NavItem(
        key="incentives_seat_sync",
        label=_("Seat synchronisation"),
        url_name="incentives:seat_sync_list",
        icon="headset",
        permission="incentives.sync_seats",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=404,
    ),
)
