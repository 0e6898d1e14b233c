"""Factories for org units and users. They go through the services, so paths, roles and
audit events are exactly what production code makes."""

from __future__ import annotations

import itertools

from prm.accounts.models import OrgUnit, User
from prm.accounts.services import org_unit_create, user_create

DEFAULT_PASSWORD = "Prm-test-Passw0rd!"
_counter = itertools.count(1)


def org_unit(
    *, kind: str = "city", parent: OrgUnit | None = None, name: str = "", code: str = ""
) -> OrgUnit:
    n = next(_counter)
    return org_unit_create(
        actor=None,
        code=code or f"{kind.upper()}{n:04d}",
        name=name or f"{kind} {n}",
        kind=kind,
        parent=parent,
    )


def user(
    *,
    org: OrgUnit,
    roles: tuple[str, ...] = (),
    username: str = "",
    password: str = DEFAULT_PASSWORD,
    must_change_password: bool = False,
    **extra,
) -> User:
    n = next(_counter)
    return user_create(
        actor=None,
        username=username or f"user{n}",
        display_name=extra.pop("display_name", f"User {n}"),
        org=org,
        password=password,
        role_codes=roles,
        must_change_password=must_change_password,
        email=extra.pop("email", f"user{n}@example.com"),
        mobile=extra.pop("mobile", "13800138000"),
        **extra,
    )
