"""Writes of an active partner's profile (R1 "Profile and change requests",
"Qualifications"): change requests (资料变更申请) on the workflow engine, qualifications
and their renewal, and the daily expiry check.

Rules:

- Once a partner is approved its registration data changes only through a change
  request: the field-level diff ``{field: [old, new]}`` (texts) is approved by a partner
  manager of the partner's managing org before it takes effect. Only an active partner
  not in exit may ask; nothing-changed and a second request under review are refused.
- On approval the USCC is checked again (check character, another live partner, the
  blacklist): a refusal there rolls the approval back. The applied change writes a
  ``PartnerProfileVersion`` (reason ``change_request``) and an audit event with the diff.
- Qualifications expire. Reminders go out when the days left reach each of
  ``settings.PRM_QUALIFICATION_REMINDER_DAYS`` (default 30 and 7), once each; an expired
  mandatory qualification suspends new business with the partner until it is renewed.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from prm.core import notifications
from prm.core.attachments import EXTENSION_ALIASES, attachment_create
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import WorkflowAction
from prm.core.numbering import document_number_next
from prm.core.validators import uscc_is_valid
from prm.core.workflow import workflow_submit
from prm.partners.constants import CHANGE_REQUEST_WORKFLOW
from prm.partners.models import (
    BlacklistEntry,
    ChangeRequest,
    ExitCase,
    Partner,
    PartnerProfileVersion,
    Qualification,
    QualificationRequirement,
)
from prm.partners.selectors import partner_admin_users, partner_of_user
from prm.partners.selectors_profile import (
    expired_mandatory_qualifications,
    profile_snapshot,
    profile_text,
)

logger = logging.getLogger(__name__)

# A change request may not empty these (the rest of PROFILE_FIELDS may be blank).
REQUIRED_PROFILE_FIELDS = frozenset(
    {
        "company_name",
        "uscc",
        "legal_representative",
        "registered_capital",
        "address",
        "contact_name",
        "contact_phone",
        "admin_email",
    }
)
PHONE_PATTERN = re.compile(r"^[0-9+\-() ]{5,30}$")
OPEN_EXIT_STATUSES = (ExitCase.Status.SUBMITTED, ExitCase.Status.IN_PROGRESS)


def _refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def _notify(**kwargs) -> None:
    """Run on commit: a failing gateway is logged and never undoes the committed change."""
    try:
        notifications.notify(**kwargs)
    except Exception:  # noqa: BLE001
        logger.exception("partner profile notification %s failed", kwargs.get("event"))


def _notify_on_commit(**kwargs) -> None:
    recipients = [user for user in kwargs.pop("recipients") if user is not None]
    if recipients:
        transaction.on_commit(partial(_notify, recipients=recipients, **kwargs))


def _url(name: str, **kwargs) -> str:
    return reverse(f"partners:{name}", kwargs=kwargs or None)


def _partner_url(partner: Partner) -> str:
    return _url("partner_detail", key=partner.code or str(partner.pk))


def _require_own_partner(actor, partner: Partner) -> None:
    """Partner users act on their own partner only; anything else is "not found"."""
    own = partner_of_user(actor)
    if own is None or own.pk != partner.pk:
        raise NotFound()


def _require_not_in_exit(partner: Partner) -> None:
    in_exit = partner.status in (Partner.Status.EXITING, Partner.Status.EXITED) or (
        partner.exits.filter(status__in=OPEN_EXIT_STATUSES).exists()
    )
    if in_exit:
        raise _refuse(
            "partner_in_exit",
            _("The partner is leaving or has left: its data can no longer be changed."),
            status=409,
        )
    if partner.status != Partner.Status.ACTIVE:
        raise _refuse(
            "partner_not_active",
            _("Only an approved, active partner changes its data this way."),
            status=409,
        )


# ---- Profile values -------------------------------------------------------------------


def _profile_field(name: str):
    return Partner._meta.get_field(name)


def _label(name: str) -> str:
    return capfirst(str(_profile_field(name).verbose_name))


def profile_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    """The given profile fields, typed and checked (format only; the USCC's uniqueness
    and blacklist are checked by the caller). Unknown fields are refused."""
    unknown = sorted(set(values) - set(Partner.PROFILE_FIELDS))
    if unknown:
        raise _refuse(
            "unknown_field",
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)},
            field=unknown[0],
        )
    cleaned: dict[str, Any] = {}
    for name in Partner.PROFILE_FIELDS:
        if name not in values:
            continue
        raw = values[name]
        if name == "registered_capital":
            cleaned[name] = _capital(raw)
            continue
        text = "" if raw is None else str(raw).strip()
        if name == "uscc":
            text = text.upper()
        max_length = _profile_field(name).max_length
        if max_length and len(text) > max_length:
            raise _refuse(
                "field_too_long",
                _("%(field)s: at most %(max)s characters.")
                % {"field": _label(name), "max": max_length},
                field=name,
            )
        if text and name == "uscc" and not uscc_is_valid(text):
            raise _refuse(
                "uscc_invalid",
                _("Enter a valid unified social credit code (18 characters, GB 32100-2015)."),
                field=name,
            )
        if text and name == "admin_email":
            try:
                validate_email(text)
            except ValidationError:
                raise _refuse(
                    "email_invalid", _("Enter a valid e-mail address."), field=name
                ) from None
        if text and name == "contact_phone" and not PHONE_PATTERN.match(text):
            raise _refuse("phone_invalid", _("Enter a valid phone number."), field=name)
        cleaned[name] = text
    for name, value in cleaned.items():
        if name in REQUIRED_PROFILE_FIELDS and value in ("", None):
            raise _refuse(
                "field_required", _("%(field)s is required.") % {"field": _label(name)}, field=name
            )
    return cleaned


def _capital(raw) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value >= Decimal(10) ** 14:
        raise _refuse(
            "registered_capital_invalid",
            _("Enter the registered capital in yuan (a positive amount)."),
            field="registered_capital",
        )
    return value.quantize(Decimal("0.01"))


def profile_diff(*, partner: Partner, values: dict[str, Any]) -> dict[str, list[str]]:
    """``{field: [old, new]}`` as texts, in ``PROFILE_FIELDS`` order, of the fields whose
    text differs (so 5000000 and 5000000.00 are the same capital)."""
    diff: dict[str, list[str]] = {}
    for name in Partner.PROFILE_FIELDS:
        if name not in values:
            continue
        old, new = profile_text(getattr(partner, name)), profile_text(values[name])
        if old != new:
            diff[name] = [old, new]
    return diff


def _uscc_available(*, partner: Partner, uscc: str) -> None:
    """The USCC rules of registration, applied to a changed USCC (R1 blacklist)."""
    if not uscc_is_valid(uscc):
        raise _refuse(
            "uscc_invalid",
            _("Enter a valid unified social credit code (18 characters, GB 32100-2015)."),
            field="uscc",
        )
    if BlacklistEntry.objects.filter(uscc=uscc).exists():
        raise _refuse(
            "uscc_blacklisted",
            _("This unified social credit code is on the blacklist and cannot be used."),
            field="uscc",
            status=409,
        )
    taken = (
        Partner.objects.filter(uscc=uscc)
        .exclude(status=Partner.Status.EXITED)
        .exclude(pk=partner.pk)
        .exists()
    )
    if taken:
        raise _refuse(
            "uscc_taken",
            _("Another partner or application already uses this unified social credit code."),
            field="uscc",
            status=409,
        )


def _typed(name: str, text: str) -> Any:
    if name == "registered_capital":
        return Decimal(text) if text else None
    if name == "uscc":
        return text or None
    return text


# ---- Change requests ------------------------------------------------------------------


def _require_no_open_request(partner: Partner, *, exclude_pk: int | None = None) -> None:
    open_requests = partner.change_requests.filter(status=ChangeRequest.Status.SUBMITTED)
    if exclude_pk is not None:
        open_requests = open_requests.exclude(pk=exclude_pk)
    number = open_requests.values_list("number", flat=True).first()
    if number:
        raise _refuse(
            "change_request_open",
            _("The change request %(number)s is still under review; wait for its decision.")
            % {"number": number},
            status=409,
        )


@transaction.atomic
def change_request_create(
    *, actor, partner: Partner, values: dict[str, Any], reason: str
) -> ChangeRequest:
    """Ask for a change of the partner's registration data (R1 资料变更申请).

    ``values`` holds some or all of ``Partner.PROFILE_FIELDS``; only the fields whose
    value differs from the current one make the diff. The request goes to the partner
    managers of the partner's managing org (the partner's own tree has no operator
    ancestors, so the workflow is routed from there).
    """
    if not actor.has_perm("partners.add_changerequest"):
        raise Forbidden()
    _require_own_partner(actor, partner)
    partner = (
        Partner.objects.select_for_update(of=("self",))
        .select_related("managing_org")
        .get(pk=partner.pk)
    )
    _require_not_in_exit(partner)
    _require_no_open_request(partner)
    reason = (reason or "").strip()
    if not reason:
        raise _refuse("reason_required", _("Say why the data changes."), field="reason")
    cleaned = profile_values_clean(values)
    diff = profile_diff(partner=partner, values=cleaned)
    if not diff:
        raise _refuse("no_changes", _("Nothing was changed: the values are the current ones."))
    if "uscc" in diff:
        _uscc_available(partner=partner, uscc=diff["uscc"][1])
    change_request = ChangeRequest.objects.create(
        partner=partner,
        number=document_number_next(model=ChangeRequest, prefix="CR"),
        changes=diff,
        reason=reason,
        submitted_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="change_request.created",
        target=change_request,
        changes={**diff, "partner": partner.code, "reason": reason},
    )
    workflow_submit(
        target=change_request,
        definition_code=CHANGE_REQUEST_WORKFLOW,
        actor=actor,
        org=partner.managing_org,
    )
    change_request.refresh_from_db()
    return change_request


def _lock_request(instance) -> ChangeRequest:
    return (
        ChangeRequest.objects.select_for_update()
        .select_related("partner", "submitted_by")
        .get(pk=instance.target_id)
    )


def _move(change_request: ChangeRequest, *, actor, status: str, **extra) -> None:
    old = change_request.transition_to(status)
    fields = ["status", "updated_at"]
    if status in (
        ChangeRequest.Status.APPROVED,
        ChangeRequest.Status.REJECTED,
        ChangeRequest.Status.WITHDRAWN,
    ):
        change_request.decided_at = timezone.now()
        fields.append("decided_at")
    change_request.save(update_fields=fields)
    audit_event_create(
        actor=actor,
        action=f"change_request.{status}",
        target=change_request,
        changes={"status": [old, status], **extra},
        actor_username="system" if actor is None else "",
    )


def change_request_on_submitted(*, instance, actor) -> None:
    """A resubmitted (rejected) request is checked again against the current data: the
    old values are refreshed and fields that no longer change drop out."""
    change_request = _lock_request(instance)
    if change_request.status != ChangeRequest.Status.REJECTED:
        return  # the first submission: created as "submitted"
    partner = Partner.objects.select_for_update().get(pk=change_request.partner_id)
    _require_not_in_exit(partner)
    _require_no_open_request(partner, exclude_pk=change_request.pk)
    wanted = {name: new for name, (_old, new) in change_request.changes.items()}
    diff = profile_diff(partner=partner, values=wanted)
    if not diff:
        raise _refuse("no_changes", _("Nothing was changed: the values are the current ones."))
    if "uscc" in diff:
        _uscc_available(partner=partner, uscc=diff["uscc"][1])
    changed = diff != change_request.changes
    change_request.changes = diff
    change_request.save(update_fields=["changes", "updated_at"])
    _move(
        change_request,
        actor=actor,
        status=ChangeRequest.Status.SUBMITTED,
        **({"changes": diff} if changed else {}),
    )


def change_request_on_approved(*, instance, actor) -> None:
    """Apply the diff to the partner; re-check the USCC now (a refusal rolls the
    approval back); record a profile version and the audit event with the diff."""
    change_request = _lock_request(instance)
    partner = Partner.objects.select_for_update().get(pk=change_request.partner_id)
    _require_not_in_exit(partner)
    diff = change_request.changes
    stale = [
        name for name, (old, _new) in diff.items() if profile_text(getattr(partner, name)) != old
    ]
    if stale:
        raise _refuse(
            "change_request_stale",
            _(
                "The partner's data changed since this request was made (%(fields)s). "
                "Reject it so that the partner can resubmit it against the current data."
            )
            % {"fields": ", ".join(_label(name) for name in stale)},
            status=409,
        )
    if "uscc" in diff:
        _uscc_available(partner=partner, uscc=diff["uscc"][1])
    for name, (_old, new) in diff.items():
        setattr(partner, name, _typed(name, new))
    partner.save(update_fields=[*diff, "updated_at"])
    number = (partner.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    PartnerProfileVersion.objects.create(
        partner=partner,
        number=number,
        reason=PartnerProfileVersion.Reason.CHANGE,
        data={**profile_snapshot(partner), "change_request": change_request.number},
        created_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="partner.profile_changed",
        target=partner,
        changes={**diff, "change_request": change_request.number, "version": number},
        org_path=partner.managing_org.path,
    )
    _move(change_request, actor=actor, status=ChangeRequest.Status.APPROVED)
    _notify_on_commit(
        recipients=[change_request.submitted_by, *partner_admin_users(partner)],
        event="partners.change_request_approved",
        context={"number": change_request.number, "partner": str(partner)},
        link=_url("change_request_detail", number=change_request.number),
    )


def change_request_on_rejected(*, instance, actor) -> None:
    """Mark the request rejected; the engine tells the submitter, this tells the
    partner's other admins."""
    change_request = _lock_request(instance)
    reason = (
        instance.actions.filter(kind=WorkflowAction.Kind.REJECT)
        .order_by("-pk")
        .values_list("comment", flat=True)
        .first()
        or ""
    )
    _move(change_request, actor=actor, status=ChangeRequest.Status.REJECTED, reason=reason)
    others = [
        user
        for user in partner_admin_users(change_request.partner)
        if user.pk != change_request.submitted_by_id
    ]
    _notify_on_commit(
        recipients=others,
        event="partners.change_request_rejected",
        context={
            "number": change_request.number,
            "partner": str(change_request.partner),
            "actor": actor.display_name if actor else "",
            "reason": reason,
        },
        link=_url("change_request_detail", number=change_request.number),
    )


