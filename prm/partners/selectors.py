"""Scoped reads of partners (DESIGN: a view never queries a model directly).

Operator staff see the partners managed in their org subtree (``managing_org``);
a partner's users see only their own partner. Other apps call these selectors (and
:func:`partner_may_do_new_business`, :func:`partner_business_code_limit`) rather than
the models.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_org
from prm.partners.models import Partner, PartnerCategory

# Business codes a partner may hold until the credit module (R3) gives tier entitlements.
DEFAULT_BUSINESS_CODE_LIMIT = 5


def partner_of_user(user) -> Partner | None:
    """The partner a partner user belongs to (its root partner org), else ``None``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.is_partner_user:
        return None
    cached = getattr(user, "_prm_partner", False)
    if cached is not False:
        return cached
    org = user.org
    root_id = org.ancestor_ids[0] if org.parent_id is not None else org.pk
    partner = (
        Partner.objects.select_related("category", "org", "managing_org")
        .filter(org_id=root_id)
        .first()
    )
    user._prm_partner = partner
    return partner


def partners_visible(user) -> QuerySet[Partner]:
    """Every partner (and application) the user may see."""
    queryset = Partner.objects.select_related("category", "managing_org", "org")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_partner_user:
        partner = partner_of_user(user)
        return queryset.filter(pk=partner.pk) if partner else queryset.none()
    return scope_by_org(queryset, user=user, org_field="managing_org")


def partner_get_for(*, user, pk) -> Partner:
    """One visible partner by primary key, or :class:`NotFound` (never a 403 that would
    tell another partner's id exists)."""
    try:
        partner = partners_visible(user).filter(pk=pk).first()
    except (TypeError, ValueError):
        partner = None
    if partner is None:
        raise NotFound()
    return partner


def partner_by_code_for(*, user, code: str) -> Partner:
    partner = partners_visible(user).filter(code=code).first()
    if partner is None:
        raise NotFound()
    return partner


def partner_categories(*, active_only: bool = True) -> QuerySet[PartnerCategory]:
    queryset = PartnerCategory.objects.all()
    return queryset.filter(is_active=True) if active_only else queryset


def partner_admin_users(partner: Partner) -> list:
    """Who speaks for a partner (its reminders, decisions, cases): its registered admin
    account and every active user of its tree holding the partner-admin role."""
    users = list(
        get_user_model()
        .objects.filter(
            is_active=True,
            org__path__startswith=partner.org.path,
            groups__role__code="partner_admin",
        )
        .distinct()
        .order_by("username")
    )
    admin = partner.admin_user
    if admin is not None and admin.is_active and all(user.pk != admin.pk for user in users):
        users.insert(0, admin)
    return users


def partner_may_do_new_business(partner: Partner, *, today: date | None = None) -> bool:
    """Whether other modules may start new business with the partner: active, no expired
    mandatory qualification (R1), no breach penalty suspension running (R2)."""
    if partner.status != Partner.Status.ACTIVE or partner.business_suspended:
        return False
    until = partner.business_suspended_until
    return until is None or until < (today or timezone.localdate())


def partner_business_code_limit(partner: Partner) -> int:
    """How many active business codes the partner may hold (R1/R3).

    Reads the credit module's tier entitlements when that module is installed; until
    then every partner has :data:`DEFAULT_BUSINESS_CODE_LIMIT`.
    """
    try:
        from prm.credit.selectors import entitlements_for  # type: ignore[import-not-found]
    except ImportError:
        return DEFAULT_BUSINESS_CODE_LIMIT
    return entitlements_for(partner).max_business_codes
