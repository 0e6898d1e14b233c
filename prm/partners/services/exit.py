"""Partner exit (退出, R1 "Exit") and the USCC blacklist.

Three ways in:

- **Voluntary**: the partner's admin applies with a reason (``exit_case_apply``); the
  application goes to the partner managers of the managing org on ``EXIT_WORKFLOW``;
  while it is under review the partner is ``exiting`` (no new business); approval runs
  the close-down, a rejection or withdrawal makes the partner active again.
- **Another module** (credit assessment, breach decisions) calls
  :func:`prm.partners.services.agreements.partner_exit_start`; **staff** start one with
  a kind and a reason (``exit_case_start``). Both run the close-down at once. A pending
  voluntary application is superseded (withdrawn): a partner cannot escape a
  termination for violations (and the blacklist) by applying to leave first.

The close-down (``ExitCase.CHECKLIST``), in one transaction, each item timestamped:
every user of the partner's org tree disabled, business codes released, open documents
closed (agreements terminated, change requests withdrawn, their open approvals withdrawn
where the engine allows), settlement stopped, data archived; the partner is ``exited``.
Terminations for violations or illegal content put the USCC on the blacklist, which
refuses a new registration with it.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import NotFound
from prm.core.numbering import document_number_next
from prm.core.scoping import path_in_scope
from prm.core.workflow import workflow_submit
from prm.partners.constants import CHANGE_REQUEST_WORKFLOW, EXIT_WORKFLOW
from prm.partners.models import BlacklistEntry, ChangeRequest, ExitCase, Partner
from prm.partners.selectors import partner_of_user
from prm.partners.services.agreements import (
    MANAGE_PERMISSION,
    agreements_close_for_exit,
    notify,
    partner_contacts,
    refuse,
    require_permission,
    require_visible,
    workflow_close,
)
from prm.partners.services.codes import business_codes_release_for_exit

APPLY_PERMISSION = "partners.add_exitcase"
BLACKLIST_PERMISSION = "partners.manage_blacklist"
BLACKLISTED_KINDS = (ExitCase.Kind.VIOLATION, ExitCase.Kind.ILLEGAL_CONTENT)
PENDING_STATUSES = (ExitCase.Status.SUBMITTED, ExitCase.Status.REJECTED)
USCC_FORMAT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}\Z")


def _audit(*, actor, action: str, target, changes: dict[str, Any], org_path: str) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=target,
        changes=changes,
        actor_username="system" if actor is None else "",
        org_path=org_path,
    )


def _link(case: ExitCase) -> str:
    return reverse("partners:exit_detail", kwargs={"number": case.number})


def _locked_partner(partner_id: int) -> Partner:
    return (
        Partner.objects.select_for_update(of=("self",))
        .select_related("org", "managing_org", "manager", "admin_user")
        .get(pk=partner_id)
    )


def _locked_case(case_id) -> ExitCase:
    return (
        ExitCase.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__managing_org")
        .get(pk=case_id)
    )


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason_required", _("Give the reason for the exit."), field="reason")
    return reason


def _partner_move(partner: Partner, status: str, *, actor, action: str, **extra) -> None:
    old = partner.transition_to(status)
    for name, value in extra.items():
        setattr(partner, name, value)
    partner.save(update_fields=["status", *extra, "updated_at"])
    _audit(
        actor=actor,
        action=action,
        target=partner,
        changes={"status": [old, status], **{name: str(value) for name, value in extra.items()}},
        org_path=partner.managing_org.path,
    )


def _refuse_if_leaving(partner: Partner) -> None:
    if partner.status == Partner.Status.EXITED:
        raise refuse(
            "partner_exited",
            _("%(partner)s has already exited.") % {"partner": partner},
            status=409,
        )
    if ExitCase.objects.filter(partner=partner, status=ExitCase.Status.IN_PROGRESS).exists():
        raise refuse(
            "partner_exiting",
            _("%(partner)s is already closing down.") % {"partner": partner},
            status=409,
        )
    if partner.status not in (Partner.Status.ACTIVE, Partner.Status.EXITING):
        raise refuse(
            "partner_not_active",
            _("Only an active partner can exit (%(partner)s is %(status)s).")
            % {"partner": partner, "status": partner.get_status_display()},
            status=409,
        )


# ---- Voluntary application ---------------------------------------------------------------


@transaction.atomic
def exit_case_apply(*, actor, reason: str) -> ExitCase:
    """The partner's admin applies to leave; the partner manager of the managing org
    decides on the workflow."""
    require_permission(actor, APPLY_PERMISSION)
    partner = partner_of_user(actor)
    if partner is None:
        raise NotFound()
    reason = _clean_reason(reason)
    partner = _locked_partner(partner.pk)
    _refuse_if_leaving(partner)
    pending = ExitCase.objects.filter(partner=partner, status__in=PENDING_STATUSES).first()
    if pending is not None or partner.status != Partner.Status.ACTIVE:
        raise refuse(
            "partner_exiting",
            _("An exit application of %(partner)s is already under review.") % {"partner": partner},
            status=409,
        )
    case = ExitCase.objects.create(
        partner=partner,
        number=document_number_next(model=ExitCase, prefix="EX"),
        kind=ExitCase.Kind.VOLUNTARY,
        status=ExitCase.Status.SUBMITTED,
        reason=reason,
        source="partner",
        requested_by=actor,
    )
    _audit(
        actor=actor,
        action="exit_case.applied",
        target=case,
        changes={"partner": partner.code, "kind": case.kind, "reason": reason},
        org_path=partner.managing_org.path,
    )
    # The partner's own tree has no operator ancestors: route from the managing org.
    workflow_submit(
        target=case, definition_code=EXIT_WORKFLOW, actor=actor, org=partner.managing_org
    )
    case.refresh_from_db()
    return case


def exit_on_submitted(*, instance, actor) -> None:
    case = _locked_case(instance.target_id)
    if case.status not in PENDING_STATUSES:
        raise refuse("exit_case_closed", _("This exit application is closed."), status=409)
    partner = _locked_partner(case.partner_id)
    if partner.status not in (Partner.Status.ACTIVE, Partner.Status.EXITING):
        raise refuse(
            "partner_not_active",
            _("Only an active partner can exit (%(partner)s is %(status)s).")
            % {"partner": partner, "status": partner.get_status_display()},
            status=409,
        )
    if case.status != ExitCase.Status.SUBMITTED:
        old = case.transition_to(ExitCase.Status.SUBMITTED)
        case.save(update_fields=["status", "updated_at"])
        _audit(
            actor=actor,
            action="exit_case.resubmitted",
            target=case,
            changes={"status": [old, case.status], "round": instance.round},
            org_path=partner.managing_org.path,
        )
    if partner.status == Partner.Status.ACTIVE:
        _partner_move(partner, Partner.Status.EXITING, actor=actor, action="partner.exiting")


def _application_closed(*, instance, actor, status: str, action: str) -> None:
    case = _locked_case(instance.target_id)
    if case.status not in PENDING_STATUSES:
        return  # superseded by an exit another module or staff started
    old = case.transition_to(status)
    case.save(update_fields=["status", "updated_at"])
    partner = _locked_partner(case.partner_id)
    _audit(
        actor=actor,
        action=action,
        target=case,
        changes={"status": [old, status]},
        org_path=partner.managing_org.path,
    )
    if partner.status == Partner.Status.EXITING:
        _partner_move(partner, Partner.Status.ACTIVE, actor=actor, action="partner.exit_cancelled")


def exit_on_rejected(*, instance, actor) -> None:
    """A rejected application: the partner stays (active again); the admin may change
    nothing but resubmit or withdraw."""
    _application_closed(
        instance=instance, actor=actor, status=ExitCase.Status.REJECTED, action="exit_case.rejected"
    )


def exit_on_withdrawn(*, instance, actor) -> None:
    _application_closed(
        instance=instance,
        actor=actor,
        status=ExitCase.Status.WITHDRAWN,
        action="exit_case.withdrawn",
    )


def exit_on_approved(*, instance, actor) -> None:
    """Approval starts (and, in the same transaction, completes) the close-down."""
    case = _locked_case(instance.target_id)
    if case.status != ExitCase.Status.SUBMITTED:
        return  # superseded meanwhile
    old = case.transition_to(ExitCase.Status.IN_PROGRESS)
    case.save(update_fields=["status", "updated_at"])
    _audit(
        actor=actor,
        action="exit_case.approved",
        target=case,
        changes={"status": [old, case.status]},
        org_path=case.partner.managing_org.path,
    )
    _close_down(case, actor=actor)


# ---- Exits started by staff or another module ---------------------------------------------


@transaction.atomic
def exit_case_start(*, actor, partner: Partner, kind: str, reason: str) -> ExitCase:
    """Staff make a partner exit now (their decision is the approval)."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, partner)
    return exit_run(partner=partner, kind=kind, reason=reason, source="staff", actor=actor)


