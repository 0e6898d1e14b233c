"""Reads of the accounts app. Every list is scoped to the acting user (R0)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from prm.accounts.models import AccountRequest, OrgUnit, Role, User
from prm.core.scoping import scope_by_path


def org_unit_list(*, user: User) -> QuerySet[OrgUnit]:
    return scope_by_path(
        OrgUnit.objects.select_related("parent", "region"), user=user, path_field="path"
    )


def user_list(*, user: User) -> QuerySet[User]:
    return scope_by_path(User.objects.select_related("org"), user=user, path_field="org__path")


def role_list() -> QuerySet[Role]:
    return Role.objects.select_related("group")


def account_request_list(*, user: User) -> QuerySet[AccountRequest]:
    return scope_by_path(
        AccountRequest.objects.select_related("org", "requested_by"),
        user=user,
        path_field="org__path",
    )


def user_needs_totp(*, user: User) -> bool:
    return (
        settings.PRM_TOTP_REQUIRED_FOR_ADMINS
        and not user.totp_enabled
        and user.has_role("system_admin")
    )


def user_pending_requirement(*, user: User) -> str | None:
    """The URL name of the page the user must complete before anything else, if any."""
    if user.must_change_password:
        return "accounts:password_change"
    if user_needs_totp(user=user):
        return "accounts:totp_setup"
    return None


def user_home_view(*, user: User) -> str:
    """The home view of the user's first role in R0 order (management before operations …)."""
    from prm.accounts.roles import ROLE_SPECS

    for spec in ROLE_SPECS:
        if user.has_role(spec.code):
            return spec.home_view
    return "partner" if user.is_partner_user else "operations"
