"""Accounts API: the calling user, org units and users (scoped to the caller, R0).

Objects are addressed by code (org units) and username (users), never by database id.
An object outside the caller's scope answers 404, exactly like one that does not exist.
Reads need ``view_*`` (token scope ``accounts.read``), writes ``manage_*``
(``accounts.write``).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from prm.accounts import selectors
from prm.accounts.services import (
    org_unit_update,
    user_disable,
    user_enable,
    user_update,
)
from prm.api import ErrorOut, paginate, require_permission
from prm.core.exceptions import ApplicationError

router = Router(tags=["accounts"])

READ_SCOPE = "accounts.read"
WRITE_SCOPE = "accounts.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"


class OrgRef(Schema):
    code: str
    name: str
    kind: str


class MeOut(Schema):
    username: str
    display_name: str
    email: str
    org: OrgRef
    roles: list[str]
    language: str
    is_partner_user: bool


class OrgUnitOut(Schema):
    code: str
    name: str
    kind: str
    parent: str | None = Field(None, description="Code of the parent org unit")
    depth: int
    is_active: bool


class OrgUnitFilters(Schema):
    q: str | None = Field(None, description="Code or name contains")
    kind: str | None = None
    is_active: bool | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class OrgUnitPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    parent: str | None = Field(None, description="Code of the new parent (moves the unit)")
    is_active: bool | None = None


class UserOut(Schema):
    username: str
    display_name: str
    email: str
    mobile: str
    org: OrgRef
    roles: list[str]
    is_active: bool
    is_locked: bool
    must_change_password: bool
    last_login: datetime | None


class UserFilters(Schema):
    q: str | None = Field(None, description="Username, name, e-mail or mobile contains")
    org: str | None = Field(None, description="Org unit code: users of its subtree")
    role: str | None = Field(None, description="Role code")
    is_active: bool | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class UserPatch(Schema):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, pattern=f"{MOBILE_PATTERN}|^$")
    org: str | None = Field(None, description="Code of the new org unit")
    roles: list[str] | None = Field(None, description="Role codes (replace the user's roles)")
    is_active: bool | None = Field(None, description="false disables, true enables the user")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except DjangoValidationError as error:
                raise ValueError("Enter a valid e-mail address.") from error
        return value


def _org_out(org) -> dict:
    return {
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "parent": org.parent.code if org.parent_id else None,
        "depth": org.depth,
        "is_active": org.is_active,
    }


def _user_out(user) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "mobile": user.mobile,
        "org": user.org,
        "roles": [role.code for role in selectors.user_roles(target=user)],
        "is_active": user.is_active,
        "is_locked": user.is_locked(),
        "must_change_password": user.must_change_password,
        "last_login": user.last_login,
    }


def _org_by_code(request: HttpRequest, code: str, *, field: str):
    org = selectors.org_unit_find(user=request.user, code=code)
    if org is None:
        raise ApplicationError(
            "org_out_of_scope",
            _("The org unit %(code)s does not exist or is outside your scope.") % {"code": code},
            details={"field": field},
        )
    return org


@router.get("/me", response={200: MeOut, 401: ErrorOut}, summary="The calling user")
def me(request):
    user = request.user
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "org": user.org,
        "roles": sorted(user.role_codes),
        "language": user.language,
        "is_partner_user": user.is_partner_user,
    }


@router.get(
    "/org-units",
    response={200: list[OrgUnitOut], **ERRORS},
    summary="Org units in the caller's scope (X-Total-Count holds the total)",
)
def org_unit_list(request, response: HttpResponse, filters: Query[OrgUnitFilters]):
    require_permission(request, "accounts.view_orgunit", scope=READ_SCOPE)
    orgs = selectors.org_unit_list_filtered(
        user=request.user, filters=filters.model_dump(exclude={"offset", "limit"})
    )
    page = paginate(orgs, response=response, offset=filters.offset, limit=filters.limit)
    return [_org_out(org) for org in page]


@router.get("/org-units/{code}", response={200: OrgUnitOut, **ERRORS}, summary="One org unit")
def org_unit_detail(request, code: str):
    require_permission(request, "accounts.view_orgunit", scope=READ_SCOPE)
    return _org_out(selectors.org_unit_get(user=request.user, code=code))


@router.patch(
    "/org-units/{code}", response={200: OrgUnitOut, **ERRORS}, summary="Change an org unit"
)
def org_unit_patch(request, code: str, payload: OrgUnitPatch):
    require_permission(request, "accounts.manage_orgunit", scope=WRITE_SCOPE)
    org = selectors.org_unit_get(user=request.user, code=code)
    parent = _org_by_code(request, payload.parent, field="parent") if payload.parent else None
    org_unit_update(
        actor=request.user, org=org, name=payload.name, parent=parent, is_active=payload.is_active
    )
    return _org_out(selectors.org_unit_get(user=request.user, code=code))


@router.get(
    "/users",
    response={200: list[UserOut], **ERRORS},
    summary="Users in the caller's scope (X-Total-Count holds the total)",
)
def user_list(request, response: HttpResponse, filters: Query[UserFilters]):
    require_permission(request, "accounts.view_user", scope=READ_SCOPE)
    users = selectors.user_list_filtered(
        user=request.user, filters=filters.model_dump(exclude={"offset", "limit"})
    )
    page = paginate(users, response=response, offset=filters.offset, limit=filters.limit)
    return [_user_out(user) for user in page]


@router.get("/users/{username}", response={200: UserOut, **ERRORS}, summary="One user")
def user_detail(request, username: str):
    require_permission(request, "accounts.view_user", scope=READ_SCOPE)
    return _user_out(selectors.user_get(user=request.user, username=username))


@router.patch("/users/{username}", response={200: UserOut, **ERRORS}, summary="Change a user")
def user_patch(request, username: str, payload: UserPatch):
    require_permission(request, "accounts.manage_user", scope=WRITE_SCOPE)
    target = selectors.user_get(user=request.user, username=username)
    org = _org_by_code(request, payload.org, field="org") if payload.org else None
    with transaction.atomic():
        user_update(
            actor=request.user,
            user=target,
            display_name=payload.display_name,
            email=payload.email,
            mobile=payload.mobile,
            org=org,
            role_codes=payload.roles,
        )
        if payload.is_active is False and target.is_active:
            user_disable(actor=request.user, user=target)
        elif payload.is_active is True and not target.is_active:
            user_enable(actor=request.user, user=target)
    return _user_out(selectors.user_get(user=request.user, username=username))