@transaction.atomic
def exit_run(*, partner: Partner, kind: str, reason: str, source: str, actor) -> ExitCase:
    """Create an exit case in progress and close the partner down at once (see
    :func:`prm.partners.services.agreements.partner_exit_start`)."""
    if kind not in ExitCase.Kind.values:
        raise refuse("exit_kind_invalid", _("Choose the kind of exit."), field="kind")
    reason = _clean_reason(reason)
    partner = _locked_partner(partner.pk)
    _refuse_if_leaving(partner)
    pending = list(
        ExitCase.objects.select_for_update(of=("self",))
        .filter(partner=partner, status__in=PENDING_STATUSES)
        .order_by("pk")
    )
    if pending and kind == ExitCase.Kind.VOLUNTARY:
        raise refuse(
            "partner_exiting",
            _("An exit application of %(partner)s is already under review.") % {"partner": partner},
            status=409,
        )
    case = ExitCase.objects.create(
        partner=partner,
        number=document_number_next(model=ExitCase, prefix="EX"),
        kind=kind,
        status=ExitCase.Status.IN_PROGRESS,
        reason=reason,
        source=(source or "")[:40],
        requested_by=actor,
    )
    _audit(
        actor=actor,
        action="exit_case.started",
        target=case,
        changes={"partner": partner.code, "kind": kind, "reason": reason, "source": case.source},
        org_path=partner.managing_org.path,
    )
    for application in pending:
        old = application.transition_to(ExitCase.Status.WITHDRAWN)
        application.save(update_fields=["status", "updated_at"])
        _audit(
            actor=actor,
            action="exit_case.superseded",
            target=application,
            changes={"status": [old, application.status], "superseded_by": case.number},
            org_path=partner.managing_org.path,
        )
        workflow_close(target=application, definition_code=EXIT_WORKFLOW, actor=actor)
    _close_down(case, actor=actor)
    return case


