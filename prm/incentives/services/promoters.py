"""Promoter registration and lifecycle (R4 推荐人注册; seed 004 系统注册).

- Registration paths: hall clerks and call-centre agents through the *intranet* form (an
  operator user holding ``incentives.add_promoter`` registers them, or registers
  themself), telemarketers and ordinary promoters through the public *internet* form
  (anonymous, rate-limited per client address). ``Promoter.PATH_OF_KIND`` decides which
  kinds a path may register. Call-centre agents also arrive from the seat feed
  (``services/seats.py``).
- Every promoter is the operator's subscriber (``operator_msisdn_clean``); one live
  registration per number (rejected ones may register again, as a new registration).
- A registration goes through the ``PROMOTER_WORKFLOW`` approval: one step, the channel
  manager of the promoter's city (the city admin, 地市管理员). The engine never lets the
  submitter approve. Internet registrations have no submitter login: they are submitted
  by the platform's registration account ``_internet-registration`` (see
  :func:`_internet_registrar`).
- Approval makes the promoter active, assigns the work ID ``<city code>-<6 digits>``
  (a per-city counter, taken under a lock on the city row) and creates the login
  (username = work ID, role ``promoter``, org = the city) with an initial password that
  goes by SMS to the promoter's number only; it is never stored in clear or logged.
  Rejection records the reason and tells the promoter by SMS.
- Staff disable and enable promoters (the login follows) and change the bank account
  and channel; every change writes an audit event in its transaction.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.accounts.services import password_generate, user_create, user_disable, user_enable
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import WorkflowAction
from prm.core.notifications import notify_number
from prm.core.scoping import path_in_scope
from prm.core.workflow import workflow_submit
from prm.incentives.constants import (
    EVENT_PROMOTER_APPROVED,
    EVENT_PROMOTER_REJECTED,
    PROMOTER_WORKFLOW,
)
from prm.incentives.models import Channel, Outlet, Promoter
from prm.incentives.numbers import operator_msisdn_clean

Kind = Promoter.Kind
Path = Promoter.Path
Status = Promoter.Status

ADD_PERMISSION = "incentives.add_promoter"
CHANGE_PERMISSION = "incentives.change_promoter"
APPROVE_PERMISSION = "incentives.approve_promoter"
PROMOTER_ROLE = "promoter"

# The account that submits internet registrations to the approval engine (which needs a
# submitting user). A leading underscore: the console's username rule cannot create it,
# so no person can ever hold it; it has no role and no usable password.
INTERNET_REGISTRAR_USERNAME = "_internet-registration"
INTERNET_REGISTRAR_NAME = "Internet registration (system)"

RATE_LIMIT_WINDOW_SECONDS = 600
DEFAULT_REGISTRATION_LIMIT = 10
BANK_ACCOUNT_PATTERN = re.compile(r"^\d{12,30}\Z")
WORK_ID_DIGITS = 6
WORK_ID_MAX_LENGTH = 20
NAME_MAX_LENGTH = 100


def _refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def kinds_of_path(path: str) -> list[str]:
    """The promoter kinds a registration path may register (R4)."""
    return [kind for kind, kind_path in Promoter.PATH_OF_KIND.items() if kind_path == path]


# ---- Rate limit of the public form -----------------------------------------------------------


def promoter_registration_rate_limit(*, client_ip: str | None) -> None:
    """Count one internet registration attempt of ``client_ip``; refuse (429) past
    ``PRM_PROMOTER_REGISTRATION_LIMIT`` attempts (10 by default) in a 10-minute window.

    Every attempt counts, valid or not, so the form cannot be used to probe which numbers
    are registered. Same counter as the partners' progress query (the cache)."""
    limit = getattr(settings, "PRM_PROMOTER_REGISTRATION_LIMIT", DEFAULT_REGISTRATION_LIMIT)
    key = f"prm:promoter-registration:{client_ip or 'unknown'}"
    cache.add(key, 0, timeout=RATE_LIMIT_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=RATE_LIMIT_WINDOW_SECONDS)
        count = 1
    if count > limit:
        raise ApplicationError(
            "rate_limited",
            _("Too many registrations from your address. Try again in 10 minutes."),
            details={"retry_after_seconds": RATE_LIMIT_WINDOW_SECONDS},
            status=429,
        )


