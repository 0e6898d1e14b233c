"""Partner self-registration API (mounted at /api/v1/partners/): the anonymous progress query."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from prm.api import ErrorOut, error_response
from prm.core.exceptions import ApplicationError
from prm.core.middleware import client_ip
from prm.partners.selectors_registration import registration_status_lookup

router = Router()


class RegistrationStatusOut(Schema):
    status: str
    status_label: str
    submitted_at: datetime | None
    decided_at: datetime | None
    reasons: list[str]


@router.get(
    "/registration-status",
    auth=None,
    response={200: RegistrationStatusOut, 404: ErrorOut, 429: ErrorOut},
    summary="Registration progress (anonymous)",
    description=(
        "R1: the progress of a partner registration for anyone who knows the company "
        "name, the admin account and the admin e-mail (any case). `status` is one of "
        "`draft` (not submitted yet), `under_review`, `rejected` (returned for changes; "
        "`reasons` says why) and `approved`. Any triple that does not match exactly "
        "answers the same 404 `registration_not_found`. Rate-limited per client address "
        "(`PRM_REGISTRATION_STATUS_LIMIT` queries per 10 minutes; then 429 `rate_limited`)."
    ),
)
def registration_status(
    request: HttpRequest, company_name: str = "", admin_username: str = "", admin_email: str = ""
):
    try:
        result = registration_status_lookup(
            company_name=company_name,
            admin_username=admin_username,
            admin_email=admin_email,
            client_ip=client_ip(request),
        )
    except ApplicationError as exc:
        response = error_response(
            request, code=exc.code, message=exc.message, status=exc.status, details=exc.details
        )
        if exc.status == 429:
            response["Retry-After"] = str(exc.details.get("retry_after_seconds", 600))
        return response
    return result
