from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models.base import BaseModel, StatusMachine


class WorkflowDefinition(BaseModel):
    """A named approval process (e.g. "operator account request") made of ordered steps.

    Definitions are declared in code by the owning app and synchronised into the
    database after migrations (``prm.core.workflow.workflow_definitions_sync``); staff
    may then tune deadlines in the database.
    """

    code = models.CharField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("workflow definition")
        verbose_name_plural = _("workflow definitions")

    def __str__(self) -> str:
        return self.code


class WorkflowStep(BaseModel):
    """One step of a definition: who approves (role + org scope), how, and by when.

    Org scope says where the approvers sit relative to the submitter's org:
    ``submitter_org`` (same node), ``parent`` (one level up), ``level`` (the nearest
    ancestor at ``org_level``, e.g. the province). ``countersign`` (会签) means every
    resolved approver must approve; otherwise the first approval decides the step.
    """

    class OrgScope(models.TextChoices):
        SUBMITTER_ORG = "submitter_org", _("Submitter's org")
        PARENT = "parent", _("Parent of submitter's org")
        LEVEL = "level", _("Ancestor at a level")

    class Mode(models.TextChoices):
        ANY = "any", _("Any one approver")
        COUNTERSIGN = "countersign", _("Countersign (all approvers)")

    definition = models.ForeignKey(
        WorkflowDefinition,
        verbose_name=_("definition"),
        on_delete=models.CASCADE,
        related_name="steps",
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=200)
    approver_role = models.CharField(_("approver role"), max_length=50)
    org_scope = models.CharField(_("org scope"), max_length=20, choices=OrgScope.choices)
    org_level = models.CharField(_("org level"), max_length=20, blank=True)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.ANY)
    deadline_hours = models.PositiveIntegerField(_("deadline (hours)"), default=48)
    remind_before_hours = models.PositiveIntegerField(
        _("remind before deadline (hours)"), default=8
    )

    class Meta:
        ordering = ["definition", "order"]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "order"], name="workflow_step_order_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition.code}#{self.order} {self.name}"


class WorkflowInstance(StatusMachine, BaseModel):
    """One document's passage through a definition (any model can be the target)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_PROGRESS = "in_progress", _("In approval")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.DRAFT: {Status.IN_PROGRESS},
        Status.IN_PROGRESS: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        Status.REJECTED: {Status.IN_PROGRESS, Status.WITHDRAWN},
        Status.APPROVED: set(),
        # A withdrawn document may be sent again later, as a new round.
        Status.WITHDRAWN: {Status.IN_PROGRESS},
    }

    definition = models.ForeignKey(
        WorkflowDefinition,
        verbose_name=_("definition"),
        on_delete=models.PROTECT,
        related_name="instances",
    )
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    current_step = models.PositiveSmallIntegerField(_("current step"), null=True, blank=True)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitter_org_path = models.CharField(_("submitter org path"), max_length=255)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("workflow instance")
        verbose_name_plural = _("workflow instances")
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "target_type", "target_id"],
                name="workflow_one_instance_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition.code} {self.target_type_id}:{self.target_id}"


class WorkflowTask(BaseModel):
    """An approval waiting on (or done by) one approver at one step of one round."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DELEGATED = "delegated", _("Delegated")
        CANCELLED = "cancelled", _("Cancelled")

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="tasks")
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="tasks")
    round = models.PositiveSmallIntegerField(_("round"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="workflow_tasks",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    due_at = models.DateTimeField(_("due at"))
    acted_at = models.DateTimeField(_("acted at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # The task this one stands in for: the delegator's task, or, for an escalation task
    # (``is_escalation``), the overdue task. In countersign mode the first decision on
    # any task of such a chain settles the chain (see prm.core.workflow).
    delegated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="delegations"
    )
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    is_escalation = models.BooleanField(_("escalation"), default=False)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("workflow task")
        verbose_name_plural = _("workflow tasks")
        indexes = [models.Index(fields=["assignee", "status"], name="workflow_task_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.instance_id}/{self.step_id} → {self.assignee_id} ({self.status})"


class WorkflowAction(models.Model):
    """One line of a document's approval trail, shown on the document page."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        RESUBMIT = "resubmit", _("Resubmitted")
        WITHDRAW = "withdraw", _("Withdrawn")
        DELEGATE = "delegate", _("Delegated")
        REMIND = "remind", _("Reminder sent")
        ESCALATE = "escalate", _("Escalated")
        COMPLETE = "complete", _("Completed")

    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE, related_name="actions")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    kind = models.CharField(_("action"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step = models.ForeignKey(
        WorkflowStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveSmallIntegerField(_("round"))
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("workflow action")
        verbose_name_plural = _("workflow actions")

    def __str__(self) -> str:
        return f"{self.instance_id} {self.kind}"
