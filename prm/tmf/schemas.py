"""Request and response shapes of the TM Forum-shaped API (TMF630 conventions).

Attribute names are TMF's (camelCase). Inputs are pydantic models shared by the API
handlers (which validate the body sent) and the services (which validate a party role
again after a merge patch). Outputs document the OpenAPI only: handlers return plain
dicts so that ``fields=`` projection and stored TMF attributes pass through unchanged.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# A body deeper than this is refused; no TMF resource nests anywhere near it.
MAX_DEPTH = 32


def json_problem(value: Any) -> str | None:
    """Why ``value`` (decoded JSON) cannot be stored, or ``None``.

    PostgreSQL refuses NUL characters in text and JSON, and non-finite numbers are not
    JSON; both would otherwise fail at the database (a server error) instead of a 400.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "nested too deeply"
        if isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "contains a number that is not finite"
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in str(key):
                    return "contains a NUL character"
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


class TmfIn(BaseModel):
    """Base of every TMF input: refuses what the database cannot hold. (A plain pydantic
    model: ninja's Schema would hand the validator its attribute getter, not the data.)"""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = json_problem(data)
        if problem:
            raise ValueError(f"The value {problem}.")
        return data


class TimePeriod(TmfIn):
    startDateTime: AwareDatetime | None = None
    endDateTime: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimePeriod:
        start, end = self.startDateTime, self.endDateTime
        if start is not None and end is not None and end < start:
            raise ValueError("endDateTime is before startDateTime.")
        return self


Ref = dict[str, Any]


class PartyRoleCreate(TmfIn):
    """TMF669 PartyRole_Create. Attributes not listed are kept as sent."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(..., min_length=1, max_length=200)
    status: str | None = Field(None, max_length=40)
    statusReason: str | None = Field(None, max_length=300)
    roleType: Ref | None = None
    engagedParty: Ref | None = None
    partyRoleSpecification: Ref | None = None
    validFor: TimePeriod | None = None
    characteristic: list[Ref] | None = None
    contactMedium: list[Ref] | None = None
    account: list[Ref] | None = None
    agreement: list[Ref] | None = None
    relatedParty: list[Ref] | None = None
    paymentMethod: list[Ref] | None = None
    creditProfile: list[Ref] | None = None


class PartyRolePatch(TmfIn):
    """A JSON merge patch (RFC 7386) of a party role: ``null`` removes an attribute."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(None, min_length=1, max_length=200)
    status: str | None = Field(None, max_length=40)
    statusReason: str | None = Field(None, max_length=300)
    roleType: Ref | None = None
    engagedParty: Ref | None = None
    partyRoleSpecification: Ref | None = None
    validFor: TimePeriod | None = None
    characteristic: list[Ref] | None = None
    contactMedium: list[Ref] | None = None
    account: list[Ref] | None = None
    agreement: list[Ref] | None = None
    relatedParty: list[Ref] | None = None
    paymentMethod: list[Ref] | None = None
    creditProfile: list[Ref] | None = None


class OrganizationRef(TmfIn):
    id: str = Field(..., min_length=1, max_length=20, description="Partner code")
    name: str | None = None
    href: str | None = None
    role: str | None = None
    referredType: str | None = Field(None, alias="@referredType")


class Characteristic(TmfIn):
    name: str = Field(..., min_length=1, max_length=100)
    value: Any = None
    valueType: str | None = None


class AgreementPeriod(TmfIn):
    startDateTime: AwareDatetime
    endDateTime: AwareDatetime


class AgreementCreate(TmfIn):
    """TMF651 Agreement_Create for a draft agreement with one partner organisation.

    ``characteristic`` carries ``revenueSharePercent`` and/or ``fixedFee`` as the
    settlement model needs them.
    """

    name: str = Field(..., min_length=1, max_length=200)
    agreementType: Literal["revenue_share", "fixed_fee", "mixed"]
    description: str = Field(..., min_length=1, max_length=5000, description="Business scope")
    agreementPeriod: AgreementPeriod
    engagedParty: list[OrganizationRef] = Field(..., min_length=1, max_length=1)
    characteristic: list[Characteristic] = Field(default_factory=list, max_length=20)


class HubIn(TmfIn):
    """TMF630 EventSubscriptionInput."""

    callback: str = Field(..., min_length=1, max_length=500)
    query: str | None = Field(None, max_length=500)


class ListQuery(TmfIn):
    """TMF630 query conventions common to every collection."""

    fields: str | None = Field(
        None, max_length=500, description="Comma list of attributes to return"
    )
    offset: int = Field(0, ge=0, le=1_000_000_000)
    limit: int = Field(100, ge=1, le=1000)


class PartyRoleQuery(ListQuery):
    id: str | None = Field(None, max_length=2000, description="Comma list: any of")
    name: str | None = Field(None, max_length=200)
    status: str | None = Field(None, max_length=400, description="Comma list: any of")


class OrganizationQuery(ListQuery):
    id: str | None = Field(None, max_length=2000, description="Comma list of partner codes")
    name: str | None = Field(None, max_length=200)
    tradingName: str | None = Field(None, max_length=200)
    status: str | None = Field(None, max_length=100, description="validated, closed")
    organizationType: str | None = Field(
        None, max_length=400, description="Partner category code (comma list: any of)"
    )


class AgreementQuery(ListQuery):
    id: str | None = Field(None, max_length=2000, description="Comma list of numbers")
    name: str | None = Field(None, max_length=200)
    status: str | None = Field(None, max_length=400, description="Comma list: any of")
    agreementType: str | None = Field(None, max_length=100)


class DetailQuery(TmfIn):
    fields: str | None = Field(
        None, max_length=500, description="Comma list of attributes to return"
    )


# --- Outputs (documentation of the OpenAPI; ``fields=`` may leave any out but id, href, @type)


class TmfOut(Schema):
    model_config = ConfigDict(extra="allow")

    id: str
    href: str
    type: str = Field(..., alias="@type")


class PartyRoleOut(TmfOut):
    name: str | None = None
    status: str | None = None
    statusReason: str | None = None
    roleType: Ref | None = None
    engagedParty: Ref | None = None


class OrganizationOut(TmfOut):
    name: str | None = None
    tradingName: str | None = None
    status: str | None = None
    organizationType: str | None = None
    organizationIdentification: list[Ref] | None = None
    contactMedium: list[Ref] | None = None


class AgreementOut(TmfOut):
    name: str | None = None
    status: str | None = None
    agreementType: str | None = None
    agreementPeriod: Ref | None = None
    engagedParty: list[Ref] | None = None
    characteristic: list[Ref] | None = None


class HubOut(Schema):
    id: str
    callback: str
    query: str | None = None
    secret: str = Field(..., description="Key of the X-PRM-Signature HMAC; shown only here")


class TmfError(Schema):
    code: str
    reason: str
    message: str
    status: str
    type: str = Field("Error", alias="@type")
