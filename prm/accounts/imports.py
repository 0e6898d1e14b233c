"""Import/export of org units and users (R0 import/export; found by autodiscovery).

Scope (R0 data scoping): an importing admin may only create org units under a parent in
their own subtree, only touch existing org units and users in that subtree, and only
place users in org units of that subtree. Passwords are never imported: new users get
an unusable password and must set one through the password reset.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit, Role, User
from prm.accounts.selectors import org_unit_list, user_list
from prm.accounts.services import org_unit_create, user_create
from prm.core.audit import audit_event_create, field_changes
from prm.core.imports import (
    Column,
    ImportSpec,
    RowError,
    choice_parser,
    import_spec_register,
    length_parser,
    regex_parser,
)
from prm.core.models import Region
from prm.core.validators import msisdn_normalise, validate_msisdn

_KIND_ALIASES = {
    "总部": "hq",
    "省公司": "province",
    "市分公司": "city",
    "地市分公司": "city",
    "县分公司": "county",
    "区县分公司": "county",
    "合作伙伴": "partner",
    "办事处": "office",
    "项目部": "project",
    "站点": "station",
    "班组": "team",
}
_ROLE_SEPARATORS = re.compile(r"[,，、;；\s]+")
_NOT_IN_SCOPE = _("No org unit with code %(code)s in your scope.")


def _scoped_orgs(actor, codes: set[str]) -> dict[str, OrgUnit]:
    orgs = OrgUnit.objects.all() if actor is None else org_unit_list(user=actor)
    return {org.code: org for org in orgs.filter(code__in=codes).select_related("parent")}


def _parse_roles(value: str) -> tuple[str, ...]:
    return tuple(sorted({code for code in _ROLE_SEPARATORS.split(value) if code}))


def _parse_email(value: str) -> str:
    EmailValidator()(value)
    return value


def _parse_mobile(value: str) -> str:
    validate_msisdn(value)
    return msisdn_normalise(value)


@import_spec_register
class OrgUnitImport(ImportSpec):
    """Org units, upserted by code. New units go under a parent in the actor's scope
    (or under a unit created by the same file); existing units keep their kind and
    parent (moving a unit is not an import)."""

    kind = "org_units"
    label = _("Org units")
    permission = "accounts.manage_orgunit"
    key_columns = ("code",)
    columns = (
        Column(
            "code",
            _("Code"),
            required=True,
            parser=regex_parser(
                r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}",
                _("A code is up to 40 letters, digits, dots, dashes or underscores."),
            ),
            aliases=("编码", "代码", "组织编码"),
        ),
        Column("name", _("Name"), required=True, parser=length_parser(200), aliases=("名称",)),
        Column(
            "kind",
            _("Kind"),
            required=True,
            parser=choice_parser(OrgUnit.Kind, _KIND_ALIASES),
            aliases=("类型",),
        ),
        Column("parent_code", _("Parent code"), required=True, aliases=("上级编码", "上级代码")),
        Column("region_code", _("Region code"), aliases=("行政区划代码", "区域代码")),
    )

    def prepare(self, *, actor, rows):
        codes = {row.get("code", "") for row in rows} | {row.get("parent_code", "") for row in rows}
        parse_kind = self.columns[2].parser
        file_units: dict[str, tuple[str, str]] = {}
        for row in rows:
            try:
                file_units[row.get("code", "")] = (
                    parse_kind(row.get("kind", "")),
                    row["parent_code"],
                )
            except (ValidationError, KeyError):
                continue
        return {
            "in_scope": _scoped_orgs(actor, codes),
            "existing": set(OrgUnit.objects.filter(code__in=codes).values_list("code", flat=True)),
            "file_units": file_units,
            "regions": set(
                Region.objects.filter(
                    code__in={row.get("region_code", "") for row in rows}
                ).values_list("code", flat=True)
            ),
        }

    def clean(self, values, context):
        code, kind, parent_code = values["code"], values["kind"], values["parent_code"]
        in_scope, errors = context["in_scope"], {}
        if values["region_code"] and values["region_code"] not in context["regions"]:
            errors["region_code"] = _("No region with code %(code)s.") % {
                "code": values["region_code"]
            }
        current = in_scope.get(code)
        if current is not None:
            if current.kind != kind:
                errors["kind"] = _("The kind of an existing org unit cannot be changed here.")
            if (current.parent.code if current.parent else "") != parent_code:
                errors["parent_code"] = _("An existing org unit cannot be moved by import.")
        elif code in context["existing"]:
            errors["code"] = _("An org unit with this code exists outside your scope.")
        else:
            parent_kind = self._new_parent_kind(code, parent_code, context)
            if parent_kind is None:
                errors["parent_code"] = _NOT_IN_SCOPE % {"code": parent_code}
            elif parent_kind not in OrgUnit.ALLOWED_PARENTS[OrgUnit.Kind(kind)]:
                errors["kind"] = _("A %(kind)s cannot be placed under a %(parent)s.") % {
                    "kind": OrgUnit.Kind(kind).label,
                    "parent": OrgUnit.Kind(parent_kind).label,
                }
        if errors:
            raise RowError(errors)
        return values

    @staticmethod
    def _new_parent_kind(code: str, parent_code: str, context) -> str | None:
        """The parent's kind if the parent is in scope, or is a new unit of this file
        whose own parent chain reaches the scope without looping; else None."""
        in_scope, file_units = context["in_scope"], context["file_units"]
        if parent_code in in_scope:
            return in_scope[parent_code].kind
        if parent_code in context["existing"] or parent_code not in file_units:
            return None
        seen = {code}
        cursor = parent_code
        while cursor not in in_scope:
            if cursor in seen or cursor not in file_units or cursor in context["existing"]:
                return None
            seen.add(cursor)
            cursor = file_units[cursor][1]
        return file_units[parent_code][0]

    def write(self, rows, *, actor):
        regions = {
            region.code: region
            for region in Region.objects.filter(code__in={row["region_code"] for row in rows})
        }
        units = {
            org.code: org
            for org in OrgUnit.objects.select_for_update().filter(
                code__in={row["code"] for row in rows} | {row["parent_code"] for row in rows}
            )
        }
        created = updated = 0
        pending = []
        for row in rows:
            org = units.get(row["code"])
            if org is None:
                pending.append(row)
                continue
            wanted = {"name": row["name"], "region": regions.get(row["region_code"])}
            changes = field_changes(org, wanted)
            if changes:
                for name, value in wanted.items():
                    setattr(org, name, value)
                org.save(update_fields=["name", "region", "updated_at"])
                audit_event_create(
                    actor=actor,
                    action="org_unit.updated",
                    target=org,
                    changes=changes,
                    actor_username="system" if actor is None else "",
                )
                updated += 1
        # New units: parents first (a parent may be created by an earlier pass).
        while pending:
            ready = [row for row in pending if row["parent_code"] in units]
            if not ready:
                raise RuntimeError("org unit import: unresolved parents")
            for row in ready:
                units[row["code"]] = org_unit_create(
                    actor=actor,
                    code=row["code"],
                    name=row["name"],
                    kind=row["kind"],
                    parent=units[row["parent_code"]],
                    region=regions.get(row["region_code"]),
                )
                created += 1
            pending = [row for row in pending if row["code"] not in units]
        return created, updated

    def export_rows(self, *, user):
        for org in org_unit_list(user=user).order_by("path"):
            yield {
                "code": org.code,
                "name": org.name,
                "kind": org.kind,
                "parent_code": org.parent.code if org.parent else "",
                "region_code": org.region.code if org.region else "",
            }


@import_spec_register
class UserImport(ImportSpec):
    """Users, upserted by username, placed in org units of the actor's scope. New users
    get an unusable password and must change it at first sign-in; passwords are never
    read from a file."""

    kind = "users"
    label = _("Users")
    permission = "accounts.manage_user"
    key_columns = ("username",)
    forbidden_headers = ("password", "密码", "口令")
    columns = (
        Column(
            "username",
            _("Username"),
            required=True,
            parser=regex_parser(
                r"[\w.@+\-]{1,150}", _("A username is letters, digits and @ . + - _ only.")
            ),
            aliases=("用户名", "账号"),
        ),
        Column(
            "display_name",
            _("Name"),
            required=True,
            parser=length_parser(100),
            aliases=("姓名", "名称", "name"),
        ),
        Column("org_code", _("Org code"), required=True, aliases=("组织编码", "所属组织编码")),
        Column("roles", _("Roles"), parser=_parse_roles, aliases=("角色",)),
        Column("email", _("E-mail"), parser=_parse_email, aliases=("邮箱", "电子邮件", "email")),
        Column("mobile", _("Mobile number"), parser=_parse_mobile, aliases=("手机号码", "手机")),
    )

    def prepare(self, *, actor, rows):
        usernames = {row.get("username", "") for row in rows}
        existing = User.objects.filter(username__in=usernames)
        scoped = existing if actor is None else user_list(user=actor).filter(username__in=usernames)
        return {
            "orgs": _scoped_orgs(actor, {row.get("org_code", "") for row in rows}),
            "existing": set(existing.values_list("username", flat=True)),
            "in_scope": set(scoped.values_list("username", flat=True)),
            "roles": dict(Role.objects.values_list("code", "audience")),
        }

    def clean(self, values, context):
        errors = {}
        username = values["username"]
        if username in context["existing"] and username not in context["in_scope"]:
            errors["username"] = _("A user with this username exists outside your scope.")
        org = context["orgs"].get(values["org_code"])
        if org is None:
            errors["org_code"] = _NOT_IN_SCOPE % {"code": values["org_code"]}
        roles = values["roles"] or ()
        unknown = [code for code in roles if code not in context["roles"]]
        if unknown:
            errors["roles"] = _("Unknown roles: %(codes)s.") % {"codes": ", ".join(unknown)}
        elif org is not None:
            audience = Role.Audience.PARTNER if org.is_partner else Role.Audience.OPERATOR
            wrong = [code for code in roles if context["roles"][code] != audience]
            if wrong:
                errors["roles"] = _(
                    "These roles cannot be given to a user of this org unit: %(codes)s."
                ) % {"codes": ", ".join(wrong)}
        if errors:
            raise RowError(errors)
        values["org"] = org
        values["roles"] = roles
        return values

    def write(self, rows, *, actor):
        users = {
            user.username: user
            for user in User.objects.select_for_update().filter(
                username__in=[row["username"] for row in rows]
            )
        }
        groups = {role.code: role.group for role in Role.objects.select_related("group")}
        created = updated = 0
        for row in rows:
            user = users.get(row["username"])
            if user is None:
                user_create(
                    actor=actor,
                    username=row["username"],
                    display_name=row["display_name"],
                    org=row["org"],
                    password=None,
                    role_codes=row["roles"],
                    email=row["email"],
                    mobile=row["mobile"],
                    must_change_password=True,
                )
                created += 1
                continue
            if self._update(user, row, groups=groups, actor=actor):
                updated += 1
        return created, updated

    @staticmethod
    @transaction.atomic
    def _update(user: User, row, *, groups, actor) -> bool:
        """Apply the row to an existing user; audit and return whether anything changed."""
        wanted = {
            "display_name": row["display_name"],
            "org": row["org"],
            "email": row["email"],
            "mobile": row["mobile"],
        }
        changes = field_changes(user, wanted)
        if "org" in changes:
            changes["org"] = [user.org.code, row["org"].code]
        old_roles = sorted(
            user.groups.filter(role__isnull=False).values_list("role__code", flat=True)
        )
        new_roles = sorted(row["roles"])
        if old_roles != new_roles:
            changes["roles"] = [old_roles, new_roles]
        if not changes:
            return False
        for name, value in wanted.items():
            setattr(user, name, value)
        user.save(update_fields=["display_name", "org", "email", "mobile", "updated_at"])
        if "roles" in changes:
            kept = user.groups.filter(role__isnull=True)
            user.groups.set([*kept, *(groups[code] for code in new_roles)])
        audit_event_create(
            actor=actor,
            action="user.updated",
            target=user,
            changes=changes,
            actor_username="system" if actor is None else "",
        )
        return True

    def export_rows(self, *, user):
        users = user_list(user=user).prefetch_related("groups__role").order_by("username")
        for person in users:
            roles = sorted(
                group.role.code for group in person.groups.all() if hasattr(group, "role")
            )
            yield {
                "username": person.username,
                "display_name": person.display_name,
                "org_code": person.org.code,
                "roles": ",".join(roles),
                "email": person.email,
                "mobile": person.mobile,
            }
