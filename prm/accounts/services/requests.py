"""Operator account requests on the workflow engine (R0 workflow: the first real document).

A system admin (or partner manager) of a city or county branch asks for an operator
account for someone of their subtree; the province's system admin approves it on the
approval engine; approval creates the user with an initial password that must be
changed at first sign-in, sent by SMS to the new user's mobile and never shown on screen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import AccountRequest, OrgUnit, Role, User
from prm.accounts.services.console import password_generate
from prm.accounts.services.directory import user_create
from prm.core import notifications
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.scoping import path_in_scope
from prm.core.workflow import workflow_instance_for, workflow_resubmit, workflow_submit

logger = logging.getLogger(__name__)

ACCOUNT_REQUEST_WORKFLOW = "accounts.account_request"
REQUESTER_ORG_KINDS = (OrgUnit.Kind.CITY, OrgUnit.Kind.COUNTY)
OPEN_STATUSES = (
    AccountRequest.Status.DRAFT,
    AccountRequest.Status.SUBMITTED,
    AccountRequest.Status.REJECTED,
)
USERNAME_PATTERN = re.compile(r"^[\w.@+-]{3,150}\Z")
MOBILE_PATTERN = re.compile(r"^1\d{10}\Z")


def _notify(**kwargs) -> None:
    """Hand a notification to ``prm.core.notifications.notify`` when that exists.

    Runs on commit: a gateway failure is logged and never undoes the committed approval
    (the admin can then reset the password from the console).
    """
    try:
        notifications.notify(**kwargs)
    except Exception:  # noqa: BLE001
        logger.exception("account request notification %s failed", kwargs.get("event"))


def _refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def _check_requester(actor: User) -> None:
    if not actor.has_perm("accounts.request_account"):
        raise Forbidden()
    if actor.org.kind not in REQUESTER_ORG_KINDS:
        raise _refuse(
            "requester_org_kind",
            _("Account requests are made by a city or county branch."),
            status=403,
        )


def _validated(
    *,
    actor: User,
    username: str,
    display_name: str,
    email: str,
    mobile: str,
    org: OrgUnit,
    role_codes: Iterable[str],
    exclude_pk: int | None = None,
) -> dict[str, Any]:
    """The request's fields, cleaned; any broken rule refuses the whole request."""
    username, display_name = username.strip(), display_name.strip()
    email, mobile = email.strip(), mobile.strip()
    role_codes = sorted(set(role_codes))
    if not USERNAME_PATTERN.match(username):
        raise _refuse(
            "username_invalid",
            _("Use 3 to 150 letters, digits and . @ + - _ for the username."),
            field="username",
        )
    if User.objects.filter(username=username).exists():
        raise _refuse(
            "username_taken", _("The username %(u)s is taken.") % {"u": username}, field="username"
        )
    if (
        AccountRequest.objects.filter(username=username, status__in=OPEN_STATUSES)
        .exclude(pk=exclude_pk)
        .exists()
    ):
        raise _refuse(
            "username_requested",
            _("An open request already asks for the username %(u)s.") % {"u": username},
            field="username",
        )
    if not display_name:
        raise _refuse("name_required", _("Enter the person's name."), field="display_name")
    if not MOBILE_PATTERN.match(mobile):
        raise _refuse(
            "mobile_invalid", _("Enter an 11-digit mobile number starting with 1."), field="mobile"
        )
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise _refuse(
                "email_invalid", _("Enter a valid e-mail address."), field="email"
            ) from exc
    if not path_in_scope(user=actor, path=org.path) or not org.is_active:
        raise _refuse(
            "org_out_of_scope",
            _("The account's org unit must lie within your own org unit."),
            field="org",
        )
    if org.kind not in OrgUnit.OPERATOR_KINDS:
        raise _refuse(
            "org_not_operator", _("Operator accounts belong to an operator org unit."), field="org"
        )
    if not role_codes:
        raise _refuse("roles_required", _("Choose at least one role."), field="role_codes")
    roles = list(Role.objects.filter(code__in=role_codes))
    if len(roles) != len(role_codes):
        raise _refuse("role_unknown", _("Unknown role."), field="role_codes")
    for role in roles:
        if role.audience != Role.Audience.OPERATOR:
            raise _refuse(
                "role_audience",
                _("The role %(role)s cannot be given to an operator account.")
                % {"role": role.name},
                field="role_codes",
            )
    return {
        "username": username,
        "display_name": display_name,
        "email": email,
        "mobile": mobile,
        "org": org,
        "role_codes": role_codes,
    }


