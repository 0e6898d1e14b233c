"""Data scoping (R0): the one helper every selector uses.

Operator staff see the subtree of their org node; partner users see their own partner's
subtree. The user model provides ``scope_path`` (a materialised path such as ``/1/4/``);
rows carry an org path directly or through a foreign key to an org unit.
"""

from __future__ import annotations

from django.db.models import QuerySet


def scope_by_path(queryset: QuerySet, *, user, path_field: str = "org__path") -> QuerySet:
    """Rows whose ``path_field`` lies in the user's scope subtree; none for anonymous."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    return queryset.filter(**{f"{path_field}__startswith": user.scope_path})


def path_in_scope(*, user, path: str) -> bool:
    """Whether an org path lies in the user's scope subtree."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return path.startswith(user.scope_path)
