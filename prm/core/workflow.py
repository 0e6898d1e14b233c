"""The one approval engine (R0 workflow): definitions, instances, tasks and the trail.

Owning apps declare definitions in code with :func:`workflow_register`; after migrations
they are synchronised into ``WorkflowDefinition``/``WorkflowStep`` rows. A document is
put through a definition with :func:`workflow_submit`; approvers act on their tasks with
the ``workflow_*`` services below; the Celery beat job :func:`workflow_deadlines_check`
sends reminders and escalates overdue tasks.

Rules (R0 workflow):

- Approvers of a step are the active users holding the step's role at the org node the
  step's scope points to (the submitter's org, its parent, or the nearest ancestor of a
  kind). The submitter never approves their own document (four-eyes).
- ``any`` mode: the first approval decides the step. ``countersign`` (会签): every
  approver must approve. Any rejection rejects the whole document; the submitter may
  then resubmit (a new round; the trail keeps every round) or withdraw it.
- A pending task may be delegated to another active user in the delegator's subtree.
- A task due within ``remind_before_hours`` gets one reminder; an overdue task is
  escalated once to the same role one org level up. The escalation task (and any
  delegation) stands in for the original "seat": in countersign mode the first decision
  on a seat settles it.

The engine does not import domain apps: users come from ``get_user_model()`` and org
units from ``apps.get_model("accounts", "OrgUnit")``. Domain apps react through the
callbacks of their :class:`DefinitionSpec`, run inside the engine's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.core import notifications
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import (
    WorkflowAction,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowStep,
    WorkflowTask,
)
from prm.core.scoping import path_in_scope

logger = logging.getLogger(__name__)

Status = WorkflowInstance.Status
TaskStatus = WorkflowTask.Status
Kind = WorkflowAction.Kind


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    name: str
    approver_role: str
    org_scope: str = WorkflowStep.OrgScope.SUBMITTER_ORG
    org_level: str = ""
    mode: str = WorkflowStep.Mode.ANY
    deadline_hours: int = 48
    remind_before_hours: int = 8


@dataclass(frozen=True)
class DefinitionSpec:
    """A workflow declared by its owning app, with the callbacks into that app's services.

    Callbacks are ``fn(*, instance, actor)``, run inside the engine's transaction (a
    refusal there rolls the whole action back). ``actor`` is ``None`` for none of them
    today. ``document_url(target)`` gives the document page the task list links to.
    """

    code: str
    name: str
    steps: tuple[StepSpec, ...]
    on_submitted: Callable | None = None
    on_approved: Callable | None = None
    on_rejected: Callable | None = None
    on_withdrawn: Callable | None = None
    document_url: Callable | None = field(default=None)
    # ``fn(*, instance, actor, step)`` before a step's approval is recorded; raising an
    # ApplicationError refuses the approval (e.g. "the expert panel has not scored").
    before_approve: Callable | None = None


_registry: dict[str, DefinitionSpec] = {}


def workflow_register(spec: DefinitionSpec) -> DefinitionSpec:
    _registry[spec.code] = spec
    return spec


def workflow_spec(code: str) -> DefinitionSpec | None:
    return _registry.get(code)


def workflow_definitions_sync() -> None:
    """Create or update the definitions and steps declared in code."""
    for spec in _registry.values():
        definition, _created = WorkflowDefinition.objects.update_or_create(
            code=spec.code, defaults={"name": str(spec.name)}
        )
        for order, step in enumerate(spec.steps, start=1):
            WorkflowStep.objects.update_or_create(
                definition=definition,
                order=order,
                defaults={
                    "name": str(step.name),
                    "approver_role": step.approver_role,
                    "org_scope": step.org_scope,
                    "org_level": step.org_level,
                    "mode": step.mode,
                    "deadline_hours": step.deadline_hours,
                    "remind_before_hours": step.remind_before_hours,
                },
            )


def definitions_sync_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", None) == "core":
        workflow_definitions_sync()


# --------------------------------------------------------------------------------------
# Notifications (event templates with %(name)s placeholders; bilingual via gettext)
# --------------------------------------------------------------------------------------

WORKFLOW_EVENTS: dict[str, tuple[Any, Any]] = {
    "workflow.task_assigned": (
        gettext_lazy("Approval needed: %(document)s"),
        gettext_lazy(
            "%(submitter)s submitted %(document)s (%(definition)s) for your approval "
            "at the step “%(step)s”. Please decide by %(due_at)s."
        ),
    ),
    "workflow.delegated": (
        gettext_lazy("Approval delegated to you: %(document)s"),
        gettext_lazy(
            "%(actor)s delegated the approval of %(document)s (%(definition)s) at the "
            "step “%(step)s” to you. Please decide by %(due_at)s."
        ),
    ),
    "workflow.approved": (
        gettext_lazy("Approved: %(document)s"),
        gettext_lazy("%(document)s (%(definition)s) has been approved."),
    ),
    "workflow.rejected": (
        gettext_lazy("Rejected: %(document)s"),
        gettext_lazy(
            "%(actor)s rejected %(document)s (%(definition)s). Reason: %(reason)s. "
            "You may correct it and resubmit, or withdraw it."
        ),
    ),
    "workflow.withdrawn": (
        gettext_lazy("Withdrawn: %(document)s"),
        gettext_lazy(
            "%(actor)s withdrew %(document)s (%(definition)s); your approval is no longer needed."
        ),
    ),
    "workflow.reminder": (
        gettext_lazy("Reminder: %(document)s awaits your approval"),
        gettext_lazy(
            "%(document)s (%(definition)s) awaits your approval at the step “%(step)s”. "
            "It is due by %(due_at)s."
        ),
    ),
    "workflow.escalated": (
        gettext_lazy("Overdue approval escalated: %(document)s"),
        gettext_lazy(
            "The approval of %(document)s (%(definition)s) at the step “%(step)s” by "
            "%(assignee)s was due by %(due_at)s. It has been escalated to %(escalated_to)s."
        ),
    ),
}

for _code, (_subject, _body) in WORKFLOW_EVENTS.items():
    notifications.notification_event_register(_code, subject=_subject, body=_body)


def _notify(
    *,
    recipients: Iterable,
    event: str,
    context: dict[str, Any],
    link: str = "",
    channels: tuple[str, ...] = ("inbox", "email"),
) -> None:
    """Hand a notification to ``prm.core.notifications.notify`` when that exists.

    Called through ``transaction.on_commit`` only. A failure to notify never undoes a
    decision that is already committed: it is logged.
    """
    recipients = [user for user in recipients if user is not None]
    if not recipients:
        return
    try:
        notifications.notify(
            recipients=recipients, event=event, context=context, link=link, channels=channels
        )
    except Exception:  # noqa: BLE001  (a committed decision stands; the failure is logged)
        logger.exception("workflow notification %s failed", event)


def _notify_on_commit(**kwargs) -> None:
    transaction.on_commit(partial(_notify, **kwargs))


# --------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------


def _user_model():
    return get_user_model()


def _parent_path(path: str) -> str | None:
    parts = [part for part in path.strip("/").split("/") if part]
    if len(parts) <= 1:
        return None
    return "/" + "/".join(parts[:-1]) + "/"


def _ancestor_paths(path: str) -> list[str]:
    """The paths of the node at ``path`` and its ancestors, nearest first."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "/".join(parts[:length]) + "/" for length in range(len(parts), 0, -1)]


