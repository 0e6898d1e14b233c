"""Changes made on the administration console (R0 4A: account, authorisation).

Every change runs in one transaction on a locked row and writes its audit event with
``{field: [old, new]}``. The acting user must be able to see the object and, when it
moves, its new place (data scoping); views only offer choices in scope, and the services
check again so that the API and any other caller get the same rule.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit, Role, User
from prm.accounts.services.directory import _check_parent, user_create
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError
from prm.core.scoping import path_in_scope

# Permissions the system-admin role must keep, or nobody could manage roles any more.
ADMIN_ROLE_CODE = "system_admin"
ADMIN_ROLE_REQUIRED_PERMISSIONS = frozenset({"accounts.view_role", "accounts.manage_role"})
PASSWORD_ALPHABETS = (
    string.ascii_uppercase.replace("O", "").replace("I", ""),
    string.ascii_lowercase.replace("l", ""),
    "23456789",
    "!#%+-=?@",
)
PASSWORD_LENGTH = 14


def _not_found() -> ApplicationError:
    return ApplicationError("not_found", _("Not found."), status=404)


def _require_scope(*, actor: User, org: OrgUnit) -> None:
    # Same answer as for an org that does not exist: another city's data is invisible.
    if not path_in_scope(user=actor, path=org.path):
        raise _not_found()


def _require_org_in_scope(*, actor: User, org: OrgUnit, field: str) -> None:
    if not path_in_scope(user=actor, path=org.path):
        raise ApplicationError(
            "org_out_of_scope",
            _("The org unit %(code)s does not exist or is outside your scope.")
            % {"code": org.code},
            details={"field": field},
        )


def _roles_for(*, org: OrgUnit, role_codes: Iterable[str]) -> list[Role]:
    """The roles ``role_codes``, each of the audience of ``org`` (operator or partner)."""
    codes = sorted(set(role_codes))
    roles = list(Role.objects.filter(code__in=codes).select_related("group"))
    if len(roles) != len(codes):
        unknown = sorted(set(codes) - {role.code for role in roles})
        raise ApplicationError(
            "role_unknown",
            _("Unknown role: %(codes)s.") % {"codes": ", ".join(unknown)},
            details={"field": "roles"},
        )
    audience = Role.Audience.PARTNER if org.is_partner else Role.Audience.OPERATOR
    for role in roles:
        if role.audience != audience:
            raise ApplicationError(
                "role_audience",
                _("The role %(role)s cannot be given to a user of this org unit.")
                % {"role": role.name},
                details={"field": "roles"},
            )
    return roles


def _role_codes_of(user: User) -> list[str]:
    return sorted(Role.objects.filter(group__user=user).values_list("code", flat=True))


def password_generate() -> str:
    """A random initial password that meets the password policy (all four character
    classes, no look-alike characters)."""
    rng = secrets.SystemRandom()
    while True:
        chars = [rng.choice(alphabet) for alphabet in PASSWORD_ALPHABETS]
        everything = "".join(PASSWORD_ALPHABETS)
        chars += [rng.choice(everything) for _ in range(PASSWORD_LENGTH - len(chars))]
        rng.shuffle(chars)
        password = "".join(chars)
        try:
            validate_password(password)
        except ValidationError:  # pragma: no cover  (astronomically unlikely)
            continue
        return password


# --- Org units ----------------------------------------------------------------------


@transaction.atomic
def org_unit_update(
    *,
    actor: User,
    org: OrgUnit,
    name: str | None = None,
    parent: OrgUnit | None = None,
    is_active: bool | None = None,
) -> OrgUnit:
    """Rename, move (to a new ``parent`` in the actor's scope) or (de)activate an org unit.

    A move keeps the kind rules (a city sits under a province …), refuses a parent inside
    the unit's own subtree, and rewrites the paths of the whole subtree.
    """
    org = OrgUnit.objects.select_for_update().get(pk=org.pk)
    _require_scope(actor=actor, org=org)
    new_values: dict = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise ApplicationError(
                "org_name_required", _("The name is required."), details={"field": "name"}
            )
        new_values["name"] = name
    if is_active is not None:
        new_values["is_active"] = is_active
        if org.path == actor.scope_path and not is_active:
            raise ApplicationError(
                "org_own_root", _("You cannot deactivate the org unit you manage from.")
            )
    changes = field_changes(org, new_values)
    for field, value in new_values.items():
        setattr(org, field, value)
    if parent is not None and parent.pk != org.parent_id:
        parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
        _require_org_in_scope(actor=actor, org=parent, field="parent")
        if org.path == actor.scope_path:
            raise ApplicationError(
                "org_own_root", _("You cannot move the org unit you manage from.")
            )
        if parent.path.startswith(org.path):
            raise ApplicationError(
                "org_parent_cycle",
                _("An org unit cannot be moved under itself or one of its children."),
                details={"field": "parent"},
            )
        _check_parent(org.kind, parent)
        old_parent_code = org.parent.code if org.parent_id else None
        old_path, new_path = org.path, f"{parent.path}{org.pk}/"
        depth_shift = parent.depth + 1 - org.depth
        subtree = list(
            OrgUnit.objects.select_for_update().filter(path__startswith=old_path).exclude(pk=org.pk)
        )
        for descendant in subtree:
            descendant.path = new_path + descendant.path[len(old_path) :]
            descendant.depth += depth_shift
        OrgUnit.objects.bulk_update(subtree, ["path", "depth"])
        org.parent, org.path, org.depth = parent, new_path, org.depth + depth_shift
        changes["parent"] = [old_parent_code, parent.code]
    if not changes:
        return org
    org.save()
    audit_event_create(actor=actor, action="org_unit.updated", target=org, changes=changes)
    return org


# --- Users --------------------------------------------------------------------------


def user_provision(
    *,
    actor: User,
    username: str,
    display_name: str,
    org: OrgUnit,
    role_codes: Iterable[str] = (),
    email: str = "",
    mobile: str = "",
) -> tuple[User, str]:
    """Create a user in the actor's scope with a random initial password, which must be
    changed at first sign-in (R0). Returns the user and the password (shown once)."""
    _require_org_in_scope(actor=actor, org=org, field="org")
    _roles_for(org=org, role_codes=role_codes)
    password = password_generate()
    user = user_create(
        actor=actor,
        username=username.strip(),
        display_name=display_name.strip(),
        org=org,
        password=password,
        role_codes=list(role_codes),
        email=email.strip(),
        mobile=mobile.strip(),
        must_change_password=True,
    )
    return user, password


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    display_name: str | None = None,
    email: str | None = None,
    mobile: str | None = None,
    org: OrgUnit | None = None,
    role_codes: Iterable[str] | None = None,
) -> User:
    """Change a user's name, contact details, org unit (within the actor's scope) and
    roles (each of the audience of the user's org). ``None`` leaves a field as it is."""
    user = User.objects.select_for_update().select_related("org").get(pk=user.pk)
    _require_scope(actor=actor, org=user.org)
    new_values: dict = {}
    for field, value in (("display_name", display_name), ("email", email), ("mobile", mobile)):
        if value is not None:
            new_values[field] = value.strip()
    if new_values.get("display_name") == "":
        raise ApplicationError(
            "user_name_required", _("The name is required."), details={"field": "display_name"}
        )
    changes = field_changes(user, new_values)
    new_org = user.org
    if org is not None and org.pk != user.org_id:
        _require_org_in_scope(actor=actor, org=org, field="org")
        if org.is_partner != user.org.is_partner:
            raise ApplicationError(
                "org_audience",
                _("A user cannot move between the operator and a partner."),
                details={"field": "org"},
            )
        changes["org"] = [user.org.code, org.code]
        new_org = org
    old_codes = _role_codes_of(user)
    roles = None
    if role_codes is not None:
        roles = _roles_for(org=new_org, role_codes=role_codes)
        new_codes = sorted(role.code for role in roles)
        if new_codes != old_codes:
            if (
                user.pk == actor.pk
                and ADMIN_ROLE_CODE in old_codes
                and (ADMIN_ROLE_CODE not in new_codes)
            ):
                raise ApplicationError(
                    "own_admin_role",
                    _("You cannot remove the system administrator role from yourself."),
                    details={"field": "roles"},
                )
            changes["roles"] = [old_codes, new_codes]
    if not changes:
        return user
    for field, value in new_values.items():
        setattr(user, field, value)
    user.org = new_org
    user.save()
    if roles is not None and "roles" in changes:
        user.groups.set([role.group for role in roles])
    audit_event_create(actor=actor, action="user.updated", target=user, changes=changes)
    return user


def _user_locked(*, actor: User, user: User) -> User:
    locked = User.objects.select_for_update().select_related("org").get(pk=user.pk)
    _require_scope(actor=actor, org=locked.org)
    return locked


@transaction.atomic
def user_disable(*, actor: User, user: User) -> User:
    """Disable (停用) a user: they can no longer sign in and their API tokens stop
    working. Users are never deleted, so their history stays (R0)."""
    user = _user_locked(actor=actor, user=user)
    if user.pk == actor.pk:
        raise ApplicationError("disable_self", _("You cannot disable your own account."))
    if not user.is_active:
        raise ApplicationError("user_already_disabled", _("The user is already disabled."))
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    audit_event_create(
        actor=actor, action="user.disabled", target=user, changes={"is_active": [True, False]}
    )
    return user


@transaction.atomic
def user_enable(*, actor: User, user: User) -> User:
    """Enable a disabled user again."""
    user = _user_locked(actor=actor, user=user)
    if user.is_active:
        raise ApplicationError("user_already_active", _("The user is already active."))
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    audit_event_create(
        actor=actor, action="user.enabled", target=user, changes={"is_active": [False, True]}
    )
    return user


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> User:
    """Lift a lockout after repeated failed sign-ins before it runs out."""
    user = _user_locked(actor=actor, user=user)
    if not user.is_locked():
        raise ApplicationError("user_not_locked", _("The user is not locked."))
    old = user.locked_until
    # Ending the lock now also restarts the failure count (it counts from the lock's end).
    user.locked_until = timezone.now()
    user.save(update_fields=["locked_until", "updated_at"])
    audit_event_create(
        actor=actor,
        action="user.unlocked",
        target=user,
        changes={"locked_until": [old.isoformat(), user.locked_until.isoformat()]},
    )
    return user


@transaction.atomic
def user_password_reset(*, actor: User, user: User) -> tuple[User, str]:
    """Give a user a new random initial password, to be changed at next sign-in.

    Returns the user and the password, which is shown once to the admin and never stored
    or logged in clear.
    """
    user = _user_locked(actor=actor, user=user)
    if user.pk == actor.pk:
        raise ApplicationError(
            "reset_self", _("Change your own password on the password page instead.")
        )
    if not user.is_active:
        raise ApplicationError("user_inactive", _("The user is disabled."))
    password = password_generate()
    old_must_change = user.must_change_password
    user.set_password(password)
    user.must_change_password = True
    user.password_changed_at = timezone.now()
    user.save(
        update_fields=["password", "must_change_password", "password_changed_at", "updated_at"]
    )
    audit_event_create(
        actor=actor,
        action="user.password_reset",
        target=user,
        changes={"must_change_password": [old_must_change, True], "password": "reset"},
    )
    return user, password


@transaction.atomic
def user_language_set(*, user: User, language: str) -> User:
    """Remember the user's interface language (used when they sign in elsewhere)."""
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise ApplicationError("language_unknown", _("Unknown language."))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.language == language:
        return user
    old = user.language
    user.language = language
    user.save(update_fields=["language", "updated_at"])
    audit_event_create(
        actor=user, action="user.language_set", target=user, changes={"language": [old, language]}
    )
    return user


# --- Roles --------------------------------------------------------------------------


@transaction.atomic
def role_permissions_set(*, actor: User, role: Role, permission_codes: Iterable[str]) -> Role:
    """Set the permissions of a role (``app_label.codename``); roles are platform-wide.

    No escalation: an admin may grant only permissions they hold themselves. The system
    admin role keeps the permissions needed to manage roles, so it cannot lock itself out.
    """
    if not actor.has_perm("accounts.manage_role") or actor.is_partner_user:
        raise ApplicationError("forbidden", _("You do not have permission to do this."), status=403)
    role = Role.objects.select_for_update().select_related("group").get(pk=role.pk)
    wanted = sorted(set(permission_codes))
    permissions = []
    for code in wanted:
        app_label, _dot, codename = code.partition(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is None:
            raise ApplicationError(
                "permission_unknown",
                _("Unknown permission: %(code)s.") % {"code": code},
                details={"field": "permissions"},
            )
        permissions.append(permission)
    old = sorted(
        f"{app_label}.{codename}"
        for app_label, codename in role.group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    added = sorted(set(wanted) - set(old))
    not_held = [code for code in added if not actor.has_perm(code)]
    if not_held:
        raise ApplicationError(
            "permission_not_held",
            _("You cannot grant a permission you do not hold: %(codes)s.")
            % {"codes": ", ".join(not_held)},
            details={"field": "permissions"},
            status=403,
        )
    if role.code == ADMIN_ROLE_CODE and not set(wanted) >= ADMIN_ROLE_REQUIRED_PERMISSIONS:
        raise ApplicationError(
            "admin_role_permissions",
            _("The system administrator role must keep the permissions to manage roles."),
            details={"field": "permissions"},
        )
    if wanted == old:
        return role
    role.group.permissions.set(permissions)
    audit_event_create(
        actor=actor,
        action="role.permissions_set",
        target=role,
        changes={"permissions": [old, wanted]},
    )
    return role
