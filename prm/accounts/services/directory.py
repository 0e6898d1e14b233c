"""Org units, users and roles: creation and the role sync."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit, Role, User
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
    """Sync once every app's permissions exist: after the last installed app migrated
    (post_migrate is sent per app, in INSTALLED_APPS order)."""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if getattr(sender, "label", None) == with_models[-1].label:
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