def _step_org_path(step: WorkflowStep, submitter_org_path: str) -> str | None:
    """The path of the org node where the step's approvers sit."""
    if step.org_scope == WorkflowStep.OrgScope.SUBMITTER_ORG:
        return submitter_org_path
    if step.org_scope == WorkflowStep.OrgScope.PARENT:
        return _parent_path(submitter_org_path)
    org_unit = apps.get_model("accounts", "OrgUnit")
    candidates = dict(
        org_unit.objects.filter(
            path__in=_ancestor_paths(submitter_org_path), kind=step.org_level
        ).values_list("path", "pk")
    )
    for path in _ancestor_paths(submitter_org_path):
        if path in candidates:
            return path
    return None


def _approvers(*, role: str, org_path: str | None, exclude_ids: Iterable[int]) -> list:
    if not org_path:
        return []
    users = _user_model().objects.approvers_for(role_code=role, org_path=org_path)
    return list(users.exclude(pk__in=list(exclude_ids)).order_by("pk"))


def _document(instance: WorkflowInstance):
    try:
        return instance.target
    except Exception:  # noqa: BLE001  (a deleted target still leaves a readable trail)
        return None


def _document_label(instance: WorkflowInstance) -> str:
    target = _document(instance)
    return str(target) if target is not None else f"#{instance.target_id}"


