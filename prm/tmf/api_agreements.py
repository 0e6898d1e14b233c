"""TMF651 Agreement Management: ``/tmf-api/agreementManagement/v4/agreement``.

Partners' agreements (the agreement number is the ``id``). Another system may POST a
draft agreement for an active partner and DELETE a draft; the rest of the lifecycle
(countersign, signature, renewal, termination) runs in PRM, so PATCH answers 405.
Reads need ``partners.view_agreement``, writes ``partners.manage_partner``.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from prm.api import require_permission
from prm.core.exceptions import ApplicationError, NotFound
from prm.tmf import selectors, services
from prm.tmf.api import (
    ERRORS,
    READ_SCOPE,
    WRITE_SCOPE,
    base_url,
    hub_register,
    hub_unregister,
    list_response,
    method_not_allowed,
    tmf_response,
)
from prm.tmf.models import HubSubscription
from prm.tmf.resources import agreement_document, project
from prm.tmf.schemas import (
    AgreementCreate,
    AgreementOut,
    AgreementQuery,
    DetailQuery,
    HubIn,
    HubOut,
)

router = Router(tags=["TMF651 agreement"])

VIEW = "partners.view_agreement"
MANAGE = "partners.manage_partner"


@router.get(
    "agreement",
    response={200: list[AgreementOut], **ERRORS},
    url_name="agreement_list",
    operation_id="listAgreement",
    summary="List agreements (filters: id, name, status, agreementType; fields, offset, limit)",
)
def agreement_list(request, query: Query[AgreementQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    agreements = selectors.agreement_list(user=request.user, filters=query.model_dump())
    return list_response(request, agreements, query, agreement_document)


@router.get(
    "agreement/{id}",
    response={200: AgreementOut, **ERRORS},
    url_name="agreement_detail",
    operation_id="retrieveAgreement",
    summary="One agreement (id: the agreement number)",
)
def agreement_detail(request, id: str, query: Query[DetailQuery]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    agreement = selectors.agreement_get_for(user=request.user, number=id)
    return tmf_response(
        project(agreement_document(agreement, base=base_url(request)), query.fields)
    )


@router.post(
    "agreement",
    response={201: AgreementOut, **ERRORS, 409: ERRORS[400]},
    operation_id="createAgreement",
    summary="Create a draft agreement with one partner organisation",
)
def agreement_create(request, payload: AgreementCreate):
    require_permission(request, MANAGE, scope=WRITE_SCOPE)
    party = payload.engagedParty[0]
    try:
        if party.referredType not in (None, "Organization"):
            raise NotFound()
        partner = selectors.organization_get_for(user=request.user, code=party.id)
    except NotFound:
        raise ApplicationError(
            "engaged_party_unknown",
            _("The engaged party must be a partner organisation you manage."),
        ) from None
    agreement = services.agreement_draft_create(
        actor=request.user,
        partner=partner,
        title=payload.name,
        settlement_model=payload.agreementType,
        starts_at=payload.agreementPeriod.startDateTime,
        ends_at=payload.agreementPeriod.endDateTime,
        business_scope=payload.description,
        characteristic=[item.model_dump() for item in payload.characteristic],
    )
    document = agreement_document(agreement, base=base_url(request))
    return tmf_response(document, status=201, headers={"Location": document["href"]})


@router.delete(
    "agreement/{id}",
    response={204: None, **ERRORS, 409: ERRORS[400]},
    operation_id="deleteAgreement",
    summary="Delete a draft agreement",
)
def agreement_delete(request, id: str):
    require_permission(request, MANAGE, scope=WRITE_SCOPE)
    agreement = selectors.agreement_get_for(user=request.user, number=id)
    services.agreement_draft_delete(actor=request.user, agreement=agreement)
    return HttpResponse(status=204)


@router.patch("agreement/{id}", include_in_schema=False)
def agreement_patch(request, id: str):
    return method_not_allowed(request, "agreement")


@router.post(
    "hub",
    response={201: HubOut, **ERRORS},
    operation_id="registerAgreementListener",
    summary="Register a listener of agreement events",
)
def agreement_hub_register(request, payload: HubIn):
    return hub_register(request, api=HubSubscription.Api.AGREEMENT, payload=payload)


@router.delete(
    "hub/{id}",
    response={204: None, **ERRORS},
    operation_id="unregisterAgreementListener",
    summary="Unregister a listener",
)
def agreement_hub_unregister(request, id: str):
    return hub_unregister(request, api=HubSubscription.Api.AGREEMENT, subscription_id=id)
