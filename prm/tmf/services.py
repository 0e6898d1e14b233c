"""Writes behind the TM Forum-shaped API: party roles (TMF669) and draft agreements
created by other systems (TMF651), each publishing its hub events.

A partner's own party role (its engagement in its category) is kept in step with the
partner by :func:`party_role_sync_partner` (called from ``prm.tmf.signals``); through
the API only its other attributes change, and it cannot be deleted.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _
from pydantic import ValidationError

from prm.core.audit import audit_event_create
from prm.core.calendar import business_date
from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.models import Attachment, WorkflowInstance
from prm.partners.models import Agreement, Partner
from prm.partners.services.agreements import agreement_create
from prm.tmf.hub import Audience, event_publish
from prm.tmf.models import HubSubscription, PartyRole
from prm.tmf.resources import datetime_text, organization_ref, party_role_document
from prm.tmf.schemas import PartyRoleCreate

# Kept by the server, never taken from a body.
READ_ONLY = ("id", "href", "@type")
COLUMNS = {"name": "name", "status": "status", "statusReason": "status_reason"}
# Attributes of a partner's role that follow the partner (not changeable by the API).
PARTNER_OWNED = ("name", "status", "statusReason", "roleType", "engagedParty", "validFor")
MAX_ATTRIBUTES_BYTES = 64 * 1024


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes a member,
    anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _party_role_body(role: PartyRole) -> dict[str, Any]:
    """The role as a TMF body (what a merge patch applies to)."""
    body: dict[str, Any] = {"name": role.name}
    if role.status:
        body["status"] = role.status
    if role.status_reason:
        body["statusReason"] = role.status_reason
    body.update(role.attributes)
    return body


def _validated(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a whole party role body; ApplicationError (400) if it is not one."""
    try:
        model = PartyRoleCreate.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApplicationError(
            "validation_error",
            _("The party role is not valid: %(where)s: %(message)s")
            % {"where": where, "message": first["msg"]},
        ) from error
    return model.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _split(body: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Columns and the other TMF attributes of a validated body."""
    columns = {column: body.get(key) or "" for key, column in COLUMNS.items()}
    # A null attribute is an absent one (merge patch removes it the same way).
    attributes = {
        key: value
        for key, value in body.items()
        if key not in COLUMNS and key not in READ_ONLY and value is not None
    }
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise ApplicationError(
            "too_large", _("The party role's attributes exceed 64 KB."), status=400
        )
    return columns, attributes


def _role_audience(role: PartyRole) -> Audience:
    return Audience(org_path=role.org.path, partner_id=role.partner_id)


def _publish_role(role: PartyRole, event_type: str, document: dict | None = None) -> None:
    event_publish(
        api=HubSubscription.Api.PARTY_ROLE,
        event_type=event_type,
        resource=document or party_role_document(role),
        audience=_role_audience(role),
    )


def _publish_role_changes(role: PartyRole, *, old_status: str, old_document: dict) -> None:
    document = party_role_document(role)
    if role.status != old_status:
        _publish_role(role, "PartyRoleStateChangeEvent", document)
    other_old = {k: v for k, v in old_document.items() if k != "status"}
    other_new = {k: v for k, v in document.items() if k != "status"}
    if other_old != other_new:
        _publish_role(role, "PartyRoleAttributeValueChangeEvent", document)


@transaction.atomic
def party_role_create(*, actor, body: dict[str, Any]) -> PartyRole:
    """Create a party role sent by another system; it belongs to the actor's org."""
    columns, attributes = _split(_validated(body))
    role = PartyRole.objects.create(org=actor.org, attributes=attributes, **columns)
    audit_event_create(
        actor=actor,
        action="tmf.party_role_created",
        target=role,
        changes={"name": role.name, "status": role.status},
    )
    _publish_role(role, "PartyRoleCreateEvent")
    return role


@transaction.atomic
def party_role_update(*, actor, role: PartyRole, patch: dict[str, Any]) -> PartyRole:
    """Apply a JSON merge patch; the result must still be a valid party role.

    A partner's role refuses (409) changes to what follows the partner.
    """
    role = PartyRole.objects.select_for_update(of=("self",)).select_related("org").get(pk=role.pk)
    before = _party_role_body(role)
    patch = {key: value for key, value in patch.items() if key not in READ_ONLY}
    after = _validated(merge_patch(before, patch))
    if role.partner_id is not None:
        changed = [key for key in PARTNER_OWNED if before.get(key) != after.get(key)]
        if changed:
            raise ApplicationError(
                "partner_owned",
                _("%(attributes)s of a partner's role follow the partner.")
                % {"attributes": ", ".join(changed)},
                status=409,
            )
    columns, attributes = _split(after)
    old_status, old_document = role.status, party_role_document(role)
    changes = {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
    if not changes:
        return role
    for column, value in columns.items():
        setattr(role, column, value)
    role.attributes = attributes
    role.save()
    audit_event_create(actor=actor, action="tmf.party_role_updated", target=role, changes=changes)
    _publish_role_changes(role, old_status=old_status, old_document=old_document)
    return role


@transaction.atomic
def party_role_delete(*, actor, role: PartyRole) -> None:
    """Delete a role created through the API (a partner's role lives with the partner)."""
    role = PartyRole.objects.select_for_update(of=("self",)).select_related("org").get(pk=role.pk)
    if role.partner_id is not None:
        raise ApplicationError(
            "partner_owned",
            _("A partner's role ends with the partner's exit; it cannot be deleted."),
            status=409,
        )
    document = party_role_document(role)
    audience = _role_audience(role)
    audit_event_create(
        actor=actor, action="tmf.party_role_deleted", target=role, changes={"name": role.name}
    )
    role.delete()
    event_publish(
        api=HubSubscription.Api.PARTY_ROLE,
        event_type="PartyRoleDeleteEvent",
        resource=document,
        audience=audience,
    )


def _partner_role_values(partner: Partner) -> dict[str, Any]:
    category = partner.category
    valid_for = {}
    if partner.approved_at:
        valid_for["startDateTime"] = datetime_text(partner.approved_at)
    if partner.exited_at:
        valid_for["endDateTime"] = datetime_text(partner.exited_at)
    engaged = organization_ref(partner)
    engaged.pop("href")  # rendered with the caller's host (resources.party_role_document)
    attributes = {
        "roleType": {"id": category.code, "name": category.name, "@type": "RoleType"},
        "engagedParty": engaged,
    }
    if valid_for:
        attributes["validFor"] = valid_for
    reason = partner.business_suspended_reason if partner.business_suspended else ""
    return {
        "name": category.name,
        "status": partner.status,
        "status_reason": reason[:300],
        "org": partner.managing_org,
        "attributes": attributes,
    }


@transaction.atomic
def party_role_sync_partner(*, partner: Partner) -> PartyRole | None:
    """Create or update the role of an approved partner (its engagement in its category).

    Applications have none. Only the partner-owned attributes are rewritten; the others
    (set through the API) are kept.
    """
    if partner.status in Partner.APPLICATION_STATUSES or not partner.code:
        return None
    values = _partner_role_values(partner)
    role = PartyRole.objects.select_for_update().filter(partner=partner).first()
    if role is None:
        role = PartyRole.objects.create(partner=partner, **values)
        _publish_role(role, "PartyRoleCreateEvent")
        return role
    old_status, old_document = role.status, party_role_document(role)
    owned = values.pop("attributes")
    attributes = {**role.attributes, **owned}
    if "validFor" not in owned:
        attributes.pop("validFor", None)
    unchanged = attributes == role.attributes and all(
        getattr(role, field) == value for field, value in values.items()
    )
    if unchanged:
        return role
    for field, value in values.items():
        setattr(role, field, value)
    role.attributes = attributes
    role.save()
    _publish_role_changes(role, old_status=old_status, old_document=old_document)
    return role


def party_roles_backfill() -> int:
    """Give every approved partner its role (after an import or an upgrade); returns how
    many partners were looked at. Safe to run again."""
    count = 0
    partners = Partner.objects.exclude(status__in=Partner.APPLICATION_STATUSES).exclude(
        code__isnull=True
    )
    for partner in partners.select_related("category", "managing_org").iterator():
        party_role_sync_partner(partner=partner)
        count += 1
    return count


# --- Agreements (TMF651) ---------------------------------------------------------------


def _decimal(value: Any, *, name: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        number = None
    if number is None or not number.is_finite() or not (low < number <= high):
        raise ApplicationError(
            "validation_error",
            _("%(name)s must be a number above %(low)s and at most %(high)s.")
            % {"name": name, "low": low, "high": high},
        )
    return number


def settlement_terms(*, characteristic: list[dict[str, Any]]) -> tuple[Decimal | None, ...]:
    """``revenueSharePercent`` and ``fixedFee`` from TMF characteristics (either may be
    missing; the partners service decides which the settlement model needs)."""
    values = {item["name"]: item.get("value") for item in characteristic}
    percent = fee = None
    if values.get("revenueSharePercent") is not None:
        percent = _decimal(
            values["revenueSharePercent"],
            name="revenueSharePercent",
            low=Decimal("0"),
            high=Decimal("100"),
        )
    if values.get("fixedFee") is not None:
        # Agreement.fixed_fee holds 14 digits, 2 after the point.
        fee = _decimal(
            values["fixedFee"], name="fixedFee", low=Decimal("0"), high=Decimal("999999999999.99")
        )
    return percent, fee


def agreement_draft_create(
    *,
    actor,
    partner: Partner,
    title: str,
    settlement_model: str,
    starts_at: datetime,
    ends_at: datetime,
    business_scope: str,
    characteristic: list[dict[str, Any]],
) -> Agreement:
    """A draft agreement sent by another system (TMF651 POST): the TMF body translated
    for the partners service, which applies the agreement rules (R1)."""
    percent, fee = settlement_terms(characteristic=characteristic)
    return agreement_create(
        actor=actor,
        partner=partner,
        title=title,
        starts_on=business_date(starts_at),
        ends_on=business_date(ends_at),
        business_scope=business_scope,
        settlement_model=settlement_model,
        revenue_share_percent=percent,
        fixed_fee=fee,
    )


@transaction.atomic
def agreement_draft_delete(*, actor, agreement: Agreement) -> None:
    """Delete a draft that never went to countersign and has no attachments (a mistaken
    POST); anything else is a record and stays (409)."""
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if not actor.has_perm("partners.manage_partner"):
        raise Forbidden()
    if agreement.status != Agreement.Status.DRAFT:
        raise ApplicationError(
            "agreement_not_draft",
            _("Only a draft agreement can be deleted; this one is %(status)s.")
            % {"status": agreement.get_status_display()},
            status=409,
        )
    content_type = ContentType.objects.get_for_model(Agreement)
    has_history = (
        WorkflowInstance.objects.filter(
            target_type=content_type, target_id=str(agreement.pk)
        ).exists()
        or Attachment.objects.filter(owner_type=content_type, owner_id=str(agreement.pk)).exists()
    )
    if has_history:
        raise ApplicationError(
            "agreement_has_history",
            _("This draft has been through countersign or has attachments; terminate it instead."),
            status=409,
        )
    audit_event_create(
        actor=actor,
        action="agreement.deleted",
        target=agreement,
        changes={"number": agreement.number, "source": "tmf-api"},
    )
    agreement.delete()