def workflow_document_url(instance: WorkflowInstance) -> str:
    """The page of the document an instance approves ("" when the app gives none)."""
    spec = workflow_spec(instance.definition.code)
    target = _document(instance)
    if spec is None or spec.document_url is None or target is None:
        return ""
    return str(spec.document_url(target))


def _context(instance: WorkflowInstance, **extra) -> dict[str, Any]:
    context = {
        "document": _document_label(instance),
        "definition": instance.definition.name,
        "submitter": instance.submitted_by.display_name,
        "round": instance.round,
    }
    context.update({key: str(value) for key, value in extra.items()})
    return context


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _callback(instance: WorkflowInstance, name: str, actor) -> None:
    spec = workflow_spec(instance.definition.code)
    function = getattr(spec, name, None) if spec is not None else None
    if function is not None:
        function(instance=instance, actor=actor)


def _lock(instance_id: int) -> WorkflowInstance:
    instance = (
        WorkflowInstance.objects.select_for_update(of=("self",))
        .select_related("definition", "submitted_by")
        .filter(pk=instance_id)
        .first()
    )
    if instance is None:
        raise NotFound(_("This approval does not exist."))
    return instance


def _record(instance: WorkflowInstance, *, kind: str, actor, step=None, comment: str = ""):
    return WorkflowAction.objects.create(
        instance=instance,
        kind=kind,
        actor=actor,
        step=step,
        round=instance.round,
        comment=comment,
    )


def _audit(instance: WorkflowInstance, *, action: str, actor, changes: dict[str, Any]) -> None:
    audit_event_create(
        actor=actor,
        action=f"workflow.{action}",
        target=instance,
        changes={"definition": instance.definition.code, "round": instance.round, **changes},
        actor_username="system" if actor is None else "",
    )


def _current_step(instance: WorkflowInstance) -> WorkflowStep:
    return instance.definition.steps.get(order=instance.current_step)


def _assign(instance: WorkflowInstance, step: WorkflowStep, *, now: datetime) -> list[WorkflowTask]:
    """Create the pending tasks of ``step`` for this round; refuse when no one can approve."""
    org_path = _step_org_path(step, instance.submitter_org_path)
    approvers = _approvers(
        role=step.approver_role, org_path=org_path, exclude_ids=[instance.submitted_by_id]
    )
    if not approvers:
        raise ApplicationError(
            "no_approver",
            _("No one can approve the step “%(step)s”: no active user holds the role there.")
            % {"step": step.name},
            status=409,
        )
    due_at = now + timedelta(hours=step.deadline_hours)
    tasks = WorkflowTask.objects.bulk_create(
        [
            WorkflowTask(
                instance=instance, step=step, round=instance.round, assignee=user, due_at=due_at
            )
            for user in approvers
        ]
    )
    _notify_on_commit(
        recipients=approvers,
        event="workflow.task_assigned",
        context=_context(instance, step=step.name, due_at=_when(due_at)),
        link=workflow_document_url(instance),
    )
    return tasks


def _require_in_progress(instance: WorkflowInstance) -> None:
    if instance.status != Status.IN_PROGRESS:
        raise ApplicationError(
            "not_in_progress",
            _("This document is not awaiting approval (it is %(status)s).")
            % {"status": instance.get_status_display()},
            status=409,
        )


def _actor_task(instance: WorkflowInstance, actor) -> WorkflowTask:
    task = (
        WorkflowTask.objects.select_for_update(of=("self",))
        .select_related("step")
        .filter(
            instance=instance,
            round=instance.round,
            step__order=instance.current_step,
            assignee=actor,
            status=TaskStatus.PENDING,
        )
        .order_by("pk")
        .first()
    )
    if task is None or actor.pk == instance.submitted_by_id:
        raise ApplicationError(
            "not_your_task", _("You have no pending approval on this document."), status=403
        )
    return task


