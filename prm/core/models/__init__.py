"""The shared kernel's models. Each module holds one concern; all are exported here."""

from prm.core.models.attachments import Attachment
from prm.core.models.audit import AuditEvent
from prm.core.models.base import BaseModel, SiteFlag
from prm.core.models.calendar import CalendarDay
from prm.core.models.jobs import ImportJob
from prm.core.models.notifications import Notification, SmsMessage
from prm.core.models.reference import NumberSegment, Region
from prm.core.models.workflow import (
    WorkflowAction,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowStep,
    WorkflowTask,
)

__all__ = [
    "Attachment",
    "AuditEvent",
    "BaseModel",
    "CalendarDay",
    "ImportJob",
    "Notification",
    "NumberSegment",
    "Region",
    "SiteFlag",
    "SmsMessage",
    "WorkflowAction",
    "WorkflowDefinition",
    "WorkflowInstance",
    "WorkflowStep",
    "WorkflowTask",
]
