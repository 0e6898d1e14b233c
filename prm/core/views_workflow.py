"""Approval pages: the user's pending approvals and the action buttons' endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.workflow import (
    ACTIONS,
    workflow_document_url,
    workflow_instance_get,
    workflow_task_list,
)
from prm.core.workflow import workflow_act as workflow_act_service


@login_required
def workflow_tasks(request: HttpRequest) -> HttpResponse:
    """The approvals waiting on the signed-in user, each linked to its document."""
    tasks = list(workflow_task_list(user=request.user))
    rows = [
        {
            "task": task,
            "url": workflow_document_url(task.instance),
            "actions": ["approve", "reject", "delegate"],
        }
        for task in tasks
    ]
    return render(request, "core/workflow/tasks.html", {"rows": rows})


@login_required
@require_POST
def workflow_act(request: HttpRequest, instance_id: int, action: str) -> HttpResponse:
    """Approve / reject (reason) / withdraw / resubmit / delegate (to_user), then go back."""
    if action not in ACTIONS:
        raise Http404
    try:
        instance = workflow_instance_get(instance_id=instance_id, user=request.user)
    except NotFound as exc:
        raise Http404 from exc
    try:
        workflow_act_service(
            instance_id=instance.pk, action=action, actor=request.user, data=request.POST
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, str(_success_message(action)))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect(workflow_document_url(instance) or reverse("core:workflow_tasks"))


def _success_message(action: str) -> str:
    return {
        "approve": _("Approved."),
        "reject": _("Rejected."),
        "withdraw": _("Withdrawn."),
        "resubmit": _("Resubmitted for approval."),
        "delegate": _("Delegated."),
    }[action]
