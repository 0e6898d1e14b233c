"""Registrations of the settlement runs (imported in IncentivesConfig.ready): the approval
workflow city → province, notification events, menu entries and the Celery tasks."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.core.models import WorkflowStep
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register
from prm.incentives import tasks  # noqa: F401  (registers the Celery tasks)
from prm.incentives.constants import (
    EVENT_RUN_APPROVED,
    EVENT_RUN_COMPUTED,
    EVENT_RUN_FAILED,
    EVENT_RUN_NOT_STARTED,
    INCENTIVES_SECTION,
    SETTLEMENT_WORKFLOW,
)
from prm.incentives.services import settlement as services

# R4 commission management: approval by the city, then by the province.
workflow_register(
    DefinitionSpec(
        code=SETTLEMENT_WORKFLOW,
        name=_("Rebate settlement"),
        steps=(
            StepSpec(
                name=_("City channel manager approval"),
                approver_role="channel_manager",
                org_scope=WorkflowStep.OrgScope.SUBMITTER_ORG,
                deadline_hours=72,
            ),
            StepSpec(
                name=_("Province channel manager approval"),
                approver_role="channel_manager",
                org_scope=WorkflowStep.OrgScope.LEVEL,
                org_level="province",
                deadline_hours=72,
            ),
        ),
        on_submitted=services.settlement_on_submitted,
        on_approved=services.settlement_on_approved,
        on_rejected=services.settlement_on_rejected,
        on_withdrawn=services.settlement_on_withdrawn,
        before_approve=services.settlement_before_approve,
        document_url=lambda target: reverse(
            "incentives:run_detail", kwargs={"number": target.number}
        ),
    )
)

notification_event_register(
    EVENT_RUN_COMPUTED,
    subject=_("Settlement %(number)s computed"),
    body=_(
        "The settlement %(number)s of %(city)s for %(period)s is computed: %(records)s "
        "records, %(qualified)s qualified, %(payable)s yuan payable. Check it and submit "
        "it for approval."
    ),
)
notification_event_register(
    EVENT_RUN_FAILED,
    subject=_("Settlement %(number)s failed"),
    body=_(
        "The settlement %(number)s of %(city)s for %(period)s failed: %(message)s "
        "Correct the cause and run it again."
    ),
)
notification_event_register(
    EVENT_RUN_APPROVED,
    subject=_("Settlement %(number)s approved"),
    body=_(
        "The settlement %(number)s of %(city)s for %(period)s is approved: %(payable)s yuan "
        "payable to %(promoters)s promoters. The payout file can now be produced."
    ),
)
notification_event_register(
    EVENT_RUN_NOT_STARTED,
    subject=_("Settlement of %(period)s not started for %(city)s"),
    body=_("The monthly settlement of %(city)s for %(period)s could not start: %(reason)s"),
)

nav_register(
    NavItem(
        key="incentives_settlement_runs",
        label=_("Settlement runs"),
        url_name="incentives:run_list",
        icon="calculator",
        permission="incentives.view_settlementrun",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=470,
    ),
    NavItem(
        key="incentives_settlement_adjustments",
        label=_("Settlement adjustments"),
        url_name="incentives:adjustment_list",
        icon="plus-slash-minus",
        permission="incentives.view_settlementrun",
        audience="operator",
        section=INCENTIVES_SECTION,
        order=475,
    ),
)
