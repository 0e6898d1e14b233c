"""Workflow definitions owned by the accounts app (R0 workflow)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.accounts.services import requests as account_requests
from prm.core.models import WorkflowStep
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register


def _document_url(target) -> str:
    return reverse("accounts:request_detail", kwargs={"code": target.code})


ACCOUNT_REQUEST = workflow_register(
    DefinitionSpec(
        code=account_requests.ACCOUNT_REQUEST_WORKFLOW,
        name=_("Operator account request"),
        steps=(
            StepSpec(
                name=_("Province system admin approval"),
                approver_role="system_admin",
                org_scope=WorkflowStep.OrgScope.LEVEL,
                org_level="province",
                deadline_hours=48,
            ),
        ),
        on_submitted=account_requests.account_request_on_submitted,
        on_approved=account_requests.account_request_on_approved,
        on_rejected=account_requests.account_request_on_rejected,
        on_withdrawn=account_requests.account_request_on_withdrawn,
        document_url=_document_url,
    )
)
