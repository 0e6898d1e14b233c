"""Scoped reads of breach investigations (违约调查) and partner inquiries (R2).

Who sees what:

- a partner's users see the cases and inquiries of their own partner only;
- operator staff see a case when their org subtree contains the org that opened it or
  the partner's managing org, and an inquiry when it contains the partner's managing
  org (the partners they see, ``partners_visible``).

Anything else is "not found" (404), never "forbidden", so that its existence does not leak.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from prm.core.calendar import business_date as local_date
from prm.core.calendar import end_of_day
from prm.core.exceptions import NotFound
from prm.core.scoping import scope_org_ids
from prm.partners.models import Partner
from prm.partners.selectors import partner_of_user, partners_visible
from prm.portal.models import BreachCase, BreachResponse, Inquiry

# An open inquiry is "due soon" this long before its deadline (staff get one reminder).
INQUIRY_DUE_SOON = timedelta(hours=24)


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


# Breach cases ----------------------------------------------------------------------------


def breach_case_list(*, user) -> QuerySet[BreachCase]:
    """Every breach case the user may see (no permission check: views and services do)."""
    queryset = BreachCase.objects.select_related(
        "partner", "partner__managing_org", "org", "opened_by", "decided_by"
    )
    if not _signed_in(user):
        return queryset.none()
    if user.is_partner_user:
        partner = partner_of_user(user)
        return queryset.filter(partner=partner) if partner else queryset.none()
    org_ids = scope_org_ids(user=user)
    return queryset.filter(Q(org_id__in=org_ids) | Q(partner__managing_org_id__in=org_ids))


def breach_case_list_filtered(*, user, filters: dict | None = None) -> QuerySet[BreachCase]:
    """``filters``: ``status``, ``q`` (number, partner name or code, business),
    ``awaiting_decision`` (responded, or no response and past the deadline)."""
    cases = breach_case_list(user=user)
    filters = filters or {}
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("q"):
        text = filters["q"].strip()
        cases = cases.filter(
            Q(number__icontains=text)
            | Q(partner__company_name__icontains=text)
            | Q(partner__code__icontains=text)
            | Q(business__icontains=text)
        )
    if filters.get("awaiting_decision"):
        cases = cases.filter(breach_case_awaiting_decision_q())
    return cases


def breach_case_awaiting_decision_q(now: datetime | None = None) -> Q:
    """Cases staff may decide now: the partner responded, or its deadline passed."""
    return Q(status=BreachCase.Status.RESPONDED) | Q(
        status=BreachCase.Status.AWAITING_RESPONSE, response_due__lt=local_date(now)
    )


def breach_case_get(*, user, number: str) -> BreachCase:
    """One visible case by number, or :class:`NotFound`."""
    case = breach_case_list(user=user).filter(number=number).first()
    if case is None:
        raise NotFound()
    return case


def breach_case_response_deadline(case: BreachCase) -> datetime:
    """The last moment the partner may respond: the end of ``response_due`` (local time)."""
    return end_of_day(case.response_due)


def breach_case_accepts_responses(case: BreachCase, *, now: datetime | None = None) -> bool:
    """Whether the partner may still respond: not decided, and not after the due date."""
    return (
        case.status in (BreachCase.Status.AWAITING_RESPONSE, BreachCase.Status.RESPONDED)
        and local_date(now) <= case.response_due
    )


def breach_case_decidable(case: BreachCase, *, now: datetime | None = None) -> bool:
    """Whether staff may decide: the partner responded, or its deadline passed."""
    if case.status == BreachCase.Status.RESPONDED:
        return True
    return case.status == BreachCase.Status.AWAITING_RESPONSE and local_date(now) > (
        case.response_due
    )


def breach_case_is_overdue(case: BreachCase, *, now: datetime | None = None) -> bool:
    """No response and the deadline passed."""
    return case.status == BreachCase.Status.AWAITING_RESPONSE and local_date(now) > (
        case.response_due
    )


def breach_case_may_view(user) -> bool:
    return _signed_in(user) and (
        user.has_perm("portal.view_breachcase") or user.has_perm("portal.manage_breachcase")
    )


def breach_case_visible(user) -> QuerySet[BreachCase]:
    """The cases whose attachments the user may download (scope and permission)."""
    if not breach_case_may_view(user):
        return BreachCase.objects.none()
    return breach_case_list(user=user)


def breach_response_visible(user) -> QuerySet[BreachResponse]:
    """The responses (and so their evidence) the user may see."""
    return BreachResponse.objects.filter(case__in=breach_case_visible(user))


def breach_response_list(*, case: BreachCase) -> QuerySet[BreachResponse]:
    """A case's responses, oldest first (call with a case from a scoped selector)."""
    return case.responses.select_related("author").order_by("created_at", "pk")


def breach_case_partner_choices(*, user) -> QuerySet[Partner]:
    """Active partners the staff user may open a case about."""
    if not _signed_in(user) or user.is_partner_user:
        return Partner.objects.none()
    return partners_visible(user).filter(status=Partner.Status.ACTIVE).order_by("company_name")


# Inquiries -------------------------------------------------------------------------------


def inquiry_list(*, user) -> QuerySet[Inquiry]:
    """Every inquiry the user may see (no permission check: views and services do)."""
    queryset = Inquiry.objects.select_related(
        "partner", "partner__managing_org", "author", "answered_by"
    )
    if not _signed_in(user):
        return queryset.none()
    if user.is_partner_user:
        partner = partner_of_user(user)
        return queryset.filter(partner=partner) if partner else queryset.none()
    return queryset.filter(partner__managing_org__path__startswith=user.scope_path)