def change_request_on_withdrawn(*, instance, actor) -> None:
    change_request = _lock_request(instance)
    _move(change_request, actor=actor, status=ChangeRequest.Status.WITHDRAWN)


# ---- Qualifications -------------------------------------------------------------------


def _extension(name: str) -> str:
    _stem, dot, extension = (name or "").rpartition(".")
    extension = extension.lower() if dot else ""
    return EXTENSION_ALIASES.get(extension, extension)


def _check_file(*, requirement: QualificationRequirement | None, uploaded_file) -> None:
    if uploaded_file is None:
        raise _refuse(
            "attachment_required", _("Attach a scan of the certificate."), field="attachment"
        )
    allowed = (
        [EXTENSION_ALIASES.get(ext.lower(), ext.lower()) for ext in requirement.allowed_types]
        if requirement
        else []
    )
    if allowed and _extension(getattr(uploaded_file, "name", "")) not in allowed:
        raise _refuse(
            "attachment_type_not_allowed",
            _("This checklist item accepts only: %(types)s.")
            % {"types": ", ".join(ext.upper() for ext in allowed)},
            field="attachment",
        )


def _check_dates(*, issued_on: date | None, expires_on: date | None, has_expiry: bool) -> None:
    if has_expiry and expires_on is None:
        raise _refuse(
            "expiry_required", _("This qualification has an expiry date."), field="expires_on"
        )
    if issued_on and expires_on and expires_on <= issued_on:
        raise _refuse(
            "expiry_before_issue",
            _("The expiry date must be after the issue date."),
            field="expires_on",
        )


