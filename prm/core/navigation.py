"""The navigation menu, built from permissions (R0 roles & views).

Apps register their menu entries in ``AppConfig.ready``; the header shows the entries
whose permission the user holds (and whose audience matches operator/partner users).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    icon: str = "circle"
    permission: str | None = None  # None: every signed-in user of the audience
    audience: str = "all"  # "all", "operator" or "partner"
    section: str = ""
    order: int = 100


_items: dict[str, NavItem] = {}


def nav_register(*items: NavItem) -> None:
    for item in items:
        _items[item.key] = item


def nav_items_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    audience = "partner" if user.is_partner_user else "operator"
    visible = [
        item
        for item in _items.values()
        if item.audience in ("all", audience)
        and (item.permission is None or user.has_perm(item.permission))
    ]
    return sorted(visible, key=lambda item: (item.order, item.key))
