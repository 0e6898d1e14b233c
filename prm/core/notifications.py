"""Notifications (R0): in-app inbox, e-mail and SMS from bilingual event templates."""

from __future__ import annotations

from prm.core.models import Notification


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