def _require_qualification_manager(actor, partner: Partner) -> Partner:
    if not actor.has_perm("partners.add_qualification"):
        raise Forbidden()
    _require_own_partner(actor, partner)
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    _require_not_in_exit(partner)
    return partner


@transaction.atomic
def qualification_add(
    *,
    actor,
    partner: Partner,
    name: str,
    uploaded_file,
    requirement: QualificationRequirement | None = None,
    number: str = "",
    issuer: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
) -> Qualification:
    """An active partner's admin records a certificate or licence with its scan.

    Against a checklist item of the partner's category the item decides whether it is
    mandatory and which file types it accepts; a current one of the same item is
    renewed (:func:`qualification_renew`), not added twice.
    """
    partner = _require_qualification_manager(actor, partner)
    if requirement is not None:
        if requirement.category_id != partner.category_id:
            raise _refuse(
                "requirement_invalid",
                _("Choose an item of your category's checklist."),
                field="requirement",
            )
        if partner.qualifications.filter(requirement=requirement, is_current=True).exists():
            raise _refuse(
                "qualification_exists",
                _("A current qualification of this checklist item exists: renew it instead."),
                field="requirement",
                status=409,
            )
    name = (name or "").strip() or (requirement.name if requirement else "")
    if not name:
        raise _refuse("name_required", _("Enter the qualification's name."), field="name")
    _check_dates(
        issued_on=issued_on,
        expires_on=expires_on,
        has_expiry=bool(requirement and requirement.has_expiry),
    )
    _check_file(requirement=requirement, uploaded_file=uploaded_file)
    qualification = Qualification.objects.create(
        partner=partner,
        requirement=requirement,
        name=name[:200],
        number=(number or "").strip()[:100],
        issuer=(issuer or "").strip()[:200],
        issued_on=issued_on,
        expires_on=expires_on,
        mandatory=bool(requirement and requirement.mandatory),
    )
    attachment = attachment_create(
        owner=qualification, uploaded_file=uploaded_file, actor=actor, purpose="qualification"
    )
    audit_event_create(
        actor=actor,
        action="qualification.added",
        target=qualification,
        changes={
            "partner": partner.code,
            "requirement": requirement.code if requirement else "",
            "name": qualification.name,
            "number": qualification.number,
            "issued_on": issued_on,
            "expires_on": expires_on,
            "mandatory": qualification.mandatory,
            "attachment": str(attachment.public_id),
        },
    )
    return qualification