# ---- Checks shared by registration, edit and the seat feed ---------------------------------


def promoter_live_with_number(*, msisdn: str, exclude_pk: int | None = None) -> Promoter | None:
    """The live (not rejected) promoter registered with ``msisdn``, if any."""
    promoters = Promoter.objects.filter(msisdn=msisdn).exclude(status=Status.REJECTED)
    if exclude_pk is not None:
        promoters = promoters.exclude(pk=exclude_pk)
    return promoters.order_by("pk").first()


def _number_taken() -> ApplicationError:
    return _refuse(
        "msisdn_registered",
        _(
            "This number is already registered as a promoter. A number can hold one "
            "registration; a rejected one can register again."
        ),
        field="msisdn",
        status=409,
    )


def _msisdn(value: str) -> str:
    try:
        return operator_msisdn_clean(value)
    except ApplicationError as exc:
        raise _refuse(exc.code, exc.message, field="msisdn") from exc


def _name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise _refuse("name_required", _("Enter the promoter's name."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise _refuse(
            "name_too_long",
            _("The name has at most %(n)d characters.") % {"n": NAME_MAX_LENGTH},
            field="name",
        )
    return name


def _bank(bank_name: str, bank_account: str) -> tuple[str, str]:
    """The bank and the account number: digits only (spaces allowed when typed), 12 to 30."""
    bank_name = (bank_name or "").strip()
    if not bank_name:
        raise _refuse("bank_name_required", _("Enter the bank."), field="bank_name")
    if len(bank_name) > 100:
        raise _refuse(
            "bank_name_too_long", _("The bank has at most 100 characters."), field="bank_name"
        )
    account = re.sub(r"\s", "", bank_account or "")
    if not BANK_ACCOUNT_PATTERN.match(account):
        raise _refuse(
            "bank_account_invalid",
            _("The bank account is 12 to 30 digits."),
            field="bank_account",
        )
    return bank_name, account


def _email(value: str) -> str:
    email = (value or "").strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise _refuse("email_invalid", _("Enter a valid e-mail address."), field="email") from exc
    if len(email) > 254:
        raise _refuse("email_invalid", _("Enter a valid e-mail address."), field="email")
    return email


def _city(code: str) -> OrgUnit:
    city = (
        OrgUnit.objects.filter(code=(code or "").strip(), kind=OrgUnit.Kind.CITY, is_active=True)
        .order_by("pk")
        .first()
    )
    if city is None:
        raise _refuse("city_unknown", _("Choose the city."), field="city")
    return city


def _in_city(org: OrgUnit, city: OrgUnit) -> bool:
    return org.path.startswith(city.path)


def channel_outlet_resolve(
    *, city: OrgUnit, channel_code: str = "", outlet_code: str = ""
) -> tuple[Channel | None, Outlet | None]:
    """The channel and outlet named by their codes, both active and of ``city``'s subtree.

    An outlet alone names its channel; with both, the outlet must be the channel's."""
    channel_code, outlet_code = (channel_code or "").strip(), (outlet_code or "").strip()
    channel = outlet = None
    if channel_code:
        channel = (
            Channel.objects.select_related("org").filter(code=channel_code, is_active=True).first()
        )
        if channel is None:
            raise _refuse(
                "channel_unknown",
                _("There is no active channel %(code)s.") % {"code": channel_code},
                field="channel",
            )
    if outlet_code:
        outlet = (
            Outlet.objects.select_related("channel__org")
            .filter(code=outlet_code, is_active=True)
            .first()
        )
        if outlet is None:
            raise _refuse(
                "outlet_unknown",
                _("There is no active outlet %(code)s.") % {"code": outlet_code},
                field="outlet",
            )
        if channel is not None and outlet.channel_id != channel.pk:
            raise _refuse(
                "outlet_other_channel",
                _("The outlet %(outlet)s is not one of the channel %(channel)s.")
                % {"outlet": outlet.code, "channel": channel.code},
                field="outlet",
            )
        channel = outlet.channel
        if not channel.is_active:
            raise _refuse(
                "channel_unknown",
                _("There is no active channel %(code)s.") % {"code": channel.code},
                field="outlet",
            )
    if channel is not None and not _in_city(channel.org, city):
        raise _refuse(
            "channel_other_city",
            _("The channel %(channel)s does not belong to %(city)s.")
            % {"channel": channel.code, "city": city.name},
            field="outlet" if outlet is not None and not channel_code else "channel",
        )
    return channel, outlet


def _org_path(promoter: Promoter) -> str:
    return promoter.org.path


def _audit(*, actor, action: str, promoter: Promoter, changes: dict, actor_username: str = ""):
    """An audit event on the promoter; without an acting user (internet registration,
    scheduled seat feed) it is placed in the promoter's city."""
    audit_event_create(
        actor=actor,
        action=action,
        target=promoter,
        changes=changes,
        actor_username=actor_username or ("" if actor is not None else "system"),
        org_path=_org_path(promoter),
    )


# ---- Registration ------------------------------------------------------------------------


def _internet_registrar(*, city: OrgUnit):
    """The account internet registrations are submitted by (created on first use, at the
    top of the operator tree, through the accounts service)."""
    user_model = get_user_model()
    registrar = user_model.objects.filter(username=INTERNET_REGISTRAR_USERNAME).first()
    if registrar is not None:
        return registrar
    root = OrgUnit.objects.get(pk=city.ancestor_ids[0])
    try:
        with transaction.atomic():
            return user_create(
                actor=None,
                username=INTERNET_REGISTRAR_USERNAME,
                display_name=INTERNET_REGISTRAR_NAME,
                org=root,
                password=None,
                role_codes=(),
                must_change_password=False,
            )
    except (ApplicationError, IntegrityError):  # created by a concurrent registration
        return user_model.objects.get(username=INTERNET_REGISTRAR_USERNAME)


def _may_register_for(actor, city: OrgUnit) -> bool:
    """Intranet: the city is in the registrant's subtree, or is the city their own org
    sits in (a county's clerk registers with their city)."""
    return path_in_scope(user=actor, path=city.path) or (
        not actor.is_partner_user and actor.org.path.startswith(city.path)
    )


@transaction.atomic
def promoter_register(
    *,
    path: str,
    actor,
    name: str,
    msisdn: str,
    kind: str,
    city_code: str,
    channel_code: str = "",
    outlet_code: str = "",
    bank_name: str,
    bank_account: str,
    email: str = "",
) -> Promoter:
    """Register a promoter through the intranet or the internet form and submit the
    registration to the city admin's approval (R4 promoter registration).

    ``actor`` is the signed-in registrant on the intranet (``incentives.add_promoter``),
    ignored on the internet. Refusals change nothing.
    """
    if path == Path.INTRANET:
        if (
            actor is None
            or not getattr(actor, "is_authenticated", False)
            or not actor.is_active
            or not actor.has_perm(ADD_PERMISSION)
        ):
            raise Forbidden(_("Only operator staff allowed to register promoters can do this."))
    elif path == Path.INTERNET:
        actor = None
    else:
        raise _refuse(
            "path_invalid", _("Promoters register through the intranet or internet form.")
        )
    if kind not in Kind.values:
        raise _refuse("kind_unknown", _("Choose the promoter type."), field="kind")
    if kind not in kinds_of_path(path):
        raise _refuse(
            "kind_wrong_path",
            _("A promoter of type “%(kind)s” registers through the %(path)s.")
            % {"kind": Kind(kind).label, "path": Path(Promoter.PATH_OF_KIND[kind]).label},
            field="kind",
        )
    name = _name(name)
    msisdn = _msisdn(msisdn)
    if promoter_live_with_number(msisdn=msisdn) is not None:
        raise _number_taken()
    city = _city(city_code)
    if actor is not None and not _may_register_for(actor, city):
        raise _refuse("city_unknown", _("Choose the city."), field="city")
    channel, outlet = channel_outlet_resolve(
        city=city, channel_code=channel_code, outlet_code=outlet_code
    )
    bank_name, bank_account = _bank(bank_name, bank_account)
    email = _email(email)

    promoter = Promoter(
        name=name,
        msisdn=msisdn,
        kind=kind,
        path=path,
        status=Status.SUBMITTED,
        org=city,
        channel=channel,
        outlet=outlet,
        email=email,
        bank_name=bank_name,
        bank_account=bank_account,
        submitted_by=actor,
    )
    try:
        with transaction.atomic():
            promoter.save()
    except IntegrityError as exc:  # the same number registered a moment ago
        raise _number_taken() from exc
    _audit(
        actor=actor,
        action="promoter.registered",
        promoter=promoter,
        changes={
            "status": Status.SUBMITTED,
            "path": path,
            "kind": kind,
            "city": city.code,
            "channel": channel.code if channel else None,
            "outlet": outlet.code if outlet else None,
        },
        actor_username="" if actor is not None else "internet",
    )
    submitter = actor if actor is not None else _internet_registrar(city=city)
    workflow_submit(target=promoter, definition_code=PROMOTER_WORKFLOW, actor=submitter, org=city)
    return promoter


# ---- Approval (workflow callbacks, inside the engine's transaction) ------------------------


def _locked(promoter_id) -> Promoter:
    return (
        Promoter.objects.select_for_update(of=("self",)).select_related("org").get(pk=promoter_id)
    )


def promoter_work_id_next(*, city: OrgUnit) -> str:
    """The next work ID of the city, ``<city code>-<6 digits>`` (call inside the
    transaction that assigns it).

    The city's row is locked first, so two approvals in the same city take turns even
    for the city's very first number; numbers whose username is taken by another
    account are skipped."""
    OrgUnit.objects.select_for_update(of=("self",)).filter(pk=city.pk).values_list(
        "pk", flat=True
    ).first()
    head = f"{city.code}-"
    if len(head) + WORK_ID_DIGITS > WORK_ID_MAX_LENGTH:
        raise _refuse(
            "work_id_city_code_too_long",
            _("The city code %(code)s is too long for work IDs.") % {"code": city.code},
        )
    pattern = rf"^{re.escape(head)}[0-9]{{{WORK_ID_DIGITS}}}$"
    last = (
        Promoter.objects.filter(org=city, work_id__regex=pattern)
        .order_by("-work_id")
        .values_list("work_id", flat=True)
        .first()
    )
    number = int(last[len(head) :]) + 1 if last else 1
    user_model = get_user_model()
    while True:
        if number >= 10**WORK_ID_DIGITS:
            raise _refuse(
                "work_id_exhausted",
                _("The city %(code)s has used all its work IDs.") % {"code": city.code},
            )
        work_id = f"{head}{number:0{WORK_ID_DIGITS}d}"
        taken = (
            user_model.objects.filter(username=work_id).exists()
            or Promoter.objects.filter(work_id=work_id).exists()
        )
        if not taken:
            return work_id
        number += 1


def promoter_login_open(*, promoter: Promoter, actor) -> str:
    """Assign the work ID and create the promoter's login (username = work ID, role
    ``promoter``, org = the city, initial password to change at first sign-in) on a
    locked promoter; returns the initial password, which the caller sends by SMS and
    never keeps."""
    work_id = promoter_work_id_next(city=promoter.org)
    password = password_generate()
    user = user_create(
        actor=actor,
        username=work_id,
        display_name=promoter.name,
        org=promoter.org,
        password=password,
        role_codes=(PROMOTER_ROLE,),
        email=promoter.email,
        mobile=promoter.msisdn,
        must_change_password=True,
    )
    promoter.work_id = work_id
    promoter.user = user
    return password


def promoter_password_send(*, promoter: Promoter, password: str) -> None:
    """The approval SMS with the work ID and the initial password, to the promoter's own
    number (stored with the password masked; sent after the transaction commits)."""
    notify_number(
        number=promoter.msisdn,
        event=EVENT_PROMOTER_APPROVED,
        context={"name": promoter.name, "work_id": promoter.work_id, "password": password},
    )


def promoter_on_submitted(*, instance, actor) -> None:
    """Round 1: the registration just saved. A later round is the intranet registrant
    resubmitting a rejected registration: it is live again (if its number is free)."""
    promoter = _locked(instance.target_id)
    if promoter.status == Status.SUBMITTED:
        return
    if promoter_live_with_number(msisdn=promoter.msisdn, exclude_pk=promoter.pk) is not None:
        raise _number_taken()
    old = promoter.transition_to(Status.SUBMITTED)
    promoter.decided_at = None
    promoter.decision_reason = ""
    promoter.save(update_fields=["status", "decided_at", "decision_reason", "updated_at"])
    _audit(
        actor=actor,
        action="promoter.resubmitted",
        promoter=promoter,
        changes={"status": [old, promoter.status], "round": instance.round},
    )


def promoter_before_approve(*, instance, actor, step) -> None:
    """Only holders of ``incentives.approve_promoter`` decide (the city admin)."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise Forbidden(_("You may not approve promoter registrations."))


def promoter_on_approved(*, instance, actor) -> None:
    """Active, work ID, login; the initial password goes by SMS to the promoter."""
    promoter = _locked(instance.target_id)
    old = promoter.transition_to(Status.ACTIVE)
    password = promoter_login_open(promoter=promoter, actor=actor)
    promoter.decided_at = timezone.now()
    promoter.decision_reason = ""
    promoter.save(
        update_fields=[
            "status",
            "work_id",
            "user",
            "decided_at",
            "decision_reason",
            "updated_at",
        ]
    )
    _audit(
        actor=actor,
        action="promoter.approved",
        promoter=promoter,
        changes={
            "status": [old, promoter.status],
            "work_id": [None, promoter.work_id],
            "login": promoter.user.username,
        },
    )
    promoter_password_send(promoter=promoter, password=password)


def _rejection_reason(instance) -> str:
    action = (
        instance.actions.filter(kind=WorkflowAction.Kind.REJECT, round=instance.round)
        .order_by("-pk")
        .first()
    )
    return action.comment if action is not None else ""


def promoter_on_rejected(*, instance, actor) -> None:
    """Rejected with the approver's reason, told by SMS; the number may register again."""
    promoter = _locked(instance.target_id)
    old = promoter.transition_to(Status.REJECTED)
    promoter.decision_reason = _rejection_reason(instance)
    promoter.decided_at = timezone.now()
    promoter.save(update_fields=["status", "decision_reason", "decided_at", "updated_at"])
    _audit(
        actor=actor,
        action="promoter.rejected",
        promoter=promoter,
        changes={"status": [old, promoter.status], "reason": promoter.decision_reason},
    )
    notify_number(
        number=promoter.msisdn,
        event=EVENT_PROMOTER_REJECTED,
        context={"name": promoter.name, "reason": promoter.decision_reason},
    )


def promoter_on_withdrawn(*, instance, actor) -> None:
    """The intranet registrant took the registration back: it is closed like a
    rejection (the number is free again)."""
    promoter = _locked(instance.target_id)
    if promoter.status != Status.SUBMITTED:
        return  # withdrawn after a rejection: already closed
    old = promoter.transition_to(Status.REJECTED)
    promoter.decision_reason = _("Withdrawn by the registrant.")
    promoter.decided_at = timezone.now()
    promoter.save(update_fields=["status", "decision_reason", "decided_at", "updated_at"])
    _audit(
        actor=actor,
        action="promoter.withdrawn",
        promoter=promoter,
        changes={"status": [old, promoter.status]},
    )


# ---- Staff changes -----------------------------------------------------------------------


def _require_staff(*, actor, promoter: Promoter, permission: str = CHANGE_PERMISSION) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_active
        or not actor.has_perm(permission)
    ):
        raise Forbidden()
    if not path_in_scope(user=actor, path=promoter.org.path):
        raise NotFound()


def promoter_login_active_set(*, actor, promoter: Promoter, active: bool) -> None:
    """Disable or enable the promoter's login with the promoter (R0: never deleted).

    With an acting user this is the accounts service (its own audit event); the seat
    feed run by the scheduler has none, so the flag is set here with a system event."""
    user = promoter.user
    if user is None or user.is_active == active:
        return
    if actor is not None:
        (user_enable if active else user_disable)(actor=actor, user=user)
        user.is_active = active
        return
    user_model = get_user_model()
    user_model.objects.filter(pk=user.pk).update(is_active=active, updated_at=timezone.now())
    user.is_active = active
    audit_event_create(
        actor=None,
        action="user.enabled" if active else "user.disabled",
        target=user,
        changes={"is_active": [not active, active], "promoter": promoter.work_id},
        actor_username="system",
        org_path=_org_path(promoter),
    )


def promoter_status_set(
    *, promoter: Promoter, actor, status: str, action: str, reason: str = ""
) -> str:
    """Move a locked promoter between active and disabled, its login with it; audited."""
    old = promoter.transition_to(status)
    promoter.save(update_fields=["status", "updated_at"])
    promoter_login_active_set(actor=actor, promoter=promoter, active=status == Status.ACTIVE)
    changes: dict = {"status": [old, status]}
    if reason:
        changes["reason"] = reason
    _audit(actor=actor, action=action, promoter=promoter, changes=changes)
    return old


@transaction.atomic
def promoter_disable(*, actor, promoter: Promoter, reason: str = "") -> Promoter:
    """Disable an active promoter and their login (they can no longer sign in or record)."""
    _require_staff(actor=actor, promoter=promoter)
    promoter = _locked(promoter.pk)
    if promoter.status != Status.ACTIVE:
        raise _refuse(
            "promoter_not_active",
            _("Only an active promoter can be disabled (this one is %(status)s).")
            % {"status": promoter.get_status_display()},
            status=409,
        )
    promoter_status_set(
        promoter=promoter,
        actor=actor,
        status=Status.DISABLED,
        action="promoter.disabled",
        reason=(reason or "").strip()[:500],
    )
    return promoter


@transaction.atomic
def promoter_enable(*, actor, promoter: Promoter) -> Promoter:
    """Enable a disabled promoter and their login again."""
    _require_staff(actor=actor, promoter=promoter)
    promoter = _locked(promoter.pk)
    if promoter.status != Status.DISABLED:
        raise _refuse(
            "promoter_not_disabled",
            _("Only a disabled promoter can be enabled (this one is %(status)s).")
            % {"status": promoter.get_status_display()},
            status=409,
        )
    promoter_status_set(
        promoter=promoter, actor=actor, status=Status.ACTIVE, action="promoter.enabled"
    )
    return promoter


@transaction.atomic
def promoter_update(
    *,
    actor,
    promoter: Promoter,
    bank_name: str,
    bank_account: str,
    channel_code: str = "",
    outlet_code: str = "",
) -> Promoter:
    """Staff change a promoter's bank account and channel/outlet (of the promoter's city)."""
    _require_staff(actor=actor, promoter=promoter)
    promoter = _locked(promoter.pk)
    if promoter.status == Status.REJECTED:
        raise _refuse(
            "promoter_closed", _("A rejected registration cannot be changed."), status=409
        )
    bank_name, bank_account = _bank(bank_name, bank_account)
    channel, outlet = channel_outlet_resolve(
        city=promoter.org, channel_code=channel_code, outlet_code=outlet_code
    )
    old = {
        "bank_name": promoter.bank_name,
        "bank_account": promoter.bank_account,
        "channel": promoter.channel.code if promoter.channel_id else None,
        "outlet": promoter.outlet.code if promoter.outlet_id else None,
    }
    new = {
        "bank_name": bank_name,
        "bank_account": bank_account,
        "channel": channel.code if channel else None,
        "outlet": outlet.code if outlet else None,
    }
    changes = {field: [old[field], new[field]] for field in old if old[field] != new[field]}
    if not changes:
        return promoter
    promoter.bank_name, promoter.bank_account = bank_name, bank_account
    promoter.channel, promoter.outlet = channel, outlet
    promoter.save(update_fields=["bank_name", "bank_account", "channel", "outlet", "updated_at"])
    _audit(actor=actor, action="promoter.updated", promoter=promoter, changes=changes)
    return promoter


__all__ = [
    "channel_outlet_resolve",
    "kinds_of_path",
    "promoter_before_approve",
    "promoter_disable",
    "promoter_enable",
    "promoter_login_active_set",
    "promoter_login_open",
    "promoter_on_approved",
    "promoter_on_rejected",
    "promoter_on_submitted",
    "promoter_on_withdrawn",
    "promoter_password_send",
    "promoter_register",
    "promoter_registration_rate_limit",
    "promoter_status_set",
    "promoter_update",
    "promoter_work_id_next",
]
