"""The navigation menu, built from permissions (R0 roles & views).

Apps register their menu entries in ``AppConfig.ready``; the header shows the entries
whose permission the user holds (and whose audience matches operator/partner users).
An entry whose page does not exist (its URL name cannot be reversed, e.g. a module not
installed yet) is left out rather than breaking every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    icon: str = "circle"
    permission: str | None = None  # None: every signed-in user of the audience
    audience: str = "all"  # "all", "operator" or "partner"
    section: str = ""  # entries with the same section label share a dropdown
    order: int = 100


@dataclass(frozen=True)
class NavLink:
    """A visible menu entry with its resolved URL."""

    item: NavItem
    url: str

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def icon(self) -> str:
        return self.item.icon

    @property
    def url_name(self) -> str:
        return self.item.url_name

    @property
    def section(self) -> str:
        return self.item.section


_items: dict[str, NavItem] = {}


def nav_register(*items: NavItem) -> None:
    for item in items:
        _items[item.key] = item


def _url(item: NavItem) -> str | None:
    try:
        return reverse(item.url_name)
    except NoReverseMatch:
        return None


def nav_items_for(user) -> list[NavLink]:
    """The menu entries the user may see, in order, with their URLs."""
    if not getattr(user, "is_authenticated", False):
        return []
    audience = "partner" if user.is_partner_user else "operator"
    links = []
    for item in sorted(_items.values(), key=lambda item: (item.order, item.key)):
        if item.audience not in ("all", audience):
            continue
        if item.permission is not None and not user.has_perm(item.permission):
            continue
        url = _url(item)
        if url is not None:
            links.append(NavLink(item=item, url=url))
    return links