@transaction.atomic
def qualification_renew(
    *,
    actor,
    qualification: Qualification,
    uploaded_file,
    expires_on: date | None,
    number: str = "",
    issuer: str = "",
    issued_on: date | None = None,
) -> Qualification:
    """Replace a current qualification by its renewal (a later expiry, a new scan).

    The old row stays for the history (``is_current`` False, ``replaced_by`` the new
    one). When no expired mandatory qualification remains the suspension of new
    business is lifted at once (R1).
    """
    partner = _require_qualification_manager(actor, qualification.partner)
    old = (
        Qualification.objects.select_for_update(of=("self",))
        .select_related("requirement")
        .filter(pk=qualification.pk, partner=partner)
        .first()
    )
    if old is None:
        raise NotFound()
    if not old.is_current:
        raise _refuse(
            "qualification_replaced",
            _("This qualification has already been renewed."),
            status=409,
        )
    _check_dates(issued_on=issued_on, expires_on=expires_on, has_expiry=True)
    if old.expires_on is not None and expires_on <= old.expires_on:
        raise _refuse(
            "renewal_not_later",
            _("The renewal must expire later than %(date)s.") % {"date": old.expires_on},
            field="expires_on",
        )
    _check_file(requirement=old.requirement, uploaded_file=uploaded_file)
    new = Qualification.objects.create(
        partner=partner,
        requirement=old.requirement,
        name=old.name,
        number=(number or "").strip()[:100] or old.number,
        issuer=(issuer or "").strip()[:200] or old.issuer,
        issued_on=issued_on,
        expires_on=expires_on,
        mandatory=old.mandatory,
    )
    old.is_current = False
    old.replaced_by = new
    old.save(update_fields=["is_current", "replaced_by", "updated_at"])
    attachment = attachment_create(
        owner=new, uploaded_file=uploaded_file, actor=actor, purpose="qualification"
    )
    audit_event_create(
        actor=actor,
        action="qualification.renewed",
        target=new,
        changes={
            "partner": partner.code,
            "replaces": old.pk,
            "expires_on": [old.expires_on, expires_on],
            "number": [old.number, new.number],
            "attachment": str(attachment.public_id),
        },
    )
    _suspension_lift_if_clear(partner=partner, actor=actor, today=timezone.localdate())
    return new


