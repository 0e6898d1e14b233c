"""SP service/business codes held by partners (R1 "Business codes"; limit by tier, R3).

- Staff holding ``partners.manage_partner`` assign a code to a partner they see; the
  partner must be active with its new business not suspended
  (:func:`prm.partners.selectors.partner_may_do_new_business`).
- A partner holds at most :func:`prm.partners.selectors.partner_business_code_limit`
  active codes (the credit module's tier entitlement, a default until it exists).
- A code is unique among active codes; a released code may be given out again.
- Release needs a reason; an exit releases every code of the partner.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.partners.models import BusinessCode, Partner
from prm.partners.selectors import partner_business_code_limit, partner_may_do_new_business
from prm.partners.services.agreements import (
    MANAGE_PERMISSION,
    refuse,
    require_permission,
    require_visible,
)

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{1,29}\Z")


def _audit(*, actor, action: str, code: BusinessCode, changes: dict) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=code,
        changes=changes,
        actor_username="system" if actor is None else "",
        org_path=code.partner.managing_org.path,
    )


@transaction.atomic
def business_code_assign(
    *, actor, partner: Partner, code: str, name: str, service_type: str = ""
) -> BusinessCode:
    """Give the partner a business code, within its tier's limit."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, partner)
    code, name, service_type = (code or "").strip(), (name or "").strip(), service_type.strip()
    if not CODE_PATTERN.match(code):
        raise refuse(
            "business_code_invalid",
            _("Use 2 to 30 letters, digits and hyphens for the business code."),
            field="code",
        )
    if not name:
        raise refuse("name_required", _("Enter the business name."), field="name")
    # The partner's row serialises assignments, so two at once cannot pass the limit.
    partner = (
        Partner.objects.select_for_update(of=("self",))
        .select_related("managing_org")
        .get(pk=partner.pk)
    )
    if not partner_may_do_new_business(partner):
        raise refuse(
            "partner_business_suspended",
            _(
                "%(partner)s may not take on new business now (not active, or new business "
                "is suspended)."
            )
            % {"partner": partner},
            status=409,
        )
    limit = partner_business_code_limit(partner)
    held = partner.business_codes.filter(status=BusinessCode.Status.ACTIVE).count()
    if held >= limit:
        raise refuse(
            "business_code_limit",
            _("%(partner)s already holds %(held)s active business codes; its limit is %(limit)s.")
            % {"partner": partner, "held": held, "limit": limit},
            status=409,
            limit=limit,
            held=held,
        )
    if BusinessCode.objects.filter(code=code, status=BusinessCode.Status.ACTIVE).exists():
        raise refuse(
            "business_code_taken",
            _("The business code %(code)s is already in use.") % {"code": code},
            field="code",
            status=409,
        )
    try:
        with transaction.atomic():
            business_code = BusinessCode.objects.create(
                partner=partner, code=code, name=name, service_type=service_type
            )
    except IntegrityError as exc:  # taken by a concurrent assignment
        raise refuse(
            "business_code_taken",
            _("The business code %(code)s is already in use.") % {"code": code},
            field="code",
            status=409,
        ) from exc
    _audit(
        actor=actor,
        action="business_code.assigned",
        code=business_code,
        changes={
            "partner": partner.code,
            "code": code,
            "name": name,
            "service_type": service_type,
            "limit": limit,
        },
    )
    return business_code


def _release(business_code: BusinessCode, *, actor, reason: str) -> None:
    business_code.status = BusinessCode.Status.RELEASED
    business_code.released_at = timezone.now()
    business_code.release_reason = reason[:200]
    business_code.save(update_fields=["status", "released_at", "release_reason", "updated_at"])
    _audit(
        actor=actor,
        action="business_code.released",
        code=business_code,
        changes={
            "status": [BusinessCode.Status.ACTIVE, BusinessCode.Status.RELEASED],
            "reason": business_code.release_reason,
        },
    )


@transaction.atomic
def business_code_release(*, actor, business_code: BusinessCode, reason: str) -> BusinessCode:
    """Take a code back from its partner, with a reason."""
    require_permission(actor, MANAGE_PERMISSION)
    require_visible(actor, business_code.partner)
    reason = (reason or "").strip()
    if not reason:
        raise refuse("reason_required", _("Give a reason for the release."), field="reason")
    business_code = (
        BusinessCode.objects.select_for_update(of=("self",))
        .select_related("partner__managing_org")
        .get(pk=business_code.pk)
    )
    if business_code.status != BusinessCode.Status.ACTIVE:
        raise refuse(
            "business_code_released", _("This business code is already released."), status=409
        )
    _release(business_code, actor=actor, reason=reason)
    return business_code


def business_codes_release_for_exit(*, partner: Partner, actor, reason: str) -> int:
    """Release every active code of an exiting partner (inside the exit's transaction)."""
    codes = (
        BusinessCode.objects.select_for_update(of=("self",))
        .select_related("partner__managing_org")
        .filter(partner=partner, status=BusinessCode.Status.ACTIVE)
        .order_by("pk")
    )
    released = 0
    for business_code in codes:
        _release(business_code, actor=actor, reason=reason)
        released += 1
    return released
