"""TMF669 Party Role Management: ``/tmf-api/partyRoleManagement/v4/``.

A party role is a partner's engagement in its category (kept in step with the partner)
or a role another system created here. Reads need ``tmf.view_partyrole``, writes
``tmf.manage_partyrole``.
"""

from __future__ import annotations

from django.http import HttpResponse
from ninja import Query, Router

from prm.api import require_permission
from prm.tmf import selectors, services
from prm.tmf.api import (
    ERRORS,
    READ_SCOPE,
    WRITE_SCOPE,
    base_url,
    hub_register,
    hub_unregister,
    list_response,
    tmf_response,
)
from prm.tmf.models import HubSubscription
from prm.tmf.resources import party_role_document, project
from prm.tmf.schemas import (
    DetailQuery,
    HubIn,
    HubOut,
    PartyRoleCreate,
    PartyRoleOut,
    PartyRolePatch,
    PartyRoleQuery,
)

router = Router(tags=["TMF669 partyRole"])

VIEW = "tmf.view_partyrole"
MANAGE = "tmf.manage_partyrole"
# The same merge-patch body under its own media type.
MERGE_PATCH_BODY = {
    "requestBody": {
        "content": {
            "application/merge-patch+json": {
                "schema": {"$ref": "#/components/schemas/PartyRolePatch"}
            }
        }
    }
}


@router.get(
    "partyRole",
    response={200: list[PartyRoleOut], **ERRORS},
    url_name="party_role_list",
    operation_id="listPartyRole",
    summary="List party roles (filters: id, name, status; fields, offset, limit)",
)
def party_role_list(request, query: Query[PartyRoleQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    roles = selectors.party_role_list(user=request.user, filters=query.model_dump())
    return list_response(request, roles, query, party_role_document)


@router.get(
    "partyRole/{id}",
    response={200: PartyRoleOut, **ERRORS},
    url_name="party_role_detail",
    operation_id="retrievePartyRole",
    summary="One party role",
)
def party_role_detail(request, id: str, query: Query[DetailQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    role = selectors.party_role_get_for(user=request.user, role_id=id)
    return tmf_response(project(party_role_document(role, base=base_url(request)), query.fields))


@router.post(
    "partyRole",
    response={201: PartyRoleOut, **ERRORS},
    operation_id="createPartyRole",
    summary="Create a party role (it belongs to the caller's org)",
)
def party_role_create(request, payload: PartyRoleCreate):
    require_permission(request, MANAGE, scope=WRITE_SCOPE)
    role = services.party_role_create(
        actor=request.user,
        body=payload.model_dump(mode="json", exclude_unset=True, by_alias=True),
    )
    document = party_role_document(role, base=base_url(request))
    return tmf_response(document, status=201, headers={"Location": document["href"]})


@router.patch(
    "partyRole/{id}",
    response={200: PartyRoleOut, **ERRORS, 409: ERRORS[400]},
    operation_id="patchPartyRole",
    summary="Change a party role (JSON merge patch: null removes an attribute)",
    openapi_extra=MERGE_PATCH_BODY,
)
def party_role_patch(request, id: str, payload: PartyRolePatch):
    require_permission(request, MANAGE, scope=WRITE_SCOPE)
    role = selectors.party_role_get_for(user=request.user, role_id=id)
    role = services.party_role_update(
        actor=request.user,
        role=role,
        patch=payload.model_dump(mode="json", exclude_unset=True, by_alias=True),
    )
    return tmf_response(party_role_document(role, base=base_url(request)))


@router.delete(
    "partyRole/{id}",
    response={204: None, **ERRORS, 409: ERRORS[400]},
    operation_id="deletePartyRole",
    summary="Delete a party role created through the API",
)
def party_role_delete(request, id: str):
    require_permission(request, MANAGE, scope=WRITE_SCOPE)
    role = selectors.party_role_get_for(user=request.user, role_id=id)
    services.party_role_delete(actor=request.user, role=role)
    return HttpResponse(status=204)


@router.post(
    "hub",
    response={201: HubOut, **ERRORS},
    operation_id="registerPartyRoleListener",
    summary="Register a listener of party role events",
)
def party_role_hub_register(request, payload: HubIn):
    return hub_register(request, api=HubSubscription.Api.PARTY_ROLE, payload=payload)


@router.delete(
    "hub/{id}",
    response={204: None, **ERRORS},
    operation_id="unregisterPartyRoleListener",
    summary="Unregister a listener",
)
def party_role_hub_unregister(request, id: str):
    return hub_unregister(request, api=HubSubscription.Api.PARTY_ROLE, subscription_id=id)
