"""Breach investigations (违约调查) and partner inquiries (R2).

Breach investigation: operator staff open a case about one of their active partners
(business, violation type, evidence, affected users, impact degree, whether allocated
marketing resources were used); the partner's admins are told and may answer with
feedback and evidence until the end of the due date (*default* 5 working days,
``PRM_BREACH_RESPONSE_WORKING_DAYS``; holidays and 调休 from the work calendar); staff then
decide, once: upheld (penalties: credit deduction through ``violation_determined``, a
fine, business suspension; a public penalty notice; illegal content also starts the
partner's immediate exit) or not upheld.

Inquiry: a partner's question to the operator, answered by the staff who manage the
partner before a deadline (*default* 3 working days, ``PRM_INQUIRY_RESPONSE_WORKING_DAYS``);
the partner may reopen an answered inquiry or close it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prm.core import notifications
from prm.core.attachments import attachment_create
from prm.core.audit import audit_event_create
from prm.core.calendar import add_working_days, end_of_day
from prm.core.calendar import business_date as local_date
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import AuditEvent
from prm.core.numbering import document_number_next
from prm.partners.models import Partner
from prm.partners.selectors import partner_admin_users, partner_of_user, partners_visible
from prm.portal import setup_cases as events
from prm.portal.models import BreachCase, BreachResponse, Inquiry, PublicNotice
from prm.portal.selectors_cases import (
    INQUIRY_DUE_SOON,
    breach_case_accepts_responses,
    breach_case_decidable,
    breach_case_list,
    breach_case_staff_recipients,
    inquiry_handlers,
    inquiry_list,
)
from prm.portal.signals import violation_determined

logger = logging.getLogger(__name__)

EVIDENCE = "evidence"
ACTION_CASE_OVERDUE = "breach_case.overdue_notified"
ACTION_INQUIRY_DUE_SOON = "inquiry.due_soon_notified"
ACTION_INQUIRY_OVERDUE = "inquiry.overdue_notified"
# Partners that may still ask questions (an exiting partner settles its last matters).
INQUIRY_PARTNER_STATUSES = (Partner.Status.ACTIVE, Partner.Status.EXITING)
CENT = Decimal("0.01")
MAX_FINE = Decimal("1000000000000")  # BreachCase.fine_amount holds 14 digits, 2 decimals


class _Rendered:
    """A context value rendered when the notification is rendered, i.e. in each
    recipient's language (``notify`` calls ``str()`` under the recipient's language)."""

    def __init__(self, render: Callable[[], str]) -> None:
        self._render = render

    def __str__(self) -> str:
        return self._render()


def _refuse(code: str, message, *, field: str = "", status: int = 400) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def _due_text(day: date) -> str:
    return f"{day:%Y-%m-%d} 23:59"


def _local_text(moment: datetime) -> str:
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")


def _attach(*, owner: models.Model, files: Iterable, actor, purpose: str = EVIDENCE) -> int:
    """Attach the uploaded files; a refused file refuses the whole action. Files already
    written for this action are removed (their rows roll back with the transaction)."""
    created = []
    try:
        for uploaded in files:
            created.append(
                attachment_create(owner=owner, uploaded_file=uploaded, actor=actor, purpose=purpose)
            )
    except Exception:
        for attachment in created:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return len(created)


def _notify(**kwargs) -> None:
    notifications.notify(**kwargs)


# Breach investigations -------------------------------------------------------------------


def _require_case_manager(actor) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or actor.is_partner_user
        or not actor.has_perm("portal.manage_breachcase")
    ):
        raise Forbidden()


def _case_link(case: BreachCase) -> str:
    return reverse("portal:case_detail", kwargs={"number": case.number})


@transaction.atomic
def breach_case_open(
    *,
    actor,
    partner: Partner,
    business: str,
    violation_type: str,
    description: str,
    impact: str,
    affected_users: int = 0,
    used_marketing_resources: bool = False,
    evidence: Iterable = (),
    today: date | None = None,
) -> BreachCase:
    """Open a breach investigation about an active partner the actor manages and tell
    the partner's admins (inbox and e-mail). The response deadline is
    ``PRM_BREACH_RESPONSE_WORKING_DAYS`` working days after today (R2)."""
    _require_case_manager(actor)
    if not partners_visible(actor).filter(pk=partner.pk).exists():
        raise NotFound()
    partner = Partner.objects.select_related("org", "managing_org").get(pk=partner.pk)
    if partner.status != Partner.Status.ACTIVE:
        raise _refuse(
            "partner_not_active",
            _("A breach investigation can only be opened about an active partner."),
            field="partner",
        )
    business, description = (business or "").strip(), (description or "").strip()
    if not business:
        raise _refuse("business_required", _("Name the business concerned."), field="business")
    if violation_type not in BreachCase.ViolationType.values:
        raise _refuse(
            "violation_type_invalid", _("Choose a violation type."), field="violation_type"
        )
    if impact not in BreachCase.Impact.values:
        raise _refuse("impact_invalid", _("Choose the impact degree."), field="impact")
    if not description:
        raise _refuse(
            "description_required", _("Describe the suspected violation."), field="description"
        )
    if affected_users is None or int(affected_users) < 0:
        raise _refuse(
            "affected_users_invalid",
            _("The number of affected users cannot be negative."),
            field="affected_users",
        )
    today = today or local_date()
    case = BreachCase.objects.create(
        number=document_number_next(model=BreachCase, prefix="BC", on=today),
        partner=partner,
        org=actor.org,
        business=business[:200],
        violation_type=violation_type,
        description=description,
        affected_users=int(affected_users),
        impact=impact,
        used_marketing_resources=bool(used_marketing_resources),
        response_due=add_working_days(today, settings.PRM_BREACH_RESPONSE_WORKING_DAYS),
        opened_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="breach_case.opened",
        target=case,
        changes={
            "partner": partner.code,
            "business": case.business,
            "violation_type": violation_type,
            "impact": impact,
            "affected_users": case.affected_users,
            "used_marketing_resources": case.used_marketing_resources,
            "response_due": str(case.response_due),
        },
    )
    _attach(owner=case, files=evidence, actor=actor)
    _notify(
        recipients=partner_admin_users(partner),
        event=events.EVENT_CASE_OPENED,
        context={
            "number": case.number,
            "business": case.business,
            "violation_type": BreachCase.ViolationType(violation_type).label,
            "due": _due_text(case.response_due),
        },
        link=_case_link(case),
    )
    return case


@transaction.atomic
def breach_response_submit(
    *, actor, number: str, body: str, evidence: Iterable = (), now: datetime | None = None
) -> BreachResponse:
    """The partner answers a case with feedback and evidence (举证), any number of times,
    until the end of the due date (local time). Staff who follow the case are told."""
    found = breach_case_list(user=actor).filter(number=number).first()
    if found is None:
        raise NotFound()
    if not actor.is_partner_user or not actor.has_perm("portal.view_breachcase"):
        raise Forbidden()
    case = BreachCase.objects.select_for_update().get(pk=found.pk)
    if case.status in (BreachCase.Status.UPHELD, BreachCase.Status.NOT_UPHELD):
        raise _refuse(
            "breach_case_decided", _("The case is decided: it takes no more responses."), status=409
        )
    if not breach_case_accepts_responses(case, now=now):
        raise _refuse(
            "response_deadline_passed",
            _("The response deadline (%(due)s) has passed: responses are closed.")
            % {"due": _due_text(case.response_due)},
            status=409,
        )
    body = (body or "").strip()
    if not body:
        raise _refuse("feedback_required", _("Write your feedback."), field="body")
    old = case.transition_to(BreachCase.Status.RESPONDED)
    case.save(update_fields=["status", "updated_at"])
    response = BreachResponse.objects.create(case=case, author=actor, body=body)
    audit_event_create(
        actor=actor,
        action="breach_case.responded",
        target=case,
        changes={"status": [old, case.status], "response": response.pk, "feedback": body},
    )
    _attach(owner=response, files=evidence, actor=actor)
    _notify(
        recipients=breach_case_staff_recipients(case),
        event=events.EVENT_CASE_RESPONDED,
        context={"number": case.number, "partner": str(case.partner)},
        link=_case_link(case),
    )
    return response


def _penalties_text(case: BreachCase) -> str:
    """The penalties of an upheld case, in the active language."""
    parts = []
    if case.credit_deduction:
        parts.append(_("credit deduction"))
    if case.fine_amount:
        parts.append(_("a fine of %(amount)s yuan") % {"amount": case.fine_amount})
    if case.suspend_business_until:
        parts.append(
            _("no new business until %(date)s")
            % {"date": f"{case.suspend_business_until:%Y-%m-%d}"}
        )
    return "; ".join(parts) if parts else _("none")


def _notice_texts(case: BreachCase) -> tuple[str, str]:
    """The penalty notice (公示), written once in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Penalty notice: %(partner)s (%(number)s)") % {
            "partner": str(case.partner),
            "number": case.number,
        }
        lines = [
            _("Partner: %(partner)s (%(code)s)")
            % {"partner": str(case.partner), "code": case.partner.code},
            _("Business concerned: %(business)s") % {"business": case.business},
            _("Violation: %(type)s; impact: %(impact)s")
            % {
                "type": BreachCase.ViolationType(case.violation_type).label,
                "impact": BreachCase.Impact(case.impact).label,
            },
            _("Decision: upheld. Reasons: %(reason)s") % {"reason": case.decision_reason},
            _("Penalties: %(penalties)s") % {"penalties": _penalties_text(case)},
        ]
    return title, "\n".join(lines)