# ---- The close-down ---------------------------------------------------------------------


def _stamp(case: ExitCase, item: str) -> None:
    case.checklist[item] = timezone.now().isoformat()


def _partner_users_disable(*, partner: Partner, actor, reason: str) -> int:
    """Disable (停用) every active user of the partner's org tree; they are never deleted.

    ``prm.accounts.services.user_disable`` checks that the actor sees the user's org,
    which neither operator staff (the partner tree is outside theirs) nor the system
    (no actor) do; so the exit disables them here, with the same audit event.
    """
    users = (
        get_user_model()
        .objects.select_for_update(of=("self",))
        .filter(org__path__startswith=partner.org.path, is_active=True)
        .order_by("pk")
    )
    disabled = 0
    for user in users:
        user.is_active = False
        user.save(update_fields=["is_active", "updated_at"])
        _audit(
            actor=actor,
            action="user.disabled",
            target=user,
            changes={"is_active": [True, False], "reason": reason},
            org_path=partner.managing_org.path,
        )
        disabled += 1
    return disabled


def _change_requests_close(*, partner: Partner, actor, reason: str) -> dict[str, int]:
    counts = {"withdrawn": 0, "approvals_withdrawn": 0}
    open_statuses = (ChangeRequest.Status.SUBMITTED, ChangeRequest.Status.REJECTED)
    for change_request in partner.change_requests.filter(status__in=open_statuses).order_by("pk"):
        outcome = workflow_close(
            target=change_request,
            definition_code=CHANGE_REQUEST_WORKFLOW,
            actor=actor,
            reason=reason,
        )
        if outcome == "withdrawn":
            counts["approvals_withdrawn"] += 1
        change_request = ChangeRequest.objects.select_for_update(of=("self",)).get(
            pk=change_request.pk
        )
        if change_request.status in open_statuses:
            old = change_request.transition_to(ChangeRequest.Status.WITHDRAWN)
            change_request.decided_at = timezone.now()
            change_request.save(update_fields=["status", "decided_at", "updated_at"])
            _audit(
                actor=actor,
                action="change_request.withdrawn_by_exit",
                target=change_request,
                changes={"status": [old, change_request.status], "reason": reason},
                org_path=partner.managing_org.path,
            )
        counts["withdrawn"] += 1
    return counts


def _blacklist(*, case: ExitCase, partner: Partner, actor) -> bool:
    if case.kind not in BLACKLISTED_KINDS or not partner.uscc:
        return False
    entry, created = BlacklistEntry.objects.get_or_create(
        uscc=partner.uscc,
        defaults={
            "company_name": partner.company_name or str(partner),
            "reason": f"{case.number} {case.get_kind_display()}: {case.reason}",
            "partner": partner,
            "created_by": actor,
        },
    )
    if created:
        _audit(
            actor=actor,
            action="blacklist_entry.created",
            target=entry,
            changes={"uscc": entry.uscc, "company_name": entry.company_name, "exit": case.number},
            org_path=partner.managing_org.path,
        )
    return True


