"""TMF documents of PRM objects: plain dicts built from rows, no queries of their own
beyond the related rows the selectors already joined.

``base`` is the scheme and host put before each ``href`` (``""`` gives hrefs relative to
the server root, as in hub events, which have no request).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from prm.partners.models import Agreement, Partner

# Attributes every projection keeps (TMF630 ``fields=``).
ALWAYS_KEPT = frozenset({"id", "href", "@type"})

# Partner lifecycle → TMF632 OrganizationStateType.
ORGANIZATION_STATUS = {
    Partner.Status.ACTIVE: "validated",
    Partner.Status.EXITING: "validated",
    Partner.Status.EXITED: "closed",
}


def href(kind: str, resource_id: str, *, base: str = "") -> str:
    """``kind`` is ``party_role``, ``organization`` or ``agreement``."""
    return base + reverse(f"tmf:{kind}_detail", kwargs={"id": resource_id})


def datetime_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day_start(day: date) -> str:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone()).isoformat()


def _day_end(day: date) -> str:
    moment = datetime.combine(day, time(23, 59, 59), tzinfo=timezone.get_default_timezone())
    return moment.isoformat()


def project(document: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """TMF630 attribute selection: ``fields=name,status`` keeps those (and id, href, @type);
    a dotted name keeps its top-level attribute."""
    if not fields:
        return document
    wanted = {name.strip().split(".")[0] for name in fields.split(",")} | ALWAYS_KEPT
    return {key: value for key, value in document.items() if key in wanted}


def organization_ref(partner: Partner, *, base: str = "") -> dict[str, Any]:
    return {
        "id": partner.code,
        "href": href("organization", partner.code, base=base),
        "name": partner.company_name,
        "@referredType": "Organization",
    }


def party_role_document(role, *, base: str = "") -> dict[str, Any]:
    """TMF669 PartyRole. The stored attributes pass through; a partner's role points its
    ``engagedParty`` at the partner's organisation."""
    document: dict[str, Any] = {
        "id": str(role.pk),
        "href": href("party_role", str(role.pk), base=base),
        "name": role.name,
    }
    if role.status:
        document["status"] = role.status
    if role.status_reason:
        document["statusReason"] = role.status_reason
    document.update(role.attributes)
    # The conformance kit expects roleType on every instance, even an empty one.
    document.setdefault("roleType", {})
    engaged = document.get("engagedParty")
    if role.partner_id and isinstance(engaged, dict) and engaged.get("id"):
        document["engagedParty"] = {
            **engaged,
            "href": href("organization", engaged["id"], base=base),
        }
    document["@type"] = "PartyRole"
    return document


def organization_document(partner: Partner, *, base: str = "") -> dict[str, Any]:
    """TMF632 Organization of an approved partner (applications are not organisations)."""
    contact_medium = []
    if partner.contact_phone:
        contact_medium.append(
            {
                "mediumType": "phone",
                "preferred": True,
                "characteristic": {"contactType": "work", "phoneNumber": partner.contact_phone},
            }
        )
    if partner.admin_email:
        contact_medium.append(
            {
                "mediumType": "email",
                "preferred": False,
                "characteristic": {"contactType": "work", "emailAddress": partner.admin_email},
            }
        )
    if partner.address:
        contact_medium.append(
            {
                "mediumType": "postalAddress",
                "preferred": False,
                "characteristic": {"contactType": "registered", "street1": partner.address},
            }
        )
    characteristic = [{"name": "partnerStatus", "value": partner.status}]
    if partner.legal_representative:
        characteristic.append(
            {"name": "legalRepresentative", "value": partner.legal_representative}
        )
    if partner.registered_capital is not None:
        characteristic.append(
            {"name": "registeredCapital", "value": str(partner.registered_capital)}
        )
    if partner.tier:
        characteristic.append({"name": "tier", "value": partner.tier})
    characteristic.append({"name": "businessSuspended", "value": partner.business_suspended})
    existence: dict[str, str | None] = {}
    if partner.approved_at:
        existence["startDateTime"] = datetime_text(partner.approved_at)
    if partner.exited_at:
        existence["endDateTime"] = datetime_text(partner.exited_at)
    document: dict[str, Any] = {
        "id": partner.code,
        "href": href("organization", partner.code, base=base),
        "name": partner.company_name,
        "tradingName": partner.company_name,
        "isLegalEntity": True,
        "status": ORGANIZATION_STATUS.get(partner.status, "initialized"),
        "organizationType": partner.category.code,
        "organizationIdentification": [],
        "contactMedium": contact_medium,
        "partyCharacteristic": characteristic,
        "existsDuring": existence,
        "@type": "Organization",
    }
    if partner.uscc:
        document["organizationIdentification"].append(
            {
                "identificationType": "USCC",
                "identificationId": partner.uscc,
                "@type": "OrganizationIdentification",
            }
        )
    return document


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def agreement_document(agreement: Agreement, *, base: str = "") -> dict[str, Any]:
    """TMF651 Agreement: ``agreementType`` is the settlement model, the share and the fee
    are characteristics."""
    characteristic = []
    if agreement.revenue_share_percent is not None:
        characteristic.append(
            {
                "name": "revenueSharePercent",
                "value": _decimal_text(agreement.revenue_share_percent),
                "valueType": "decimal",
            }
        )
    if agreement.fixed_fee is not None:
        characteristic.append(
            {
                "name": "fixedFee",
                "value": _decimal_text(agreement.fixed_fee),
                "valueType": "decimal",
            }
        )
    partner = agreement.partner
    engaged = [{**organization_ref(partner, base=base), "role": "partner"}] if partner.code else []
    document: dict[str, Any] = {
        "id": agreement.number,
        "href": href("agreement", agreement.number, base=base),
        "name": agreement.title,
        "description": agreement.business_scope,
        "status": agreement.status,
        "agreementType": agreement.settlement_model,
        "agreementPeriod": {
            "startDateTime": _day_start(agreement.starts_on),
            "endDateTime": _day_end(agreement.ends_on),
        },
        "initialDate": datetime_text(agreement.created_at),
        "engagedParty": engaged,
        "characteristic": characteristic,
        "@type": "Agreement",
    }
    if agreement.signed_on:
        document["completionDate"] = _day_start(agreement.signed_on)
    return document