def inquiry_overdue_q(now: datetime | None = None) -> Q:
    return Q(status=Inquiry.Status.OPEN, due_at__lt=now or timezone.now())


def inquiry_list_filtered(*, user, filters: dict | None = None) -> QuerySet[Inquiry]:
    """``filters``: ``status``, ``topic``, ``q`` (number, subject, partner), ``overdue``."""
    inquiries = inquiry_list(user=user)
    filters = filters or {}
    if filters.get("status"):
        inquiries = inquiries.filter(status=filters["status"])
    if filters.get("topic"):
        inquiries = inquiries.filter(topic=filters["topic"])
    if filters.get("q"):
        text = filters["q"].strip()
        inquiries = inquiries.filter(
            Q(number__icontains=text)
            | Q(subject__icontains=text)
            | Q(partner__company_name__icontains=text)
            | Q(partner__code__icontains=text)
        )
    if filters.get("overdue"):
        inquiries = inquiries.filter(inquiry_overdue_q())
    return inquiries


def inquiry_get(*, user, number: str) -> Inquiry:
    inquiry = inquiry_list(user=user).filter(number=number).first()
    if inquiry is None:
        raise NotFound()
    return inquiry


def inquiry_is_overdue(inquiry: Inquiry, *, now: datetime | None = None) -> bool:
    return inquiry.status == Inquiry.Status.OPEN and inquiry.due_at < (now or timezone.now())


def inquiry_overdue_count(*, user, now: datetime | None = None) -> int:
    """Open inquiries past their deadline that the user answers (the staff badge)."""
    if not _signed_in(user) or user.is_partner_user:
        return 0
    if not user.has_perm("portal.answer_inquiry"):
        return 0
    return inquiry_list(user=user).filter(inquiry_overdue_q(now)).count()


def inquiry_visible(user) -> QuerySet[Inquiry]:
    """The inquiries whose attachments the user may download."""
    if not _signed_in(user) or not (
        user.has_perm("portal.view_inquiry") or user.has_perm("portal.answer_inquiry")
    ):
        return Inquiry.objects.none()
    return inquiry_list(user=user)


# Recipients ------------------------------------------------------------------------------


def _ancestor_paths(path: str) -> list[str]:
    """``/1/4/9/`` → ``["/1/4/9/", "/1/4/", "/1/"]`` (nearest first)."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(len(parts), 0, -1)]


def staff_nearest_with_permission(*, org_path: str, permission: str) -> list:
    """Active operator users holding ``permission`` at the nearest node on the way up
    from ``org_path`` that has any (the node itself first). Used to tell "the staff in
    charge" without messaging everybody up to HQ."""
    user_model = get_user_model()
    paths = _ancestor_paths(org_path)
    if not paths:
        return []
    candidates = list(
        user_model.objects.with_perm(permission, include_superusers=False)
        .filter(is_active=True, org__path__in=paths)
        .select_related("org")
    )
    for path in paths:
        found = [user for user in candidates if user.org.path == path]
        if found:
            return sorted(found, key=lambda user: user.username)
    return []


def breach_case_staff_recipients(case: BreachCase) -> list:
    """Staff told about a case's progress: whoever opened it and the partner's manager;
    the case managers nearest to the opening org when neither is active."""
    people = [
        user
        for user in (case.opened_by, case.partner.manager)
        if user is not None and user.is_active
    ]
    if not people:
        people = staff_nearest_with_permission(
            org_path=case.org.path, permission="portal.manage_breachcase"
        )
    return people


def inquiry_handlers(inquiry: Inquiry) -> list:
    """Staff who answer the inquiry: holders of ``portal.answer_inquiry`` at the nearest
    node at or above the partner's managing org, and the partner's manager if they hold
    it; plus whoever answered it before (a reopened inquiry)."""
    partner = inquiry.partner
    people = staff_nearest_with_permission(
        org_path=partner.managing_org.path, permission="portal.answer_inquiry"
    )
    for extra in (partner.manager, inquiry.answered_by):
        if (
            extra is not None
            and extra.is_active
            and extra.has_perm("portal.answer_inquiry")
            and all(user.pk != extra.pk for user in people)
        ):
            people.append(extra)
    return people


# The conversation of an inquiry ----------------------------------------------------------

INQUIRY_THREAD_ACTIONS = {
    "inquiry.created": "body",
    "inquiry.answered": "answer",
    "inquiry.reopened": "comment",
    "inquiry.closed": None,
}


def inquiry_thread(inquiry: Inquiry) -> list[dict]:
    """The question, answers, follow-ups and closing of an inquiry, oldest first.

    The inquiry row holds the question and the latest answer; earlier answers and the
    partner's follow-ups live in the append-only audit log, which is read back here.
    """
    from prm.core.models import AuditEvent

    events = (
        AuditEvent.objects.filter(
            target_type=Inquiry._meta.label_lower,
            target_id=str(inquiry.pk),
            action__in=list(INQUIRY_THREAD_ACTIONS),
        )
        .select_related("actor", "actor__org")
        .order_by("created_at", "pk")
    )
    thread = []
    for event in events:
        key = INQUIRY_THREAD_ACTIONS[event.action]
        thread.append(
            {
                "kind": event.action.split(".", 1)[1],
                "author": event.actor,
                "author_name": event.actor.display_name if event.actor else event.actor_username,
                "at": event.created_at,
                "text": (event.changes or {}).get(key, "") if key else "",
                "is_staff": bool(event.actor and not event.actor.is_partner_user),
            }
        )
    return thread