def _violation_determined_send(*, case_id: int, actor) -> None:
    """Tell other modules (credit, R3) after the decision committed. A failing receiver
    is logged: the decision stands and the upheld case row is the durable record."""
    case = BreachCase.objects.select_related("partner").get(pk=case_id)
    for receiver, result in violation_determined.send_robust(
        sender=BreachCase, case=case, actor=actor
    ):
        if isinstance(result, Exception):
            logger.error(
                "violation_determined receiver %r failed for %s",
                receiver,
                case.number,
                exc_info=result,
            )


def _exit_for_illegal_content(*, case: BreachCase, actor) -> str:
    """Start the partner's immediate exit (R1: termination for illegal content).

    Returns "started", or why not: the exit service is not installed, or it refused
    (e.g. an exit already runs); the decision stands either way and the audit says so.
    """
    try:
        from prm.partners.services.agreements import partner_exit_start
    except ImportError:
        logger.warning("partner_exit_start is not available: exit for %s not started", case)
        return "exit_service_missing"
    try:
        with transaction.atomic():
            partner_exit_start(
                partner=Partner.objects.get(pk=case.partner_id),
                kind="illegal_content",
                reason=_("Breach investigation %(number)s upheld: illegal content.")
                % {"number": case.number},
                source="portal",
                actor=actor,
            )
    except ApplicationError as exc:
        logger.warning("Exit for %s refused: %s (%s)", case, exc.code, exc.message)
        return exc.code
    return "started"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _refuse(
            "fine_invalid", _("Enter the fine as an amount in yuan."), field="fine_amount"
        ) from exc
    if not amount.is_finite():
        raise _refuse(
            "fine_invalid", _("Enter the fine as an amount in yuan."), field="fine_amount"
        )
    return amount


