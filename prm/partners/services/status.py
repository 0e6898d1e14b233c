"""Partner-wide flags other modules set through services (not the models)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from prm.core.audit import audit_event_create
from prm.partners.models import Partner


@transaction.atomic
def partner_business_suspend_until(*, partner_id: int, until: date, reason: str, actor) -> Partner:
    """Suspend new business with the partner until ``until`` (inclusive) — a penalty of
    an upheld breach case (R2). A longer running suspension is kept."""
    partner = Partner.objects.select_for_update().get(pk=partner_id)
    old = partner.business_suspended_until
    if old is not None and old >= until:
        return partner
    partner.business_suspended_until = until
    partner.save(update_fields=["business_suspended_until", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.business_suspended",
        target=partner,
        changes={
            "business_suspended_until": [str(old) if old else None, str(until)],
            "reason": reason,
        },
        org_path=partner.managing_org.path,
    )
    return partner