def _require_submitter(instance: WorkflowInstance, actor) -> None:
    if actor.pk != instance.submitted_by_id:
        raise ApplicationError(
            "not_submitter",
            _("Only the person who submitted this document can do this."),
            status=403,
        )


def _pending(instance: WorkflowInstance) -> QuerySet[WorkflowTask]:
    return WorkflowTask.objects.filter(instance=instance, status=TaskStatus.PENDING)


def _cancel(tasks: QuerySet[WorkflowTask], *, now: datetime) -> list:
    """Cancel the given pending tasks; return their assignees (to tell them)."""
    tasks = tasks.filter(status=TaskStatus.PENDING).select_related("assignee")
    assignees = [task.assignee for task in tasks]
    tasks.update(status=TaskStatus.CANCELLED, acted_at=now, updated_at=now)
    return assignees


def _seat(task_id: int, parents: dict[int, int | None]) -> int:
    """The original task a delegated or escalation task stands in for."""
    while parents.get(task_id):
        task_id = parents[task_id]
    return task_id


# --------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------


@transaction.atomic
def workflow_submit(
    *, target: models.Model, definition_code: str, actor, org=None
) -> WorkflowInstance:
    """Put ``target`` through the definition: round 1, tasks of the first step.

    Steps find their approvers from ``org`` (an ``OrgUnit``), by default the submitter's
    org. A partner's user submits with ``org`` set to the operator node that manages the
    partner, since the partner's own tree has no operator ancestors.
    """
    definition = WorkflowDefinition.objects.filter(code=definition_code, is_active=True).first()
    first_step = definition.steps.order_by("order").first() if definition else None
    if first_step is None:
        raise ApplicationError(
            "workflow_unknown",
            _("The approval process %(code)s is not set up.") % {"code": definition_code},
        )
    target_type = ContentType.objects.get_for_model(target)
    if WorkflowInstance.objects.filter(
        definition=definition, target_type=target_type, target_id=str(target.pk)
    ).exists():
        raise ApplicationError(
            "already_submitted", _("This document has already been submitted."), status=409
        )
    now = timezone.now()
    instance = WorkflowInstance(
        definition=definition,
        target_type=target_type,
        target_id=str(target.pk),
        submitted_by=actor,
        submitter_org_path=(org or actor.org).path,
    )
    instance.transition_to(Status.IN_PROGRESS)
    instance.current_step = first_step.order
    instance.submitted_at = now
    instance.save()
    _assign(instance, first_step, now=now)
    _record(instance, kind=Kind.SUBMIT, actor=actor, step=first_step)
    _audit(
        instance,
        action="submit",
        actor=actor,
        changes={"status": [Status.DRAFT, Status.IN_PROGRESS], "step": first_step.order},
    )
    _callback(instance, "on_submitted", actor)
    return instance


@transaction.atomic
def workflow_approve(*, instance_id: int, actor, comment: str = "") -> WorkflowInstance:
    """Approve the actor's task; complete the step (``any``: first approval; countersign:
    the last one) and move to the next step or approve the document."""
    instance = _lock(instance_id)
    _require_in_progress(instance)
    task = _actor_task(instance, actor)
    now = timezone.now()
    step = task.step
    spec = workflow_spec(instance.definition.code)
    if spec is not None and spec.before_approve is not None:
        spec.before_approve(instance=instance, actor=actor, step=step)
    task.status = TaskStatus.APPROVED
    task.acted_at = now
    task.comment = comment.strip()
    task.save(update_fields=["status", "acted_at", "comment", "updated_at"])
    _record(instance, kind=Kind.APPROVE, actor=actor, step=step, comment=task.comment)

    step_tasks = WorkflowTask.objects.filter(instance=instance, step=step, round=instance.round)
    if step.mode == WorkflowStep.Mode.COUNTERSIGN:
        parents = dict(step_tasks.values_list("pk", "delegated_from_id"))
        seat = _seat(task.pk, parents)
        same_seat = [pk for pk in parents if _seat(pk, parents) == seat]
        _cancel(step_tasks.filter(pk__in=same_seat), now=now)
        step_done = not step_tasks.filter(status=TaskStatus.PENDING).exists()
    else:
        _cancel(step_tasks, now=now)
        step_done = True

    old_status, old_step = instance.status, instance.current_step
    if step_done:
        next_step = instance.definition.steps.filter(order__gt=step.order).order_by("order").first()
        if next_step is not None:
            instance.current_step = next_step.order
            _assign(instance, next_step, now=now)
        else:
            instance.transition_to(Status.APPROVED)
            instance.decided_at = now
            _record(instance, kind=Kind.COMPLETE, actor=None, step=step)
            _notify_on_commit(
                recipients=[instance.submitted_by],
                event="workflow.approved",
                context=_context(instance),
                link=workflow_document_url(instance),
            )
    instance.save(update_fields=["status", "current_step", "decided_at", "updated_at"])
    _audit(
        instance,
        action="approve",
        actor=actor,
        changes={
            "status": [old_status, instance.status],
            "step": [old_step, instance.current_step],
            "task": task.pk,
        },
    )
    if instance.status == Status.APPROVED:
        _callback(instance, "on_approved", actor)
    return instance


