"""Reads of the accounts app. Every list is scoped to the acting user (R0)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Count, F, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.utils import timezone

from prm.accounts.models import AccountRequest, ApiToken, OrgUnit, Role, User
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


def account_request_get(*, user: User, code: str) -> AccountRequest | None:
    """A request the user may open: in their org subtree, or one on which they hold an
    approval task (an escalated or delegated approver outside that subtree)."""
    from prm.core.workflow import workflow_target_ids_for

    found = account_request_list(user=user).filter(code=code).first()
    if found is None:
        ids = workflow_target_ids_for(user=user, definition_code="accounts.account_request")
        found = (
            AccountRequest.objects.select_related("org", "requested_by")
            .filter(code=code, pk__in=[int(pk) for pk in ids])
            .first()
        )
    return found


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


# --- Administration console (orgs, users, roles), all scoped to the acting user -------


def _text(value) -> str:
    return str(value or "").strip()


def org_unit_list_filtered(*, user: User, filters: dict | None = None) -> QuerySet[OrgUnit]:
    """Org units in the user's scope, in tree order (``path``), with their user counts and
    ``tree_depth`` (depth below the top of the user's scope).

    ``filters``: ``q`` (code or name contains), ``kind``, ``is_active``.
    """
    filters = filters or {}
    # Depth below the top of the user's scope, for indenting the tree.
    base_depth = max(len(user.scope_path.strip("/").split("/")) - 1, 0) if user.is_active else 0
    orgs = org_unit_list(user=user).annotate(
        user_count=Count("users", distinct=True), tree_depth=F("depth") - base_depth
    )
    q = _text(filters.get("q"))
    if q:
        orgs = orgs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if _text(filters.get("kind")):
        orgs = orgs.filter(kind=_text(filters["kind"]))
    if filters.get("is_active") is not None:
        orgs = orgs.filter(is_active=filters["is_active"])
    return orgs.order_by("path")


def org_unit_get(*, user: User, code: str) -> OrgUnit:
    """The org unit ``code`` if it lies in the user's scope; 404 otherwise (an org of
    another city or partner is answered exactly like one that does not exist)."""
    return get_object_or_404(org_unit_list(user=user), code=code)


def org_unit_children(*, user: User, org: OrgUnit) -> QuerySet[OrgUnit]:
    return org_unit_list(user=user).filter(parent=org).order_by("code")


def _roles_prefetch() -> Prefetch:
    return Prefetch(
        "groups",
        queryset=Group.objects.select_related("role").order_by("role__code"),
        to_attr="role_groups",
    )


def user_list_filtered(*, user: User, filters: dict | None = None) -> QuerySet[User]:
    """Users in the acting user's scope with their org and roles (constant queries).

    ``filters``: ``q`` (username, name, e-mail or mobile contains), ``org`` (an org code:
    users of that node's subtree, or of the node only when ``subtree`` is false),
    ``role`` (a role code), ``is_active`` (bool).
    """
    filters = filters or {}
    users = user_list(user=user).prefetch_related(_roles_prefetch())
    q = _text(filters.get("q"))
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(email__icontains=q)
            | Q(mobile__icontains=q)
        )
    org_code = _text(filters.get("org"))
    if org_code:
        org = org_unit_list(user=user).filter(code=org_code).first()
        if org is None:
            users = users.none()
        elif filters.get("subtree", True):
            users = users.filter(org__path__startswith=org.path)
        else:
            users = users.filter(org=org)
    role_code = _text(filters.get("role"))
    if role_code:
        users = users.filter(groups__role__code=role_code)
    if filters.get("is_active") is not None:
        users = users.filter(is_active=filters["is_active"])
    return users.order_by("username")


def user_get(*, user: User, username: str) -> User:
    """The user ``username`` if in the acting user's scope; 404 otherwise."""
    return get_object_or_404(
        user_list(user=user).prefetch_related(_roles_prefetch()), username=username
    )


def user_roles(*, target: User) -> list[Role]:
    """The roles of a user fetched by ``user_list_filtered``/``user_get`` (no query)."""
    groups = getattr(target, "role_groups", None)
    if groups is None:
        return list(Role.objects.filter(group__user=target).order_by("code"))
    return [group.role for group in groups if hasattr(group, "role")]


def user_api_token_list(*, user: User, target: User) -> QuerySet[ApiToken]:
    """API tokens of ``target`` (who must be in the acting user's scope)."""
    return ApiToken.objects.filter(user__in=user_list(user=user), user=target).order_by(
        "-created_at"
    )


def org_unit_choices(*, user: User) -> QuerySet[OrgUnit]:
    """Active org units the user may place users or child units in."""
    return org_unit_list(user=user).filter(is_active=True).order_by("path")


def role_get(*, code: str) -> Role:
    return get_object_or_404(role_list(), code=code)


def role_list_with_counts() -> QuerySet[Role]:
    return role_list().annotate(
        permission_count=Count("group__permissions", distinct=True),
        user_count=Count("group__user", distinct=True),
    )


def role_permission_codes(*, role: Role) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in role.group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def permission_choices() -> QuerySet[Permission]:
    """The permissions a role may hold: those of PRM's own apps (not Django's)."""
    from django.apps import apps

    labels = [config.label for config in apps.get_app_configs() if config.name.startswith("prm.")]
    return (
        Permission.objects.filter(content_type__app_label__in=labels)
        .select_related("content_type")
        .order_by("content_type__app_label", "content_type__model", "codename")
    )


# --- Home dashboards ------------------------------------------------------------------


def account_counts(*, user: User) -> dict[str, int]:
    """Org units, users, active and locked users in the user's scope (two queries)."""
    now = timezone.now()
    users = user_list(user=user).aggregate(
        users=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        locked=Count("pk", filter=Q(locked_until__gt=now)),
    )
    return {"orgs": org_unit_list(user=user).count(), **users}


FAILED_LOGIN_ACTIONS = ("auth.login_failed", "auth.account_locked", "auth.login_locked")


def failed_login_list(*, user: User) -> QuerySet:
    """Failed or refused sign-ins against users in the acting user's scope, newest first.

    A failed sign-in has no actor (nobody is signed in), so it is scoped by its target
    user; at the top of the operator tree, failures for unknown usernames are included.
    """
    from prm.core.models import AuditEvent

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AuditEvent.objects.none()
    user_ids = user_list(user=user).annotate(id_text=Cast("pk", CharField())).values("id_text")
    in_scope = Q(target_type="accounts.user", target_id__in=Subquery(user_ids))
    if user.org.parent_id is None and not user.is_partner_user:
        in_scope |= Q(target_id="")
    return AuditEvent.objects.filter(in_scope, action__in=FAILED_LOGIN_ACTIONS)


def org_unit_find(*, user: User, code: str) -> OrgUnit | None:
    """The org unit ``code`` in the user's scope, or ``None`` (for choices sent by code)."""
    return org_unit_list(user=user).filter(code=code).first()


def user_audit_history(*, user: User, target: User) -> QuerySet:
    """Audit events about ``target`` (newest first), whoever caused them: sign-ins,
    failures and changes by admins or the system. ``target`` must come from a scoped
    selector (``user_get``); the events of a user outside the scope are never shown."""
    from prm.core.models import AuditEvent

    if not user_list(user=user).filter(pk=target.pk).exists():
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(target_type="accounts.user", target_id=str(target.pk))
