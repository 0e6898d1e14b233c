"""Writing and reading the 4A audit log (R0)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet

from prm.core.middleware import current_request_context
from prm.core.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def audit_event_create(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    actor_username: str = "",
    org_path: str = "",
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the change it records.

    ``changes`` is ``{field: [old, new]}`` for updates, ``{field: value}`` otherwise.
    The source IP comes from the current request when not given. ``org_path`` places an
    event without an acting user (a failed sign-in) in the subtree of the org concerned.
    """
    context = current_request_context()
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_repr = str(target)[:255]
    is_user = actor is not None and getattr(actor, "pk", None) is not None
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_username=(actor.get_username() if is_user else actor_username)[:150],
        org_path=(actor.org.path if is_user and getattr(actor, "org_id", None) else org_path),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        changes=_jsonable(changes or {}),
        ip_address=ip_address or (context.ip_address if context else None),
        user_agent=context.user_agent if context else "",
    )


def field_changes(instance: models.Model, new_values: dict[str, Any]) -> dict[str, list[Any]]:
    """The ``{field: [old, new]}`` map of the values that differ."""
    changes = {}
    for field, new in new_values.items():
        old = getattr(instance, field)
        if old != new:
            changes[field] = [_jsonable(old), _jsonable(new)]
    return changes


def _sees_unplaced_events(user) -> bool:
    org = getattr(user, "org", None)
    return (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and org is not None
        and org.parent_id is None
        and not user.is_partner_user
    )


def audit_event_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[AuditEvent]:
    """Audit events the user may read: those by actors in the user's org subtree
    (HQ auditors see all). ``filters``: actor, action, target_type, target_id, since, until."""
    from prm.core.scoping import scope_by_path

    events = scope_by_path(AuditEvent.objects.all(), user=user, path_field="org_path")
    if _sees_unplaced_events(user):
        # Events tied to no org (sign-ins with unknown usernames, CLI actions) belong to
        # the top of the operator tree.
        events = events | AuditEvent.objects.filter(org_path="")
    filters = filters or {}
    if filters.get("actor"):
        events = events.filter(actor_username__icontains=filters["actor"])
    if filters.get("action"):
        events = events.filter(action__icontains=filters["action"])
    if filters.get("target_type"):
        events = events.filter(target_type=filters["target_type"])
    if filters.get("target_id"):
        events = events.filter(target_id=filters["target_id"])
    if filters.get("target"):
        events = events.filter(target_repr__icontains=filters["target"])
    if filters.get("since"):
        events = events.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(created_at__lt=filters["until"])
    return events