@transaction.atomic
def workflow_reject(*, instance_id: int, actor, reason: str) -> WorkflowInstance:
    """Reject the document (any approver's rejection rejects it whole); a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("Give a reason for the rejection."))
    instance = _lock(instance_id)
    _require_in_progress(instance)
    task = _actor_task(instance, actor)
    now = timezone.now()
    task.status = TaskStatus.REJECTED
    task.acted_at = now
    task.comment = reason
    task.save(update_fields=["status", "acted_at", "comment", "updated_at"])
    _cancel(_pending(instance), now=now)
    old = instance.transition_to(Status.REJECTED)
    instance.decided_at = now
    instance.save(update_fields=["status", "decided_at", "updated_at"])
    _record(instance, kind=Kind.REJECT, actor=actor, step=task.step, comment=reason)
    _audit(
        instance,
        action="reject",
        actor=actor,
        changes={"status": [old, instance.status], "step": instance.current_step, "reason": reason},
    )
    _callback(instance, "on_rejected", actor)
    _notify_on_commit(
        recipients=[instance.submitted_by],
        event="workflow.rejected",
        context=_context(instance, actor=actor.display_name, reason=reason),
        link=workflow_document_url(instance),
    )
    return instance


@transaction.atomic
def workflow_resubmit(*, instance_id: int, actor) -> WorkflowInstance:
    """Send a rejected or withdrawn document again from the first step, as a new round."""
    instance = _lock(instance_id)
    _require_submitter(instance, actor)
    now = timezone.now()
    old = instance.transition_to(Status.IN_PROGRESS)
    first_step = instance.definition.steps.order_by("order").first()
    instance.round += 1
    instance.current_step = first_step.order
    instance.submitted_at = now
    instance.decided_at = None
    instance.save()
    _assign(instance, first_step, now=now)
    _record(instance, kind=Kind.RESUBMIT, actor=actor, step=first_step)
    _audit(
        instance,
        action="resubmit",
        actor=actor,
        changes={"status": [old, instance.status], "step": first_step.order},
    )
    _callback(instance, "on_submitted", actor)
    return instance


@transaction.atomic
def workflow_withdraw(*, instance_id: int, actor) -> WorkflowInstance:
    """The submitter takes back a document in approval or rejected; it ends there."""
    instance = _lock(instance_id)
    _require_submitter(instance, actor)
    now = timezone.now()
    old = instance.transition_to(Status.WITHDRAWN)
    told = _cancel(_pending(instance), now=now)
    instance.decided_at = now
    instance.save(update_fields=["status", "decided_at", "updated_at"])
    _record(instance, kind=Kind.WITHDRAW, actor=actor)
    _audit(instance, action="withdraw", actor=actor, changes={"status": [old, instance.status]})
    _callback(instance, "on_withdrawn", actor)
    _notify_on_commit(
        recipients=told,
        event="workflow.withdrawn",
        context=_context(instance, actor=actor.display_name),
        link=workflow_document_url(instance),
    )
    return instance


@transaction.atomic
def workflow_cancel(*, instance_id: int, actor, reason: str) -> WorkflowInstance:
    """The owning app closes a document's open approval (the partner exited, the
    document was closed by the system): like a withdrawal, but not limited to the
    submitter. Services call it; there is no page or endpoint for it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("Give a reason."))
    instance = _lock(instance_id)
    now = timezone.now()
    old = instance.transition_to(Status.WITHDRAWN)
    told = _cancel(_pending(instance), now=now)
    instance.decided_at = now
    instance.save(update_fields=["status", "decided_at", "updated_at"])
    _record(instance, kind=Kind.WITHDRAW, actor=actor, comment=reason)
    _audit(
        instance,
        action="cancel",
        actor=actor,
        changes={"status": [old, instance.status], "reason": reason},
    )
    _callback(instance, "on_withdrawn", actor)
    _notify_on_commit(
        recipients=told,
        event="workflow.withdrawn",
        context=_context(instance, actor=actor.display_name if actor else _("the system")),
        link=workflow_document_url(instance),
    )
    return instance


