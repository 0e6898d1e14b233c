"""TMF632 Party Management, organisations: ``/tmf-api/party/v4/organization``.

Approved partners as organisations, read-only: the partner code is the ``id`` and the
USCC is in ``organizationIdentification``; applications are not organisations. A
partner's data changes only through its change requests (R1), so POST, PATCH and
DELETE answer 405. Reads need ``partners.view_partner``.
"""

from __future__ import annotations

from ninja import Query, Router

from prm.api import require_permission
from prm.tmf import selectors
from prm.tmf.api import (
    ERRORS,
    READ_SCOPE,
    base_url,
    hub_register,
    hub_unregister,
    list_response,
    method_not_allowed,
    tmf_response,
)
from prm.tmf.models import HubSubscription
from prm.tmf.resources import organization_document, project
from prm.tmf.schemas import DetailQuery, HubIn, HubOut, OrganizationOut, OrganizationQuery

router = Router(tags=["TMF632 organization"])

VIEW = "partners.view_partner"


@router.get(
    "organization",
    response={200: list[OrganizationOut], **ERRORS},
    url_name="organization_list",
    operation_id="listOrganization",
    summary="List partner organisations (filters: id, name, tradingName, status, "
    "organizationType; fields, offset, limit)",
)
def organization_list(request, query: Query[OrganizationQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    partners = selectors.organization_list(user=request.user, filters=query.model_dump())
    return list_response(request, partners, query, organization_document)


@router.get(
    "organization/{id}",
    response={200: OrganizationOut, **ERRORS},
    url_name="organization_detail",
    operation_id="retrieveOrganization",
    summary="One partner organisation (id: the partner code)",
)
def organization_detail(request, id: str, query: Query[DetailQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    partner = selectors.organization_get_for(user=request.user, code=id)
    return tmf_response(
        project(organization_document(partner, base=base_url(request)), query.fields)
    )


@router.post("organization", include_in_schema=False)
def organization_create(request):
    return method_not_allowed(request, "organization")


@router.api_operation(["PATCH", "DELETE"], "organization/{id}", include_in_schema=False)
def organization_change(request, id: str):
    return method_not_allowed(request, "organization")


@router.post(
    "hub",
    response={201: HubOut, **ERRORS},
    operation_id="registerOrganizationListener",
    summary="Register a listener of organisation events",
)
def organization_hub_register(request, payload: HubIn):
    return hub_register(request, api=HubSubscription.Api.ORGANIZATION, payload=payload)


@router.delete(
    "hub/{id}",
    response={204: None, **ERRORS},
    operation_id="unregisterOrganizationListener",
    summary="Unregister a listener",
)
def organization_hub_unregister(request, id: str):
    return hub_unregister(request, api=HubSubscription.Api.ORGANIZATION, subscription_id=id)