@transaction.atomic
def breach_case_decide(
    *,
    actor,
    number: str,
    upheld: bool,
    reason: str,
    credit_deduction: bool = False,
    fine_amount=None,
    suspend_business_until: date | None = None,
    now: datetime | None = None,
) -> BreachCase:
    """Decide a case once the partner responded or its deadline passed; a decision is
    final. Upheld: the penalties are recorded (credit deduction is applied by the credit
    module on ``violation_determined``, sent after commit; a suspension is set on the
    partner), a penalty public notice is published, and illegal content starts the
    partner's exit. Not upheld: the partner is told, nothing else."""
    found = breach_case_list(user=actor).filter(number=number).first()
    if found is None:
        raise NotFound()
    _require_case_manager(actor)
    case = (
        BreachCase.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=found.pk)
    )
    if case.status in (BreachCase.Status.UPHELD, BreachCase.Status.NOT_UPHELD):
        raise _refuse("breach_case_decided", _("The case is already decided."), status=409)
    if not breach_case_decidable(case, now=now):
        raise _refuse(
            "breach_case_response_pending",
            _("The partner may respond until %(due)s: decide after it responds or then.")
            % {"due": _due_text(case.response_due)},
            status=409,
        )
    reason = (reason or "").strip()
    if not reason:
        raise _refuse("reason_required", _("Give the reasons for the decision."), field="reason")
    fine = _decimal(fine_amount)
    if upheld:
        if fine is not None and fine < 0:
            raise _refuse("fine_negative", _("The fine cannot be negative."), field="fine_amount")
        if fine is not None and (fine != fine.quantize(CENT) or fine >= MAX_FINE):
            raise _refuse(
                "fine_invalid",
                _("Enter the fine in yuan with at most 2 decimals."),
                field="fine_amount",
            )
        if suspend_business_until is not None and suspend_business_until < local_date(now):
            raise _refuse(
                "suspension_in_past",
                _("A business suspension must end today or later."),
                field="suspend_business_until",
            )
    elif credit_deduction or fine or suspend_business_until:
        raise _refuse("penalties_not_upheld", _("A case that is not upheld carries no penalties."))

    old = case.transition_to(BreachCase.Status.UPHELD if upheld else BreachCase.Status.NOT_UPHELD)
    case.decided_by = actor
    case.decided_at = now or timezone.now()
    case.decision_reason = reason
    if upheld:
        case.credit_deduction = bool(credit_deduction)
        case.fine_amount = fine if fine else None
        case.suspend_business_until = suspend_business_until
    case.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_reason",
            "credit_deduction",
            "fine_amount",
            "suspend_business_until",
            "updated_at",
        ]
    )
    changes = {
        "status": [old, case.status],
        "decision_reason": reason,
        "credit_deduction": case.credit_deduction,
        "fine_amount": str(case.fine_amount) if case.fine_amount is not None else None,
        "suspend_business_until": (
            str(case.suspend_business_until) if case.suspend_business_until else None
        ),
    }
    # Before an exit disables the partner's accounts: the decision still reaches them.
    recipients = partner_admin_users(case.partner)
    if upheld:
        if case.suspend_business_until:
            from prm.partners.services.status import partner_business_suspend_until

            partner_business_suspend_until(
                partner_id=case.partner_id,
                until=case.suspend_business_until,
                reason=_("Breach investigation %(number)s") % {"number": case.number},
                actor=actor,
            )
        title, body = _notice_texts(case)
        from prm.portal.services.notices import public_notice_create

        notice = public_notice_create(
            kind=PublicNotice.Kind.PENALTY,
            title=title,
            body=body,
            org=case.org,
            actor=actor,
            partner=case.partner,
            breach_case=case,
        )
        changes["public_notice"] = notice.pk
        if case.violation_type == BreachCase.ViolationType.ILLEGAL_CONTENT:
            changes["partner_exit"] = _exit_for_illegal_content(case=case, actor=actor)
    audit_event_create(actor=actor, action="breach_case.decided", target=case, changes=changes)
    if upheld:
        transaction.on_commit(partial(_violation_determined_send, case_id=case.pk, actor=actor))
        _notify(
            recipients=recipients,
            event=events.EVENT_CASE_UPHELD,
            context={
                "number": case.number,
                "reason": reason,
                "penalties": _Rendered(partial(_penalties_text, case)),
            },
            link=_case_link(case),
        )
    else:
        _notify(
            recipients=recipients,
            event=events.EVENT_CASE_NOT_UPHELD,
            context={"number": case.number, "reason": reason},
            link=_case_link(case),
        )
    return case