@transaction.atomic
def workflow_delegate(*, instance_id: int, actor, to_user) -> WorkflowInstance:
    """Hand the actor's pending task to another active user of the actor's subtree."""
    instance = _lock(instance_id)
    _require_in_progress(instance)
    task = _actor_task(instance, actor)
    to_org_path = getattr(getattr(to_user, "org", None), "path", "")
    if (
        to_user is None
        or not to_user.is_active
        or to_user.pk in (actor.pk, instance.submitted_by_id)
        or not path_in_scope(user=actor, path=to_org_path)
    ):
        raise ApplicationError(
            "delegate_invalid",
            _("Delegate to another active user of your organisation (not the submitter)."),
        )
    if _pending(instance).filter(assignee=to_user, step=task.step).exists():
        raise ApplicationError(
            "delegate_invalid", _("%(user)s already has this approval.") % {"user": to_user}
        )
    now = timezone.now()
    task.status = TaskStatus.DELEGATED
    task.acted_at = now
    task.save(update_fields=["status", "acted_at", "updated_at"])
    new_task = WorkflowTask.objects.create(
        instance=instance,
        step=task.step,
        round=task.round,
        assignee=to_user,
        due_at=task.due_at,
        delegated_from=task,
        is_escalation=task.is_escalation,
        escalated_at=task.escalated_at,
    )
    _record(instance, kind=Kind.DELEGATE, actor=actor, step=task.step, comment=to_user.display_name)
    _audit(
        instance,
        action="delegate",
        actor=actor,
        changes={"task": [task.pk, new_task.pk], "assignee": [actor.pk, to_user.pk]},
    )
    _notify_on_commit(
        recipients=[to_user],
        event="workflow.delegated",
        context=_context(
            instance, actor=actor.display_name, step=task.step.name, due_at=_when(task.due_at)
        ),
        link=workflow_document_url(instance),
    )
    return instance


def workflow_deadlines_check(*, now: datetime | None = None) -> dict[str, int]:
    """Remind approvers of tasks coming due, escalate overdue tasks (each once).

    Run by Celery beat every 15 minutes; each task is handled in its own transaction
    on the locked instance, so a second run (or a concurrent one) does nothing new.
    """
    now = now or timezone.now()
    pending = WorkflowTask.objects.filter(
        status=TaskStatus.PENDING, instance__status=Status.IN_PROGRESS
    )
    reminded = escalated = 0
    for task_id in pending.filter(
        escalated_at__isnull=True, is_escalation=False, due_at__lte=now
    ).values_list("pk", flat=True):
        escalated += _escalate(task_id=task_id, now=now)
    longest = pending.aggregate(hours=models.Max("step__remind_before_hours"))["hours"] or 0
    for task in pending.filter(
        reminded_at__isnull=True, due_at__gt=now, due_at__lte=now + timedelta(hours=longest)
    ).select_related("step"):
        if task.due_at - timedelta(hours=task.step.remind_before_hours) <= now:
            reminded += _remind(task_id=task.pk, now=now)
    return {"reminded": reminded, "escalated": escalated}


def _locked_pending_task(task_id: int) -> tuple[WorkflowInstance, WorkflowTask] | None:
    instance_id = WorkflowTask.objects.filter(pk=task_id).values_list("instance_id", flat=True)
    instance = _lock(instance_id.get())
    task = (
        WorkflowTask.objects.select_related("step", "assignee", "assignee__org")
        .filter(pk=task_id, status=TaskStatus.PENDING)
        .first()
    )
    if instance.status != Status.IN_PROGRESS or task is None:
        return None
    return instance, task


