from __future__ import annotations

from prm.core.navigation import nav_items_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "unread_count": 0}
    from prm.core.notifications import notification_unread_count

    return {
        "nav_items": nav_items_for(user),
        "unread_count": notification_unread_count(user=user),
    }
