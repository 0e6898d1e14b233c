"""Scoped reads of agreements, business codes, exits and the blacklist.

Operator staff see the rows of the partners managed in their org subtree, a partner's
users those of their own partner (:func:`prm.partners.selectors.partners_visible`);
approvers also see the documents they hold a task on. Anything else is "not found".
The blacklist is one list for the whole operator (a USCC is refused everywhere), read by
operator staff only.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from prm.core.exceptions import NotFound
from prm.core.workflow import workflow_target_ids_for
from prm.partners.constants import AGREEMENT_WORKFLOW, EXIT_WORKFLOW
from prm.partners.models import Agreement, BlacklistEntry, BusinessCode, ExitCase, Partner
from prm.partners.selectors import partners_visible


def _filter_text(value) -> str:
    return str(value or "").strip()


def agreement_list(*, user, filters: dict | None = None) -> QuerySet[Agreement]:
    """Agreements of the partners the user sees. ``filters``: ``partner`` (a Partner),
    ``status``, ``q`` (number, title or company name contains)."""
    filters = filters or {}
    queryset = Agreement.objects.select_related("partner", "partner__managing_org").filter(
        partner__in=partners_visible(user)
    )
    if filters.get("partner") is not None:
        queryset = queryset.filter(partner=filters["partner"])
    if filters.get("status") in Agreement.Status.values:
        queryset = queryset.filter(status=filters["status"])
    text = _filter_text(filters.get("q"))
    if text:
        queryset = queryset.filter(
            Q(number__icontains=text)
            | Q(title__icontains=text)
            | Q(partner__company_name__icontains=text)
        )
    return queryset.order_by("-created_at", "-pk")


def agreement_get_for(*, user, number: str) -> Agreement:
    """One agreement the user sees (or approves), else :class:`NotFound`."""
    queryset = Agreement.objects.select_related(
        "partner", "partner__managing_org", "partner__org", "created_by", "renews"
    ).filter(number=number)
    agreement = queryset.filter(partner__in=partners_visible(user)).first()
    if agreement is None and getattr(user, "is_authenticated", False) and user.is_active:
        ids = workflow_target_ids_for(user=user, definition_code=AGREEMENT_WORKFLOW)
        agreement = queryset.filter(pk__in=[int(pk) for pk in ids if pk.isdigit()]).first()
    if agreement is None:
        raise NotFound()
    return agreement


def business_code_list(*, user, filters: dict | None = None) -> QuerySet[BusinessCode]:
    """Business codes of the partners the user sees; ``filters``: ``partner``,
    ``status``, ``q`` (code or name contains)."""
    filters = filters or {}
    queryset = BusinessCode.objects.select_related("partner").filter(
        partner__in=partners_visible(user)
    )
    if filters.get("partner") is not None:
        queryset = queryset.filter(partner=filters["partner"])
    if filters.get("status") in BusinessCode.Status.values:
        queryset = queryset.filter(status=filters["status"])
    text = _filter_text(filters.get("q"))
    if text:
        queryset = queryset.filter(Q(code__icontains=text) | Q(name__icontains=text))
    return queryset.order_by("partner__company_name", "code", "-pk")


def business_code_get_for(*, user, code: str) -> BusinessCode:
    """The active business code ``code`` if the user sees its partner."""
    business_code = (
        business_code_list(user=user)
        .filter(code=code, status=BusinessCode.Status.ACTIVE)
        .select_related("partner__managing_org")
        .first()
    )
    if business_code is None:
        raise NotFound()
    return business_code


def business_code_counts(*, partner: Partner) -> int:
    """How many active codes the partner holds (for the limit shown next to the list)."""
    return partner.business_codes.filter(status=BusinessCode.Status.ACTIVE).count()


def exit_case_list(*, user, filters: dict | None = None) -> QuerySet[ExitCase]:
    """Exit cases of the partners the user sees; ``filters``: ``partner``, ``status``,
    ``kind``."""
    filters = filters or {}
    queryset = ExitCase.objects.select_related("partner", "requested_by").filter(
        partner__in=partners_visible(user)
    )
    if filters.get("partner") is not None:
        queryset = queryset.filter(partner=filters["partner"])
    if filters.get("status") in ExitCase.Status.values:
        queryset = queryset.filter(status=filters["status"])
    if filters.get("kind") in ExitCase.Kind.values:
        queryset = queryset.filter(kind=filters["kind"])
    return queryset.order_by("-created_at", "-pk")


def exit_case_get_for(*, user, number: str) -> ExitCase:
    queryset = ExitCase.objects.select_related(
        "partner", "partner__managing_org", "requested_by"
    ).filter(number=number)
    case = queryset.filter(partner__in=partners_visible(user)).first()
    if case is None and getattr(user, "is_authenticated", False) and user.is_active:
        ids = workflow_target_ids_for(user=user, definition_code=EXIT_WORKFLOW)
        case = queryset.filter(pk__in=[int(pk) for pk in ids if pk.isdigit()]).first()
    if case is None:
        raise NotFound()
    return case


def blacklist_list(*, user, filters: dict | None = None) -> QuerySet[BlacklistEntry]:
    """The blacklist, for operator staff (none for partner users or anonymous)."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not user.is_active
        or user.is_partner_user
    ):
        return BlacklistEntry.objects.none()
    queryset = BlacklistEntry.objects.select_related(
        "partner", "partner__managing_org", "created_by", "created_by__org"
    )
    text = _filter_text((filters or {}).get("q"))
    if text:
        queryset = queryset.filter(Q(uscc__icontains=text) | Q(company_name__icontains=text))
    return queryset.order_by("-created_at", "-pk")


def blacklist_entry_get_for(*, user, uscc: str) -> BlacklistEntry:
    entry = blacklist_list(user=user).filter(uscc=uscc).first()
    if entry is None:
        raise NotFound()
    return entry


def blacklist_entry_for_uscc(uscc: str) -> BlacklistEntry | None:
    """The blacklist entry of a USCC, if any: registration refuses such a company (R1)."""
    uscc = (uscc or "").strip().upper()
    if not uscc:
        return None
    return BlacklistEntry.objects.filter(uscc=uscc).first()