# Inquiries -------------------------------------------------------------------------------


def _inquiry_link(inquiry: Inquiry) -> str:
    return reverse("portal:inquiry_detail", kwargs={"number": inquiry.number})


def _inquiry_due(now: datetime | None) -> datetime:
    return end_of_day(add_working_days(local_date(now), settings.PRM_INQUIRY_RESPONSE_WORKING_DAYS))


def _inquiry_context(inquiry: Inquiry) -> dict:
    return {
        "number": inquiry.number,
        "partner": str(inquiry.partner),
        "subject": inquiry.subject,
        "due": _local_text(inquiry.due_at),
    }


def _inquiry_for_partner_user(actor, number: str) -> Inquiry:
    found = inquiry_list(user=actor).filter(number=number).first()
    if found is None:
        raise NotFound()
    if not actor.is_partner_user or not actor.has_perm("portal.add_inquiry"):
        raise Forbidden()
    return Inquiry.objects.select_for_update().get(pk=found.pk)


@transaction.atomic
def inquiry_create(
    *,
    actor,
    topic: str,
    subject: str,
    body: str,
    attachments: Iterable = (),
    now: datetime | None = None,
) -> Inquiry:
    """A partner user asks the operator a question; it must be answered by the end of
    the ``PRM_INQUIRY_RESPONSE_WORKING_DAYS``-th working day. The staff who answer the
    partner's inquiries are told."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_partner_user
        or not actor.has_perm("portal.add_inquiry")
    ):
        raise Forbidden()
    partner = partner_of_user(actor)
    if partner is None or partner.status not in INQUIRY_PARTNER_STATUSES:
        raise _refuse(
            "partner_not_active", _("Only an admitted partner can raise inquiries."), status=403
        )
    subject, body = (subject or "").strip(), (body or "").strip()
    if topic not in Inquiry.Topic.values:
        raise _refuse("topic_invalid", _("Choose a topic."), field="topic")
    if not subject:
        raise _refuse("subject_required", _("Enter a subject."), field="subject")
    if not body:
        raise _refuse("question_required", _("Write your question."), field="body")
    now = now or timezone.now()
    inquiry = Inquiry.objects.create(
        number=document_number_next(model=Inquiry, prefix="IQ", on=local_date(now)),
        partner=partner,
        author=actor,
        topic=topic,
        subject=subject[:200],
        body=body,
        due_at=_inquiry_due(now),
    )
    audit_event_create(
        actor=actor,
        action="inquiry.created",
        target=inquiry,
        changes={
            "partner": partner.code,
            "topic": topic,
            "subject": inquiry.subject,
            "body": body,
            "due_at": inquiry.due_at.isoformat(),
        },
    )
    _attach(owner=inquiry, files=attachments, actor=actor, purpose="")
    _notify(
        recipients=inquiry_handlers(inquiry),
        event=events.EVENT_INQUIRY_CREATED,
        context=_inquiry_context(inquiry),
        link=_inquiry_link(inquiry),
    )
    return inquiry


@transaction.atomic
def inquiry_answer(*, actor, number: str, answer: str, now: datetime | None = None) -> Inquiry:
    """Staff answer an open inquiry of a partner they manage; its author is told."""
    found = inquiry_list(user=actor).filter(number=number).first()
    if found is None:
        raise NotFound()
    if actor.is_partner_user or not actor.has_perm("portal.answer_inquiry"):
        raise Forbidden()
    inquiry = Inquiry.objects.select_for_update().get(pk=found.pk)
    if inquiry.status != Inquiry.Status.OPEN:
        raise _refuse("inquiry_not_open", _("Only an open inquiry can be answered."), status=409)
    answer = (answer or "").strip()
    if not answer:
        raise _refuse("answer_required", _("Write the answer."), field="answer")
    old = inquiry.transition_to(Inquiry.Status.ANSWERED)
    inquiry.answer = answer
    inquiry.answered_by = actor
    inquiry.answered_at = now or timezone.now()
    inquiry.save(update_fields=["status", "answer", "answered_by", "answered_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="inquiry.answered",
        target=inquiry,
        changes={"status": [old, inquiry.status], "answer": answer},
    )
    _notify(
        recipients=[inquiry.author] if inquiry.author.is_active else [],
        event=events.EVENT_INQUIRY_ANSWERED,
        context=_inquiry_context(inquiry),
        link=_inquiry_link(inquiry),
    )
    return inquiry


@transaction.atomic
def inquiry_reopen(*, actor, number: str, comment: str, now: datetime | None = None) -> Inquiry:
    """The partner is not satisfied with the answer: the inquiry is open again with a
    follow-up question and a new deadline."""
    inquiry = _inquiry_for_partner_user(actor, number)
    if inquiry.status != Inquiry.Status.ANSWERED:
        raise _refuse(
            "inquiry_not_answered", _("Only an answered inquiry can be reopened."), status=409
        )
    comment = (comment or "").strip()
    if not comment:
        raise _refuse("comment_required", _("Say what is still unclear."), field="comment")
    old = inquiry.transition_to(Inquiry.Status.OPEN)
    old_due = inquiry.due_at
    inquiry.due_at = _inquiry_due(now)
    inquiry.save(update_fields=["status", "due_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="inquiry.reopened",
        target=inquiry,
        changes={
            "status": [old, inquiry.status],
            "due_at": inquiry.due_at.isoformat(),
            "previous_due_at": old_due.isoformat(),
            "comment": comment,
        },
    )
    _notify(
        recipients=inquiry_handlers(inquiry),
        event=events.EVENT_INQUIRY_REOPENED,
        context=_inquiry_context(inquiry),
        link=_inquiry_link(inquiry),
    )
    return inquiry


@transaction.atomic
def inquiry_close(*, actor, number: str) -> Inquiry:
    """Close an inquiry: the partner's users (done with it) or the staff who answer it."""
    found = inquiry_list(user=actor).filter(number=number).first()
    if found is None:
        raise NotFound()
    permission = "portal.add_inquiry" if actor.is_partner_user else "portal.answer_inquiry"
    if not actor.has_perm(permission):
        raise Forbidden()
    inquiry = Inquiry.objects.select_for_update().get(pk=found.pk)
    if inquiry.status == Inquiry.Status.CLOSED:
        raise _refuse("inquiry_closed", _("The inquiry is already closed."), status=409)
    old = inquiry.transition_to(Inquiry.Status.CLOSED)
    inquiry.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="inquiry.closed",
        target=inquiry,
        changes={"status": [old, inquiry.status]},
    )
    return inquiry


