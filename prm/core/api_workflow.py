"""API: workflow — the caller's pending approvals and the actions on an instance."""

from __future__ import annotations

from datetime import datetime

from ninja import Body, Router, Schema

from prm.core.exceptions import NotFound
from prm.core.workflow import (
    ACTIONS,
    workflow_act,
    workflow_document_url,
    workflow_instance_get,
    workflow_task_list,
)

router = Router(tags=["workflow"])


class TaskOut(Schema):
    id: int
    instance_id: int
    definition: str
    step: str
    round: int
    document: str
    document_url: str
    submitted_by: str
    due_at: datetime
    is_escalation: bool


class InstanceOut(Schema):
    id: int
    definition: str
    status: str
    current_step: int | None
    round: int
    decided_at: datetime | None


class ActionIn(Schema):
    comment: str = ""
    reason: str = ""
    to_user: str = ""


def _instance_out(instance) -> dict:
    return {
        "id": instance.pk,
        "definition": instance.definition.code,
        "status": instance.status,
        "current_step": instance.current_step,
        "round": instance.round,
        "decided_at": instance.decided_at,
    }


@router.get("/tasks", response=list[TaskOut], summary="My pending approvals")
def tasks(request):
    return [
        {
            "id": task.pk,
            "instance_id": task.instance_id,
            "definition": task.instance.definition.code,
            "step": task.step.name,
            "round": task.round,
            "document": str(task.instance.target or task.instance.target_id),
            "document_url": workflow_document_url(task.instance),
            "submitted_by": task.instance.submitted_by.username,
            "due_at": task.due_at,
            "is_escalation": task.is_escalation,
        }
        for task in workflow_task_list(user=request.user)
    ]


@router.post(
    "/instances/{instance_id}/{action}",
    response=InstanceOut,
    summary="Approve, reject (reason), withdraw, resubmit or delegate (to_user)",
)
def act(request, instance_id: int, action: str, payload: ActionIn | None = Body(None)):  # noqa: B008
    if action not in ACTIONS:
        raise NotFound()
    instance = workflow_instance_get(instance_id=instance_id, user=request.user)
    data = payload.dict() if payload is not None else {}
    instance = workflow_act(instance_id=instance.pk, action=action, actor=request.user, data=data)
    return _instance_out(instance)
