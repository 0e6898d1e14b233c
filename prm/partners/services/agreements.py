"""Cooperation agreements (R1 "Agreements"), and the entry point other modules call to
make a partner exit (R1 "Exit", see :func:`partner_exit_start`).

Status machine (``Agreement.TRANSITIONS``)::

    draft ──submit──▶ countersigning ──approved──▶ signed ──starts_on──▶ active
      ▲                    │ rejected                                    │ first reminder day
      └────────────────────┘                                             ▼
    terminated ◀── early termination (reason) / end of term ◀──────── expiring

- Only staff holding ``partners.manage_partner`` who see the partner (its managing org
  lies in their subtree) draft, edit, submit, terminate and renew; an agreement is made
  only for an active partner.
- Approval runs on the workflow ``AGREEMENT_WORKFLOW``: a countersign (会签) of every
  partner manager at the submitter's org, then finance at the submitter's org. A rejection
  sends the agreement back to draft; the submitter corrects it and submits again (a new
  round). Withdrawing it from approval ends it (terminated).
- Signed agreements become active on ``starts_on`` (at once when signed on or after it);
  active ones become expiring on the first of ``PRM_AGREEMENT_REMINDER_DAYS`` days before
  ``ends_on`` and end (terminated) the day after ``ends_on``. Renewal reminders go to the
  partner's admins and its manager once per threshold (``reminders_sent``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from prm.core import notifications
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import WorkflowInstance
from prm.core.numbering import document_number_next
from prm.core.workflow import (
    workflow_cancel,
    workflow_instance_for,
    workflow_resubmit,
    workflow_submit,
    workflow_withdraw,
)
from prm.partners.constants import AGREEMENT_WORKFLOW
from prm.partners.models import Agreement, ExitCase, Partner
from prm.partners.selectors import partner_admin_users, partners_visible

logger = logging.getLogger(__name__)

MANAGE_PERMISSION = "partners.manage_partner"
OPEN_WORKFLOW_STATUSES = (WorkflowInstance.Status.IN_PROGRESS, WorkflowInstance.Status.REJECTED)
# Agreements that still bind the partner (closed by an exit, checked daily).
LIVE_STATUSES = (Agreement.Status.SIGNED, Agreement.Status.ACTIVE, Agreement.Status.EXPIRING)
MAX_FIXED_FEE = Decimal("1000000000000")  # what the column holds (14 digits, 2 decimals)
# Dates outside these are typing errors (and would overflow a renewal's term).
EARLIEST_DATE, LATEST_DATE = date(1990, 1, 1), date(2199, 12, 31)
AGREEMENT_FIELDS = (
    "title",
    "starts_on",
    "ends_on",
    "business_scope",
    "settlement_model",
    "revenue_share_percent",
    "fixed_fee",
)


# ---- Shared plumbing (also used by the business-code and exit services) -----------------


def refuse(code: str, message: str, *, field: str = "", status: int = 400, **details):
    """An :class:`ApplicationError` naming the form field it belongs to."""
    if field:
        details["field"] = field
    return ApplicationError(code, message, details=details, status=status)


def require_permission(actor, permission: str) -> None:
    if actor is None or not actor.has_perm(permission):
        raise Forbidden()


def require_visible(actor, partner: Partner) -> None:
    """Another city's (or partner's) partner answers "not found", as if it did not exist."""
    if not partners_visible(actor).filter(pk=partner.pk).exists():
        raise NotFound()


def partner_contacts(partner: Partner) -> list:
    """Who hears about the partner's agreements and exit: its active admins (role
    ``partner_admin`` at its root org, and the registered admin account) and its manager."""
    users = partner_admin_users(partner)
    manager = partner.manager
    if manager is not None and manager.is_active and manager not in users:
        users.append(manager)
    return users


def notify(*, recipients, event: str, context: dict[str, Any], link: str = "") -> None:
    """Inbox rows now (in the caller's transaction), e-mail after commit (core.notify)."""
    recipients = [user for user in recipients if user is not None]
    if recipients:
        notifications.notify(recipients=recipients, event=event, context=context, link=link)


def workflow_close(*, target, definition_code: str, actor, reason: str = "") -> str:
    """Close a document's open approval: the submitter withdraws it; anyone else (an
    exit run by staff or by the system) cancels it with a reason. Returns
    ``"withdrawn"`` or ``"none"`` (nothing open)."""
    instance = workflow_instance_for(target=target, definition_code=definition_code)
    if instance is None or instance.status not in OPEN_WORKFLOW_STATUSES:
        return "none"
    if actor is not None and actor.pk == instance.submitted_by_id:
        workflow_withdraw(instance_id=instance.pk, actor=actor)
    else:
        workflow_cancel(
            instance_id=instance.pk,
            actor=actor,
            reason=reason or gettext("The document was closed by the system."),
        )
    return "withdrawn"


def _audit(*, actor, action: str, agreement: Agreement, changes: dict[str, Any]) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=agreement,
        changes=changes,
        actor_username="system" if actor is None else "",
        org_path=agreement.partner.managing_org.path,
    )


