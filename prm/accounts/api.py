"""Accounts API: the calling user, org units and users (scoped)."""

from __future__ import annotations

from ninja import Router, Schema

router = Router(tags=["accounts"])


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


@router.get("/me", response=MeOut, summary="The calling user")
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