# Deadlines -------------------------------------------------------------------------------


def _already_recorded(*, action: str, target: models.Model, **changes) -> bool:
    """Whether the once-only reminder ``action`` was already recorded for ``target``
    (the audit log is the record: append-only, and it shows who was told when)."""
    filters = {f"changes__{key}": value for key, value in changes.items()}
    return AuditEvent.objects.filter(
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        **filters,
    ).exists()


@transaction.atomic
def _case_overdue_notify(*, case_id: int, today: date) -> bool:
    case = (
        BreachCase.objects.select_for_update(of=("self",))
        .select_related("partner", "org", "opened_by")
        .get(pk=case_id)
    )
    if case.status != BreachCase.Status.AWAITING_RESPONSE or case.response_due >= today:
        return False
    if _already_recorded(action=ACTION_CASE_OVERDUE, target=case):
        return False
    recipients = breach_case_staff_recipients(case)
    _notify(
        recipients=recipients,
        event=events.EVENT_CASE_OVERDUE,
        context={
            "number": case.number,
            "partner": str(case.partner),
            "due": _due_text(case.response_due),
        },
        link=_case_link(case),
    )
    audit_event_create(
        actor=None,
        actor_username="system",
        action=ACTION_CASE_OVERDUE,
        target=case,
        changes={
            "response_due": str(case.response_due),
            "recipients": [user.username for user in recipients],
        },
        org_path=case.org.path,
    )
    return True