def _close_down(case: ExitCase, *, actor) -> ExitCase:
    """Run the checklist on a case in progress (inside the caller's transaction)."""
    partner = _locked_partner(case.partner_id)
    contacts = partner_contacts(partner)  # before their accounts are disabled
    reason = f"{case.number}: {case.reason}"
    case.checklist = {}
    counts: dict[str, Any] = {}

    counts["users_disabled"] = _partner_users_disable(partner=partner, actor=actor, reason=reason)
    _stamp(case, "accounts_disabled")
    counts["business_codes_released"] = business_codes_release_for_exit(
        partner=partner, actor=actor, reason=reason
    )
    _stamp(case, "business_codes_released")
    counts["agreements"] = agreements_close_for_exit(partner=partner, actor=actor, reason=reason)
    counts["change_requests"] = _change_requests_close(partner=partner, actor=actor, reason=reason)
    _stamp(case, "open_documents_closed")

    old = {"status": partner.status, "settlement_stopped": partner.settlement_stopped}
    now = timezone.now()
    partner.settlement_stopped = True
    _stamp(case, "settlement_stopped")
    partner.archived_at = now
    _stamp(case, "archived")
    partner.transition_to(Partner.Status.EXITED)
    partner.exited_at = now
    partner.save(
        update_fields=["status", "settlement_stopped", "archived_at", "exited_at", "updated_at"]
    )
    _audit(
        actor=actor,
        action="partner.exited",
        target=partner,
        changes={
            "status": [old["status"], partner.status],
            "settlement_stopped": [old["settlement_stopped"], True],
            "archived_at": now.isoformat(),
            "exit": case.number,
        },
        org_path=partner.managing_org.path,
    )

    case.blacklisted = _blacklist(case=case, partner=partner, actor=actor)
    old_status = case.transition_to(ExitCase.Status.COMPLETED)
    case.completed_at = timezone.now()
    case.save(update_fields=["status", "checklist", "blacklisted", "completed_at", "updated_at"])
    _audit(
        actor=actor,
        action="exit_case.completed",
        target=case,
        changes={
            "status": [old_status, case.status],
            "checklist": case.checklist,
            "blacklisted": case.blacklisted,
            **counts,
        },
        org_path=partner.managing_org.path,
    )
    notify(
        recipients=contacts,
        event="partners.exit_completed",
        context={
            "number": case.number,
            "partner": str(partner),
            "kind": case.get_kind_display(),
            "reason": case.reason,
        },
        link=_link(case),
    )
    return case


# ---- Blacklist ---------------------------------------------------------------------------


def blacklist_entry_org_path(entry: BlacklistEntry) -> str:
    """Where an entry belongs in the operator tree: its partner's managing org, else the
    org of whoever added it (an entry added by the system without a partner: the root)."""
    if entry.partner_id is not None:
        return entry.partner.managing_org.path
    if entry.created_by_id is not None:
        return entry.created_by.org.path
    return "/"


@transaction.atomic
def blacklist_entry_add(*, actor, uscc: str, company_name: str, reason: str) -> BlacklistEntry:
    """Put a USCC on the blacklist by hand (e.g. a company terminated elsewhere)."""
    require_permission(actor, BLACKLIST_PERMISSION)
    if actor.is_partner_user:
        raise NotFound()
    uscc = (uscc or "").strip().upper()
    company_name, reason = (company_name or "").strip(), (reason or "").strip()
    if not USCC_FORMAT.match(uscc):
        raise refuse(
            "uscc_invalid",
            _("Enter a unified social credit code of 18 characters."),
            field="uscc",
        )
    if not company_name:
        raise refuse("company_name_required", _("Enter the company name."), field="company_name")
    if not reason:
        raise refuse("reason_required", _("Give the reason."), field="reason")
    if BlacklistEntry.objects.filter(uscc=uscc).exists():
        raise refuse(
            "blacklist_duplicate",
            _("%(uscc)s is already on the blacklist.") % {"uscc": uscc},
            field="uscc",
            status=409,
        )
    entry = BlacklistEntry.objects.create(
        uscc=uscc, company_name=company_name, reason=reason, created_by=actor
    )
    _audit(
        actor=actor,
        action="blacklist_entry.created",
        target=entry,
        changes={"uscc": uscc, "company_name": company_name, "reason": reason},
        org_path=actor.org.path,
    )
    return entry


@transaction.atomic
def blacklist_entry_remove(*, actor, entry: BlacklistEntry, reason: str) -> None:
    """Take a USCC off the blacklist, with a reason (the audit log keeps the entry)."""
    require_permission(actor, BLACKLIST_PERMISSION)
    entry = (
        BlacklistEntry.objects.select_for_update(of=("self",))
        .select_related("partner__managing_org", "created_by__org")
        .filter(pk=entry.pk)
        .first()
    )
    if entry is None or not path_in_scope(user=actor, path=blacklist_entry_org_path(entry)):
        raise NotFound()
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason_required", _("Give the reason."), field="reason")
    _audit(
        actor=actor,
        action="blacklist_entry.removed",
        target=entry,
        changes={
            "uscc": entry.uscc,
            "company_name": entry.company_name,
            "entry_reason": entry.reason,
            "reason": reason,
        },
        org_path=blacklist_entry_org_path(entry),
    )
    entry.delete()