@transaction.atomic
def _remind(*, task_id: int, now: datetime) -> int:
    found = _locked_pending_task(task_id)
    if found is None or found[1].reminded_at is not None:
        return 0
    instance, task = found
    task.reminded_at = now
    task.save(update_fields=["reminded_at", "updated_at"])
    _record(
        instance, kind=Kind.REMIND, actor=None, step=task.step, comment=task.assignee.display_name
    )
    _audit(instance, action="remind", actor=None, changes={"task": task.pk})
    _notify_on_commit(
        recipients=[task.assignee],
        event="workflow.reminder",
        context=_context(instance, step=task.step.name, due_at=_when(task.due_at)),
        link=workflow_document_url(instance),
    )
    return 1


@transaction.atomic
def _escalate(*, task_id: int, now: datetime) -> int:
    """Give an overdue task's approval also to the same role one org level up (or the
    nearest level above that has such a user)."""
    found = _locked_pending_task(task_id)
    if found is None or found[1].escalated_at is not None:
        return 0
    instance, task = found
    step = task.step
    base = _step_org_path(step, instance.submitter_org_path) or task.assignee.org.path
    busy = set(
        _pending(instance).filter(step=step, round=task.round).values_list("assignee_id", flat=True)
    )
    approvers: list = []
    path = _parent_path(base)
    while path and not approvers:
        approvers = _approvers(
            role=step.approver_role,
            org_path=path,
            exclude_ids=busy | {instance.submitted_by_id},
        )
        path = _parent_path(path)
    task.escalated_at = now
    task.save(update_fields=["escalated_at", "updated_at"])
    due_at = now + timedelta(hours=step.deadline_hours)
    WorkflowTask.objects.bulk_create(
        [
            WorkflowTask(
                instance=instance,
                step=step,
                round=task.round,
                assignee=user,
                due_at=due_at,
                delegated_from=task,
                is_escalation=True,
            )
            for user in approvers
        ]
    )
    names = ", ".join(user.display_name for user in approvers) or _("no one (none found above)")
    _record(
        instance,
        kind=Kind.ESCALATE,
        actor=None,
        step=step,
        comment=f"{task.assignee.display_name} → {names}",
    )
    _audit(
        instance,
        action="escalate",
        actor=None,
        changes={"task": task.pk, "escalated_to": [user.pk for user in approvers]},
    )
    _notify_on_commit(
        recipients=[task.assignee, *approvers],
        event="workflow.escalated",
        context=_context(
            instance,
            step=step.name,
            assignee=task.assignee.display_name,
            due_at=_when(task.due_at),
            escalated_to=names,
        ),
        link=workflow_document_url(instance),
    )
    return 1


# --------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------


def workflow_task_list(*, user) -> QuerySet[WorkflowTask]:
    """The user's pending approvals, most urgent first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return WorkflowTask.objects.none()
    return (
        WorkflowTask.objects.filter(
            assignee=user, status=TaskStatus.PENDING, instance__status=Status.IN_PROGRESS
        )
        .select_related("step", "instance__definition", "instance__submitted_by")
        .prefetch_related("instance__target")
        .order_by("due_at", "pk")
    )


def workflow_instance_for(*, target: models.Model, definition_code: str) -> WorkflowInstance | None:
    return (
        WorkflowInstance.objects.select_related("definition", "submitted_by")
        .filter(
            definition__code=definition_code,
            target_type=ContentType.objects.get_for_model(target),
            target_id=str(target.pk),
        )
        .first()
    )


def workflow_trail(*, instance: WorkflowInstance) -> QuerySet[WorkflowAction]:
    """Every action on the document, all rounds, in order."""
    return instance.actions.select_related("actor", "step").order_by("pk")


def workflow_instance_get(*, instance_id: int, user) -> WorkflowInstance:
    """An instance the user may act on or read: submitted by them, holding one of their
    tasks, or submitted from their org subtree. Anything else is "not found"."""
    instance = (
        WorkflowInstance.objects.select_related("definition", "submitted_by")
        .filter(pk=instance_id)
        .first()
    )
    if instance is None or not getattr(user, "is_authenticated", False):
        raise NotFound(_("This approval does not exist."))
    if (
        instance.submitted_by_id == user.pk
        or path_in_scope(user=user, path=instance.submitter_org_path)
        or instance.tasks.filter(assignee=user).exists()
    ):
        return instance
    raise NotFound(_("This approval does not exist."))


def workflow_holds_task(*, instance: WorkflowInstance | None, user) -> bool:
    """Whether the user has (or had) an approval task on the instance."""
    if instance is None or not getattr(user, "is_authenticated", False):
        return False
    return instance.tasks.filter(assignee=user).exists()


def workflow_target_ids_for(*, user, definition_code: str) -> list[str]:
    """Ids of the documents of a definition on which the user has (or had) a task."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        WorkflowInstance.objects.filter(definition__code=definition_code, tasks__assignee=user)
        .values_list("target_id", flat=True)
        .distinct()
    )