@transaction.atomic
def _inquiry_deadline_notify(*, inquiry_id: int, now: datetime) -> str | None:
    inquiry = (
        Inquiry.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__managing_org", "answered_by")
        .get(pk=inquiry_id)
    )
    if inquiry.status != Inquiry.Status.OPEN:
        return None
    if inquiry.due_at < now:
        action, event = ACTION_INQUIRY_OVERDUE, events.EVENT_INQUIRY_OVERDUE
    elif inquiry.due_at <= now + INQUIRY_DUE_SOON:
        action, event = ACTION_INQUIRY_DUE_SOON, events.EVENT_INQUIRY_DUE_SOON
    else:
        return None
    due = inquiry.due_at.isoformat()
    if _already_recorded(action=action, target=inquiry, due_at=due):
        return None
    recipients = inquiry_handlers(inquiry)
    _notify(
        recipients=recipients,
        event=event,
        context=_inquiry_context(inquiry),
        link=_inquiry_link(inquiry),
    )
    audit_event_create(
        actor=None,
        actor_username="system",
        action=action,
        target=inquiry,
        changes={"due_at": due, "recipients": [user.username for user in recipients]},
        org_path=inquiry.partner.managing_org.path,
    )
    return action


def deadlines_check(*, now: datetime | None = None) -> dict[str, int]:
    """Hourly (Celery beat): tell staff once about each case whose partner let the
    response deadline pass, and the handling staff once before and once after an
    inquiry's deadline (again after a reopened inquiry's new deadline). Idempotent:
    a second run at the same moment sends nothing. Returns how many were sent."""
    now = now or timezone.now()
    today = local_date(now)
    counts = {"breach_cases_overdue": 0, "inquiries_due_soon": 0, "inquiries_overdue": 0}
    case_ids = list(
        BreachCase.objects.filter(
            status=BreachCase.Status.AWAITING_RESPONSE, response_due__lt=today
        ).values_list("pk", flat=True)
    )
    notified = set(
        AuditEvent.objects.filter(
            action=ACTION_CASE_OVERDUE,
            target_type=BreachCase._meta.label_lower,
            target_id__in=[str(pk) for pk in case_ids],
        ).values_list("target_id", flat=True)
    )
    for case_id in case_ids:
        if str(case_id) not in notified and _case_overdue_notify(case_id=case_id, today=today):
            counts["breach_cases_overdue"] += 1
    inquiry_ids = Inquiry.objects.filter(
        status=Inquiry.Status.OPEN, due_at__lte=now + INQUIRY_DUE_SOON
    ).values_list("pk", flat=True)
    for inquiry_id in list(inquiry_ids):
        action = _inquiry_deadline_notify(inquiry_id=inquiry_id, now=now)
        if action == ACTION_INQUIRY_OVERDUE:
            counts["inquiries_overdue"] += 1
        elif action == ACTION_INQUIRY_DUE_SOON:
            counts["inquiries_due_soon"] += 1
    return counts
