"""API: the audit log (R0 4A: audit), read-only and scoped like the audit page.

Needs ``core.view_auditevent`` (token scope ``audit.read``). Object ids are not exposed
(they are database ids); the object is identified by its type and name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from prm.api import ErrorOut, paginate, require_permission
from prm.core.audit import audit_event_list
from prm.core.forms_audit import audit_filters

router = Router(tags=["audit"])

READ_SCOPE = "audit.read"


class AuditEventOut(Schema):
    time: datetime
    actor: str
    ip_address: str | None
    action: str
    object_type: str
    object: str
    changes: dict[str, Any]


class AuditEventFilters(Schema):
    actor: str | None = Field(None, description="Actor username contains")
    action: str | None = Field(None, description="Action contains, e.g. user.updated")
    target: str | None = Field(None, description="Object name contains")
    since: date | None = Field(None, description="From this day (inclusive)")
    until: date | None = Field(None, description="To this day (inclusive)")
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


@router.get(
    "",
    response={200: list[AuditEventOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Audit events visible to the caller, newest first (X-Total-Count holds the total)",
)
def audit_event_search(request, response: HttpResponse, filters: Query[AuditEventFilters]):
    require_permission(request, "core.view_auditevent", scope=READ_SCOPE)
    events = audit_event_list(
        user=request.user,
        filters=audit_filters(
            actor=filters.actor or "",
            action=filters.action or "",
            target=filters.target or "",
            since=filters.since,
            until=filters.until,
        ),
    )
    page = paginate(events, response=response, offset=filters.offset, limit=filters.limit)
    return [
        {
            "time": event.created_at,
            "actor": event.actor_username,
            "ip_address": event.ip_address,
            "action": event.action,
            "object_type": event.target_type,
            "object": event.target_repr,
            "changes": event.changes if isinstance(event.changes, dict) else {},
        }
        for event in page
    ]