def workflow_available_actions(*, instance: WorkflowInstance | None, user) -> list[str]:
    """What the user may do on the instance now (drives the actions partial)."""
    if instance is None or not getattr(user, "is_authenticated", False):
        return []
    available = []
    if (
        instance.status == Status.IN_PROGRESS
        and user.pk != instance.submitted_by_id
        and instance.tasks.filter(
            assignee=user,
            status=TaskStatus.PENDING,
            round=instance.round,
            step__order=instance.current_step,
        ).exists()
    ):
        available += ["approve", "reject", "delegate"]
    if user.pk == instance.submitted_by_id:
        if instance.status == Status.REJECTED:
            available.append("resubmit")
        if instance.status in (Status.IN_PROGRESS, Status.REJECTED):
            available.append("withdraw")
    return available


def workflow_document_context(*, target: models.Model, definition_code: str, user) -> dict:
    """What ``core/workflow/trail.html`` and ``actions.html`` need, for a document page."""
    instance = workflow_instance_for(target=target, definition_code=definition_code)
    if instance is None:
        return {"workflow_instance": None, "workflow_trail": [], "workflow_actions": []}
    trail = list(workflow_trail(instance=instance))
    rejection = next((a for a in reversed(trail) if a.kind == Kind.REJECT), None)
    return {
        "workflow_instance": instance,
        "workflow_trail": trail,
        "workflow_pending": list(
            _pending(instance).select_related("assignee", "step").order_by("due_at", "pk")
        ),
        "workflow_actions": workflow_available_actions(instance=instance, user=user),
        "workflow_rejection": rejection if instance.status == Status.REJECTED else None,
    }


def workflow_delegate_candidate(*, user, username: str):
    """The active user ``username`` within the acting user's subtree, or ``None``."""
    if not username:
        return None
    candidate = (
        _user_model()
        .objects.select_related("org")
        .filter(username=username.strip(), is_active=True)
        .first()
    )
    if candidate is None or not path_in_scope(user=user, path=candidate.org.path):
        return None
    return candidate


# --------------------------------------------------------------------------------------
# One entry point for the page and the API
# --------------------------------------------------------------------------------------

ACTIONS = ("approve", "reject", "withdraw", "resubmit", "delegate")


def workflow_act(*, instance_id: int, action: str, actor, data: dict[str, Any]):
    """Dispatch one of :data:`ACTIONS` for the page and the API (same parsing, one place)."""
    if action == "approve":
        return workflow_approve(
            instance_id=instance_id, actor=actor, comment=data.get("comment") or ""
        )
    if action == "reject":
        return workflow_reject(
            instance_id=instance_id, actor=actor, reason=data.get("reason") or ""
        )
    if action == "resubmit":
        return workflow_resubmit(instance_id=instance_id, actor=actor)
    if action == "withdraw":
        return workflow_withdraw(instance_id=instance_id, actor=actor)
    if action == "delegate":
        to_user = workflow_delegate_candidate(user=actor, username=data.get("to_user") or "")
        if to_user is None:
            raise ApplicationError(
                "delegate_invalid",
                _("Delegate to another active user of your organisation (not the submitter)."),
            )
        return workflow_delegate(instance_id=instance_id, actor=actor, to_user=to_user)
    raise NotFound()
