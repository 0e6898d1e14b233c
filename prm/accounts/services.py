"""Writes of the accounts app: org units, users, roles. Each writes its audit event."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import ApiToken, OrgUnit, Role, User
from prm.accounts.roles import ROLE_SPECS
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError


def roles_sync() -> None:
    """Create the roles of ``prm.accounts.roles`` and add their declared permissions."""
    for spec in ROLE_SPECS:
        role = Role.objects.filter(code=spec.code).select_related("group").first()
        if role is None:
            group, _created = Group.objects.get_or_create(name=f"role:{spec.code}")
            role = Role.objects.create(
                code=spec.code,
                name=str(spec.name),
                audience=spec.audience,
                home_view=spec.home_view,
                group=group,
                description=str(spec.description),
            )
        else:
            Role.objects.filter(pk=role.pk).update(
                name=str(spec.name),
                audience=spec.audience,
                home_view=spec.home_view,
                description=str(spec.description),
            )
        for perm in spec.permissions:
            app_label, codename = perm.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                role.group.permissions.add(permission)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", None) == "accounts":
        roles_sync()


def _check_parent(kind: str, parent: OrgUnit | None) -> None:
    allowed = OrgUnit.ALLOWED_PARENTS[OrgUnit.Kind(kind)]
    parent_kind = OrgUnit.Kind(parent.kind) if parent is not None else None
    if parent_kind not in allowed:
        raise ApplicationError(
            "org_parent_invalid",
            _("A %(kind)s cannot be placed under %(parent)s.")
            % {
                "kind": OrgUnit.Kind(kind).label,
                "parent": parent.name if parent else _("the top level"),
            },
        )


@transaction.atomic
def org_unit_create(
    *, actor: User | None, code: str, name: str, kind: str, parent: OrgUnit | None, region=None
) -> OrgUnit:
    """Create an org node under ``parent`` (operator tree or a partner's tree)."""
    _check_parent(kind, parent)
    if OrgUnit.objects.filter(code=code).exists():
        raise ApplicationError(
            "org_code_taken", _("An org unit with code %(code)s exists.") % {"code": code}
        )
    org = OrgUnit.objects.create(code=code, name=name, kind=kind, parent=parent, region=region)
    org.path = f"{parent.path if parent else '/'}{org.pk}/"
    org.depth = (parent.depth + 1) if parent else 0
    org.save(update_fields=["path", "depth"])
    audit_event_create(
        actor=actor,
        action="org_unit.created",
        target=org,
        changes={
            "code": code,
            "name": name,
            "kind": kind,
            "parent": parent.code if parent else None,
        },
        actor_username="system" if actor is None else "",
    )
    return org


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    org: OrgUnit,
    password: str | None,
    role_codes: Iterable[str] = (),
    email: str = "",
    mobile: str = "",
    must_change_password: bool = True,
    is_demo: bool = False,
) -> User:
    """Create a user in ``org`` with roles. An initial password must be changed at first
    sign-in (R0) unless ``must_change_password`` is off (demo users)."""
    if User.objects.filter(username=username).exists():
        raise ApplicationError(
            "username_taken", _("The username %(u)s is taken.") % {"u": username}
        )
    roles = list(Role.objects.filter(code__in=list(role_codes)).select_related("group"))
    if len(roles) != len(set(role_codes)):
        raise ApplicationError("role_unknown", _("Unknown role."))
    audience = (
        Role.Audience.PARTNER if org.kind in OrgUnit.PARTNER_KINDS else Role.Audience.OPERATOR
    )
    for role in roles:
        if role.audience != audience:
            raise ApplicationError(
                "role_audience",
                _("The role %(role)s cannot be given to a user of this org unit.")
                % {"role": role.name},
            )
    user = User(
        username=username,
        display_name=display_name,
        org=org,
        email=email,
        mobile=mobile,
        must_change_password=must_change_password,
        is_demo=is_demo,
    )
    if password:
        user.set_password(password)
        user.password_changed_at = timezone.now()
    else:
        user.set_unusable_password()
    user.save()
    user.groups.set([role.group for role in roles])
    audit_event_create(
        actor=actor,
        action="user.created",
        target=user,
        changes={"username": username, "org": org.code, "roles": sorted(r.code for r in roles)},
        actor_username="system" if actor is None else "",
    )
    return user


def api_token_create(
    *,
    actor: User | None,
    user: User,
    label: str,
    scopes: Iterable[str] = ("*",),
    expires_days: int = 90,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the raw token (shown once)."""
    if expires_days < 1 or expires_days > 3650:
        raise ApplicationError("token_expiry_invalid", _("A token must expire in 1 to 3650 days."))
    if not user.is_active:
        raise ApplicationError("user_inactive", _("The user is disabled."))
    prefix = secrets.token_hex(4)
    raw = f"prm_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        label=label,
        prefix=prefix,
        token_hash=ApiToken.hash_token(raw),
        scopes=sorted(set(scopes)) or ["*"],
        expires_at=timezone.now() + timedelta(days=expires_days),
        created_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="api_token.created",
        target=token,
        changes={
            "user": user.username,
            "label": label,
            "scopes": token.scopes,
            "expires_at": token.expires_at.isoformat(),
        },
        actor_username="cli" if actor is None else "",
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ApplicationError("token_already_revoked", _("The token is already revoked."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="api_token.revoked",
        target=token,
        changes={"revoked_at": token.revoked_at.isoformat()},
        actor_username="cli" if actor is None else "",
    )
    return token


def api_token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The valid (unexpired, unrevoked, active user) token matching ``raw_token``, if any."""
    if not raw_token.startswith("prm_"):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__org")
        .filter(token_hash=ApiToken.hash_token(raw_token))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_valid(now):
        return None
    # Touch at most once a minute: a busy integration should not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