def _suspension_lift_if_clear(*, partner: Partner, actor, today: date) -> bool:
    """Lift the qualification suspension when no expired mandatory current
    qualification remains. ``partner`` is locked by the caller."""
    if not partner.business_suspended:
        return False
    if expired_mandatory_qualifications(partner=partner, today=today).exists():
        return False
    old_reason = partner.business_suspended_reason
    partner.business_suspended = False
    partner.business_suspended_reason = ""
    partner.save(update_fields=["business_suspended", "business_suspended_reason", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.business_resumed",
        target=partner,
        changes={
            "business_suspended": [True, False],
            "business_suspended_reason": [old_reason, ""],
        },
        org_path=partner.managing_org.path,
        actor_username="system" if actor is None else "",
    )
    context = {"partner": str(partner)}
    _notify_on_commit(
        recipients=partner_admin_users(partner),
        event="partners.business_resumed",
        context=context,
        link=_url("my_profile"),
    )
    _notify_on_commit(
        recipients=[partner.manager],
        event="partners.business_resumed",
        context=context,
        link=_partner_url(partner),
    )
    return True


# ---- The daily check ------------------------------------------------------------------


def reminder_thresholds() -> list[int]:
    """The reminder days, largest first (``PRM_QUALIFICATION_REMINDER_DAYS``)."""
    days = getattr(settings, "PRM_QUALIFICATION_REMINDER_DAYS", None) or [30, 7]
    return sorted({int(day) for day in days if int(day) >= 0}, reverse=True)


def reminder_due(*, days_left: int, sent: list[int], thresholds: list[int]) -> int | None:
    """The threshold whose reminder is due ``days_left`` days before expiry, or None.

    It is the nearest threshold at or above ``days_left`` (30 on days 30…8, 7 on days
    7…0 with the defaults), if its reminder was not sent. A day the job missed is caught
    up this way; a job that missed several thresholds sends one reminder, not a burst.
    """
    if days_left < 0:
        return None
    reached = [day for day in thresholds if day >= days_left]
    if not reached:
        return None
    nearest = min(reached)
    return None if nearest in sent else nearest


def qualifications_check(*, today: date | None = None) -> dict[str, int]:
    """Daily (Celery beat): expiry reminders and suspension on expiry (R1).

    Each qualification and each partner is handled in its own transaction on the locked
    row, so a second run the same day (or a concurrent one) does nothing new.
    """
    today = today or timezone.localdate()
    thresholds = reminder_thresholds()
    reminded = 0
    if thresholds:
        horizon = today + timedelta(days=thresholds[0])
        candidates = Qualification.objects.filter(
            is_current=True,
            expires_on__gte=today,
            expires_on__lte=horizon,
            partner__status=Partner.Status.ACTIVE,
        ).values_list("pk", "expires_on", "reminders_sent")
        for pk, expires_on, sent in candidates:
            if reminder_due(
                days_left=(expires_on - today).days, sent=sent or [], thresholds=thresholds
            ):
                reminded += _remind(qualification_id=pk, today=today, thresholds=thresholds)
    suspended = 0
    partner_ids = (
        Qualification.objects.filter(
            is_current=True,
            mandatory=True,
            expires_on__lt=today,
            partner__status=Partner.Status.ACTIVE,
            partner__business_suspended=False,
        )
        .values_list("partner_id", flat=True)
        .distinct()
    )
    for partner_id in list(partner_ids):
        suspended += _suspend(partner_id=partner_id, today=today)
    return {"reminders": reminded, "suspended": suspended}


@transaction.atomic
def _remind(*, qualification_id: int, today: date, thresholds: list[int]) -> int:
    qualification = (
        Qualification.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__manager", "partner__org", "partner__managing_org")
        .get(pk=qualification_id)
    )
    if not qualification.is_current or qualification.expires_on is None:
        return 0
    days_left = (qualification.expires_on - today).days
    sent = list(qualification.reminders_sent or [])
    due = reminder_due(days_left=days_left, sent=sent, thresholds=thresholds)
    if due is None:
        return 0
    # The larger thresholds are settled too: a late first reminder is not followed by
    # the one it superseded.
    qualification.reminders_sent = sorted(
        set(sent) | {day for day in thresholds if day >= due}, reverse=True
    )
    qualification.save(update_fields=["reminders_sent", "updated_at"])
    partner = qualification.partner
    audit_event_create(
        actor=None,
        action="qualification.reminder_sent",
        target=qualification,
        changes={"threshold": due, "days_left": days_left, "expires_on": qualification.expires_on},
        actor_username="system",
        org_path=partner.managing_org.path,
    )
    context = {
        "name": qualification.name,
        "partner": str(partner),
        "expires_on": qualification.expires_on.isoformat(),
        "days": days_left,
    }
    _notify_on_commit(
        recipients=partner_admin_users(partner),
        event="partners.qualification_expiring",
        context=context,
        link=_url("my_profile"),
    )
    _notify_on_commit(
        recipients=[partner.manager],
        event="partners.qualification_expiring",
        context=context,
        link=_partner_url(partner),
    )
    return 1


@transaction.atomic
def _suspend(*, partner_id: int, today: date) -> int:
    partner = (
        Partner.objects.select_for_update(of=("self",))
        .select_related("managing_org", "manager", "org")
        .get(pk=partner_id)
    )
    if partner.business_suspended or partner.status != Partner.Status.ACTIVE:
        return 0
    expired = list(expired_mandatory_qualifications(partner=partner, today=today))
    if not expired:
        return 0
    names = ", ".join(f"{q.name} ({q.expires_on.isoformat()})" for q in expired)
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Mandatory qualification expired: %(names)s") % {"names": names}
    partner.business_suspended = True
    partner.business_suspended_reason = reason[:200]
    partner.save(update_fields=["business_suspended", "business_suspended_reason", "updated_at"])
    audit_event_create(
        actor=None,
        action="partner.business_suspended",
        target=partner,
        changes={
            "business_suspended": [False, True],
            "business_suspended_reason": ["", partner.business_suspended_reason],
            "qualifications": [q.pk for q in expired],
        },
        actor_username="system",
        org_path=partner.managing_org.path,
    )
    context = {"partner": str(partner), "names": names}
    _notify_on_commit(
        recipients=partner_admin_users(partner),
        event="partners.business_suspended",
        context=context,
        link=_url("my_profile"),
    )
    _notify_on_commit(
        recipients=[partner.manager],
        event="partners.business_suspended",
        context=context,
        link=_partner_url(partner),
    )
    return 1
