"""Selectors other modules use (R3): a partner's current entitlements and tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from prm.credit.models import TierEntitlement, Violation

# A partner that has never been evaluated counts as ``ordinary``.
UNEVALUATED_TIER = "ordinary"
# "No violations" for the review shortcut: none determined in this many days.
SHORTCUT_CLEAN_DAYS = 365


@dataclass(frozen=True)
class Entitlements:
    tier: str
    may_apply_resources: bool
    max_business_codes: int
    # The tier's review shortcut, and no violation of the partner was determined in the
    # last :data:`SHORTCUT_CLEAN_DAYS` days: new business goes straight to testing.
    review_shortcut: bool


def entitlements_for(partner) -> Entitlements:
    """What ``partner`` may do now, from its current tier (``Partner.tier``) and the
    configured :class:`TierEntitlement` rows. One or two queries."""
    tier = partner.tier or UNEVALUATED_TIER
    row = TierEntitlement.objects.filter(tier=tier).first()
    if row is None:  # an operator deleted the row: the most restrictive reading
        return Entitlements(tier, False, 0, False)
    since = timezone.localdate() - timedelta(days=SHORTCUT_CLEAN_DAYS)
    shortcut = (
        row.review_shortcut
        and not Violation.objects.filter(partner=partner, determined_on__gt=since).exists()
    )
    return Entitlements(tier, row.may_apply_resources, row.max_business_codes, shortcut)