def _next_code() -> str:
    prefix = f"AR-{timezone.localdate().year}-"
    last = (
        AccountRequest.objects.select_for_update()
        .filter(code__startswith=prefix)
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:06d}"


@transaction.atomic
def account_request_create(
    *,
    actor: User,
    username: str,
    display_name: str,
    mobile: str,
    org: OrgUnit,
    role_codes: Iterable[str],
    email: str = "",
    reason: str = "",
) -> AccountRequest:
    """Record a request for a new operator account and submit it for approval."""
    _check_requester(actor)
    fields = _validated(
        actor=actor,
        username=username,
        display_name=display_name,
        email=email,
        mobile=mobile,
        org=org,
        role_codes=role_codes,
    )
    account_request = AccountRequest.objects.create(
        code=_next_code(), requested_by=actor, reason=reason.strip(), **fields
    )
    audit_event_create(
        actor=actor,
        action="account_request.created",
        target=account_request,
        changes={**fields, "org": org.code},
    )
    workflow_submit(target=account_request, definition_code=ACCOUNT_REQUEST_WORKFLOW, actor=actor)
    account_request.refresh_from_db()
    return account_request


@transaction.atomic
def account_request_resubmit(
    *,
    actor: User,
    code: str,
    username: str,
    display_name: str,
    mobile: str,
    org: OrgUnit,
    role_codes: Iterable[str],
    email: str = "",
    reason: str = "",
) -> AccountRequest:
    """Correct a rejected request and send it for approval again (a new round)."""
    account_request = AccountRequest.objects.select_for_update().get(code=code)
    if account_request.requested_by_id != actor.pk:
        raise _refuse("not_requester", _("Only the requester can change this request."), status=403)
    if account_request.status != AccountRequest.Status.REJECTED:
        raise _refuse(
            "not_rejected",
            _("Only a rejected request can be changed and resubmitted."),
            status=409,
        )
    _check_requester(actor)
    fields = _validated(
        actor=actor,
        username=username,
        display_name=display_name,
        email=email,
        mobile=mobile,
        org=org,
        role_codes=role_codes,
        exclude_pk=account_request.pk,
    )
    fields["reason"] = reason.strip()
    changes = field_changes(account_request, fields)
    for name, value in fields.items():
        setattr(account_request, name, value)
    account_request.save()
    if changes:
        audit_event_create(
            actor=actor, action="account_request.updated", target=account_request, changes=changes
        )
    instance = workflow_instance_for(
        target=account_request, definition_code=ACCOUNT_REQUEST_WORKFLOW
    )
    workflow_resubmit(instance_id=instance.pk, actor=actor)
    account_request.refresh_from_db()
    return account_request


# ---- Workflow callbacks (run inside the engine's transaction) -------------------------


def _move(*, instance, actor, status: str) -> AccountRequest:
    account_request = AccountRequest.objects.select_for_update().get(pk=instance.target_id)
    old = account_request.transition_to(status)
    account_request.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action=f"account_request.{status}",
        target=account_request,
        changes={"status": [old, status]},
    )
    return account_request


def account_request_on_submitted(*, instance, actor) -> None:
    _move(instance=instance, actor=actor, status=AccountRequest.Status.SUBMITTED)


def account_request_on_rejected(*, instance, actor) -> None:
    _move(instance=instance, actor=actor, status=AccountRequest.Status.REJECTED)


def account_request_on_withdrawn(*, instance, actor) -> None:
    _move(instance=instance, actor=actor, status=AccountRequest.Status.WITHDRAWN)


def account_request_on_approved(*, instance, actor) -> None:
    """Create the account; its initial password goes by SMS to the new user only."""
    account_request = _move(instance=instance, actor=actor, status=AccountRequest.Status.APPROVED)
    password = password_generate()
    user = user_create(
        actor=actor,
        username=account_request.username,
        display_name=account_request.display_name,
        org=account_request.org,
        password=password,
        role_codes=account_request.role_codes,
        email=account_request.email,
        mobile=account_request.mobile,
        must_change_password=True,
    )
    account_request.created_user = user
    account_request.save(update_fields=["created_user", "updated_at"])
    audit_event_create(
        actor=actor,
        action="account_request.account_created",
        target=account_request,
        changes={"created_user": user.username},
    )
    transaction.on_commit(
        partial(
            _notify,
            recipients=[user],
            event="core.initial_password",
            context={"username": user.username, "password": password},
            channels=("sms",),
        )
    )
