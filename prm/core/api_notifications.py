"""API: the calling user's notifications (R0 in-app inbox)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from prm.api import paginate
from prm.core.notifications import notification_list, notification_mark_read

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    event: str
    title: str
    body: str
    link: str
    is_read: bool
    read_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_is_read(obj) -> bool:
        return obj.read_at is not None


@router.get("", response=list[NotificationOut], summary="The caller's notifications")
def notifications_list(
    request: HttpRequest,
    response: HttpResponse,
    unread: bool | None = None,
    offset: int = 0,
    limit: int = 50,
):
    """Newest first; ``unread=true`` for unread only, ``unread=false`` for read only.
    The total is in ``X-Total-Count``."""
    notifications = notification_list(user=request.user, unread=unread)
    return paginate(notifications, response=response, offset=offset, limit=limit)


@router.post("/{int:notification_id}/read", response=NotificationOut, summary="Mark read")
def notification_read(request: HttpRequest, notification_id: int):
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    return notification_mark_read(user=request.user, notification_id=notification_id)