def _link(agreement: Agreement) -> str:
    return reverse("partners:agreement_detail", kwargs={"number": agreement.number})


def _context(agreement: Agreement, **extra) -> dict[str, Any]:
    return {
        "number": agreement.number,
        "title": agreement.title,
        "partner": str(agreement.partner),
        "starts_on": agreement.starts_on.isoformat(),
        "ends_on": agreement.ends_on.isoformat(),
        **extra,
    }


# ---- Validation ---------------------------------------------------------------------------


def _decimal(value, *, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise refuse("number_invalid", _("Enter a number."), field=field) from exc
    return number


def agreement_values_clean(
    *,
    title: str,
    starts_on: date,
    ends_on: date,
    business_scope: str,
    settlement_model: str,
    revenue_share_percent=None,
    fixed_fee=None,
) -> dict[str, Any]:
    """The agreement's fields, cleaned; the first broken rule refuses (R1 agreements:
    a term, a business scope and a settlement model — revenue share needs the partner's
    share in (0, 100] %, fixed fee a fee above 0, mixed both)."""
    title, business_scope = (title or "").strip(), (business_scope or "").strip()
    if not title:
        raise refuse("title_required", _("Enter the agreement's title."), field="title")
    if starts_on is None or ends_on is None:
        raise refuse("term_required", _("Enter the start and end of the term."), field="ends_on")
    if starts_on >= ends_on:
        raise refuse("term_invalid", _("The term must end after it starts."), field="ends_on")
    if starts_on < EARLIEST_DATE or ends_on > LATEST_DATE:
        raise refuse(
            "term_invalid",
            _("The term must lie between %(earliest)s and %(latest)s.")
            % {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
            field="ends_on",
        )
    if not business_scope:
        raise refuse("scope_required", _("Enter the business scope."), field="business_scope")
    if settlement_model not in Agreement.SettlementModel.values:
        raise refuse(
            "settlement_model_invalid",
            _("Choose a settlement model."),
            field="settlement_model",
        )
    percent = _decimal(revenue_share_percent, field="revenue_share_percent")
    fee = _decimal(fixed_fee, field="fixed_fee")
    shares = settlement_model in (
        Agreement.SettlementModel.REVENUE_SHARE,
        Agreement.SettlementModel.MIXED,
    )
    fixed = settlement_model in (
        Agreement.SettlementModel.FIXED_FEE,
        Agreement.SettlementModel.MIXED,
    )
    if shares and (percent is None or not Decimal("0") < percent <= Decimal("100")):
        raise refuse(
            "revenue_share_invalid",
            _("The partner's revenue share must be above 0 and at most 100 %."),
            field="revenue_share_percent",
        )
    if fixed and (fee is None or fee <= 0 or fee >= MAX_FIXED_FEE):
        raise refuse(
            "fixed_fee_invalid", _("The fixed fee must be above 0 yuan."), field="fixed_fee"
        )
    return {
        "title": title,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "business_scope": business_scope,
        "settlement_model": settlement_model,
        "revenue_share_percent": percent if shares else None,
        "fixed_fee": fee if fixed else None,
    }


def _require_active_partner(partner: Partner) -> None:
    if partner.status != Partner.Status.ACTIVE:
        raise refuse(
            "partner_not_active",
            _("Agreements are made only with an active partner (%(partner)s is %(status)s).")
            % {"partner": partner, "status": partner.get_status_display()},
            status=409,
        )


def _locked(agreement: Agreement) -> Agreement:
    return (
        Agreement.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__managing_org", "partner__org")
        .get(pk=agreement.pk)
    )


# ---- Services --------------------------------------------------------------------------


@transaction.atomic
def agreement_create(
    *,
    actor,
    partner: Partner,
    title: str,
    starts_on: date,
    ends_on: date,
    business_scope: str,
    settlement_model: str,
    revenue_share_percent=None,
    fixed_fee=None,
    renews: Agreement | None = None,
) -> Agreement:
    """Draft a cooperation agreement with an active partner."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, partner)
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    _require_active_partner(partner)
    values = agreement_values_clean(
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        business_scope=business_scope,
        settlement_model=settlement_model,
        revenue_share_percent=revenue_share_percent,
        fixed_fee=fixed_fee,
    )
    agreement = Agreement.objects.create(
        partner=partner,
        number=document_number_next(model=Agreement, prefix="AG"),
        created_by=actor,
        renews=renews,
        **values,
    )
    _audit(
        actor=actor,
        action="agreement.created",
        agreement=agreement,
        changes={**values, "partner": partner.code, "renews": renews.number if renews else None},
    )
    return agreement


@transaction.atomic
def agreement_update(*, actor, agreement: Agreement, **fields) -> Agreement:
    """Change a draft (a new one, or one returned by a rejection)."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, agreement.partner)
    agreement = _locked(agreement)
    if agreement.status != Agreement.Status.DRAFT:
        raise refuse("agreement_not_draft", _("Only a draft agreement can be changed."), status=409)
    values = agreement_values_clean(**{name: fields.get(name) for name in AGREEMENT_FIELDS})
    changes = field_changes(agreement, values)
    for name, value in values.items():
        setattr(agreement, name, value)
    agreement.save()
    if changes:
        _audit(actor=actor, action="agreement.updated", agreement=agreement, changes=changes)
    return agreement


@transaction.atomic
def agreement_submit(*, actor, agreement: Agreement) -> Agreement:
    """Send a draft to countersign (会签): the partner managers at the submitter's org,
    then finance. A draft returned by a rejection goes again as a new round (only its
    submitter may send it again)."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, agreement.partner)
    agreement = _locked(agreement)
    if agreement.status != Agreement.Status.DRAFT:
        raise refuse(
            "agreement_not_draft", _("Only a draft agreement can be submitted."), status=409
        )
    _require_active_partner(agreement.partner)
    if agreement.ends_on < timezone.localdate():
        raise refuse(
            "agreement_term_over",
            _("The term of this agreement is already over; change its dates first."),
            field="ends_on",
        )
    instance = workflow_instance_for(target=agreement, definition_code=AGREEMENT_WORKFLOW)
    if instance is None:
        workflow_submit(target=agreement, definition_code=AGREEMENT_WORKFLOW, actor=actor)
    elif instance.status == WorkflowInstance.Status.REJECTED:
        workflow_resubmit(instance_id=instance.pk, actor=actor)
    else:
        raise refuse(
            "already_submitted", _("This agreement has already been submitted."), status=409
        )
    agreement.refresh_from_db()
    return agreement


@transaction.atomic
def agreement_terminate(*, actor, agreement: Agreement, reason: str) -> Agreement:
    """End an agreement early (or drop a draft), with a reason. An agreement in
    countersign is withdrawn from approval by its submitter instead."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, agreement.partner)
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason_required", _("Give a reason for the termination."), field="reason")
    agreement = _locked(agreement)
    if agreement.status == Agreement.Status.COUNTERSIGNING:
        raise refuse(
            "agreement_in_approval",
            _("The agreement is in countersign: its submitter withdraws it from approval."),
            status=409,
        )
    was_binding = agreement.status in LIVE_STATUSES
    _terminate(agreement, actor=actor, reason=reason[:300], action="agreement.terminated")
    # A draft returned by a rejection still has an open approval: close it too.
    workflow_close(target=agreement, definition_code=AGREEMENT_WORKFLOW, actor=actor)
    if was_binding:
        notify(
            recipients=partner_contacts(agreement.partner),
            event="partners.agreement_terminated",
            context=_context(agreement, reason=agreement.termination_reason),
            link=_link(agreement),
        )
    return agreement


def _terminate(agreement: Agreement, *, actor, reason: str, action: str) -> None:
    """Move a locked agreement to terminated (a countersigning one through draft)."""
    old = agreement.status
    if agreement.status == Agreement.Status.COUNTERSIGNING:
        agreement.transition_to(Agreement.Status.DRAFT)
    agreement.transition_to(Agreement.Status.TERMINATED)
    agreement.terminated_at = timezone.now()
    agreement.termination_reason = reason[:300]
    agreement.save(update_fields=["status", "terminated_at", "termination_reason", "updated_at"])
    _audit(
        actor=actor,
        action=action,
        agreement=agreement,
        changes={"status": [old, agreement.status], "reason": agreement.termination_reason},
    )


@transaction.atomic
def agreement_renew(*, actor, agreement: Agreement) -> Agreement:
    """Draft the next agreement: same scope and settlement, a term of the same length
    starting the day after this one ends (R1 renewal)."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, agreement.partner)
    agreement = _locked(agreement)
    if agreement.status not in LIVE_STATUSES:
        raise refuse(
            "agreement_not_renewable",
            _("Only a signed, active or expiring agreement can be renewed."),
            status=409,
        )
    existing = agreement.renewals.exclude(status=Agreement.Status.TERMINATED).first()
    if existing is not None:
        raise refuse(
            "renewal_exists",
            _("The renewal %(number)s already exists.") % {"number": existing.number},
            status=409,
            number=existing.number,
        )
    starts_on = agreement.ends_on + timedelta(days=1)
    return agreement_create(
        actor=actor,
        partner=agreement.partner,
        title=agreement.title,
        starts_on=starts_on,
        ends_on=starts_on + (agreement.ends_on - agreement.starts_on),
        business_scope=agreement.business_scope,
        settlement_model=agreement.settlement_model,
        revenue_share_percent=agreement.revenue_share_percent,
        fixed_fee=agreement.fixed_fee,
        renews=agreement,
    )


# ---- Workflow callbacks (inside the engine's transaction) -------------------------------


def _callback_target(instance) -> Agreement:
    return (
        Agreement.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__managing_org", "partner__org")
        .get(pk=instance.target_id)
    )


def agreement_on_submitted(*, instance, actor) -> None:
    agreement = _callback_target(instance)
    old = agreement.transition_to(Agreement.Status.COUNTERSIGNING)
    agreement.save(update_fields=["status", "updated_at"])
    _audit(
        actor=actor,
        action="agreement.submitted",
        agreement=agreement,
        changes={"status": [old, agreement.status], "round": instance.round},
    )


def agreement_on_rejected(*, instance, actor) -> None:
    agreement = _callback_target(instance)
    if agreement.status == Agreement.Status.TERMINATED:
        return  # closed meanwhile (the partner exited)
    old = agreement.transition_to(Agreement.Status.DRAFT)
    agreement.save(update_fields=["status", "updated_at"])
    _audit(
        actor=actor,
        action="agreement.rejected",
        agreement=agreement,
        changes={"status": [old, agreement.status]},
    )


def agreement_on_withdrawn(*, instance, actor) -> None:
    """Withdrawing ends the agreement (the engine's withdrawal is final)."""
    agreement = _callback_target(instance)
    if agreement.status == Agreement.Status.TERMINATED:
        return
    _terminate(
        agreement,
        actor=actor,
        reason=_("Withdrawn from approval."),
        action="agreement.withdrawn",
    )


def agreement_on_approved(*, instance, actor) -> None:
    """Countersign and finance approved: the agreement is signed today, and active at
    once when its term has started."""
    agreement = _callback_target(instance)
    if agreement.status == Agreement.Status.TERMINATED:
        return  # closed meanwhile (the partner exited): nothing to sign
    today = timezone.localdate()
    old = agreement.transition_to(Agreement.Status.SIGNED)
    agreement.signed_on = today
    agreement.save(update_fields=["status", "signed_on", "updated_at"])
    _audit(
        actor=actor,
        action="agreement.signed",
        agreement=agreement,
        changes={"status": [old, agreement.status], "signed_on": today.isoformat()},
    )
    notify(
        recipients=partner_contacts(agreement.partner),
        event="partners.agreement_signed",
        context=_context(agreement),
        link=_link(agreement),
    )
    _advance(agreement, today=today)


# ---- The daily check --------------------------------------------------------------------


def _thresholds() -> list[int]:
    return sorted({int(day) for day in settings.PRM_AGREEMENT_REMINDER_DAYS}, reverse=True)


def _move(agreement: Agreement, status: str, *, action: str, **extra) -> None:
    old = agreement.transition_to(status)
    for name, value in extra.items():
        setattr(agreement, name, value)
    agreement.save(update_fields=["status", *extra, "updated_at"])
    _audit(
        actor=None,
        action=action,
        agreement=agreement,
        changes={"status": [old, status], **{k: str(v) for k, v in extra.items()}},
    )


def _advance(agreement: Agreement, *, today: date) -> dict[str, int]:
    """Bring a locked signed/active/expiring agreement up to ``today``: start, expiring,
    renewal reminders (each threshold once), end of term. Returns what it did."""
    done = {"activated": 0, "expiring": 0, "reminded": 0, "terminated": 0}
    if agreement.status not in LIVE_STATUSES:
        return done
    if today > agreement.ends_on:
        _move(
            agreement,
            Agreement.Status.TERMINATED,
            action="agreement.ended",
            terminated_at=timezone.now(),
            termination_reason=_("The term ended."),
        )
        done["terminated"] = 1
        return done
    if agreement.status == Agreement.Status.SIGNED:
        if today < agreement.starts_on:
            return done
        _move(agreement, Agreement.Status.ACTIVE, action="agreement.activated")
        done["activated"] = 1
    thresholds = _thresholds()
    days_left = (agreement.ends_on - today).days
    if agreement.status == Agreement.Status.ACTIVE and thresholds and days_left <= thresholds[0]:
        _move(agreement, Agreement.Status.EXPIRING, action="agreement.expiring")
        done["expiring"] = 1
    sent = set(agreement.reminders_sent or [])
    due = [day for day in thresholds if days_left <= day and day not in sent]
    if due:
        # One reminder, however many thresholds a late run crossed at once.
        agreement.reminders_sent = sorted(sent | set(due), reverse=True)
        agreement.save(update_fields=["reminders_sent", "updated_at"])
        _audit(
            actor=None,
            action="agreement.renewal_reminded",
            agreement=agreement,
            changes={"days_left": days_left, "thresholds": due},
        )
        notify(
            recipients=partner_contacts(agreement.partner),
            event="partners.agreement_renewal_reminder",
            context=_context(agreement, days=days_left),
            link=_link(agreement),
        )
        done["reminded"] = 1
    return done


@transaction.atomic
def _advance_one(*, agreement_id: int, today: date) -> dict[str, int]:
    agreement = (
        Agreement.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__managing_org", "partner__org")
        .get(pk=agreement_id)
    )
    return _advance(agreement, today=today)


def agreements_check(*, today: date | None = None) -> dict[str, int]:
    """Daily (Celery beat): start signed agreements, mark expiring ones, send renewal
    reminders, end those past their term. Each agreement in its own transaction on its
    locked row; a second run the same day changes nothing."""
    today = today or timezone.localdate()
    totals = {"activated": 0, "expiring": 0, "reminded": 0, "terminated": 0}
    ids = Agreement.objects.filter(status__in=LIVE_STATUSES).values_list("pk", flat=True)
    for agreement_id in list(ids.order_by("pk")):
        for key, count in _advance_one(agreement_id=agreement_id, today=today).items():
            totals[key] += count
    return totals


# ---- Exit (R1): the close-down of a partner's agreements, and the entry point ---------


def agreements_close_for_exit(*, partner: Partner, actor, reason: str) -> dict[str, int]:
    """Terminate every agreement of an exiting partner that is not terminated yet, with
    the exit's reason; close their open approvals."""
    counts = {"terminated": 0, "approvals_withdrawn": 0}
    ids = partner.agreements.exclude(status=Agreement.Status.TERMINATED).values_list(
        "pk", flat=True
    )
    for agreement in Agreement.objects.filter(pk__in=list(ids)).order_by("pk"):
        agreement = _locked(agreement)
        _terminate(agreement, actor=actor, reason=reason, action="agreement.terminated_by_exit")
        counts["terminated"] += 1
        outcome = workflow_close(
            target=agreement, definition_code=AGREEMENT_WORKFLOW, actor=actor, reason=reason
        )
        if outcome == "withdrawn":
            counts["approvals_withdrawn"] += 1
    return counts


def partner_exit_start(*, partner: Partner, kind: str, reason: str, source: str, actor) -> ExitCase:
    """Make a partner exit now, for another module (R1 exit; R3 exit rules; R2 breach
    decisions): the credit module calls it with ``kind="assessment"``, the breach-case
    module with ``"violation"`` or ``"illegal_content"``. Creates an exit case in progress
    and runs the whole close-down at once in the caller's transaction; violations and
    illegal content put the USCC on the blacklist. ``actor`` may be ``None`` (system).
    Refuses a partner that is not active or already exited / closing down."""
    from prm.partners.services.exit import exit_run

    return exit_run(partner=partner, kind=kind, reason=reason, source=source, actor=actor)
