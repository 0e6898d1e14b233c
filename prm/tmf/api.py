"""The TM Forum-shaped API at ``/tmf-api/`` (its own NinjaAPI and OpenAPI document).

TMF630 conventions for every resource: ``id``, ``href``, ``@type``; ``fields=``
projection; attribute filters; ``offset``/``limit`` with ``X-Total-Count`` and
``X-Result-Count``; POST 201, PATCH 200 (JSON merge patch), DELETE 204; every error is
the TMF ``Error`` body ``{code, reason, message, status, @type}``. Callers authenticate
with an API token (``Authorization: Bearer …``, token scopes ``tmf.read`` /
``tmf.write``) or the UI's session. See docs/tmf-api.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from prm.api import SessionAuth, TokenAuth, require_permission
from prm.core.exceptions import ApplicationError
from prm.tmf import hub, selectors
from prm.tmf.resources import project
from prm.tmf.schemas import HubIn, ListQuery, TmfError

READ_SCOPE = "tmf.read"
WRITE_SCOPE = "tmf.write"
ERRORS = {400: TmfError, 401: TmfError, 403: TmfError, 404: TmfError}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
}


class TmfParser(Parser):
    """JSON bodies only: ``application/json`` or any ``…+json`` (merge patch)."""

    def parse_body(self, request: HttpRequest):
        media_type = (request.content_type or "").lower()
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise ValueError(f"unsupported media type {media_type}")
        return json.loads(request.body)


tmf_api = NinjaAPI(
    title="PRM TM Forum API",
    version="4.0.0",
    description=(
        "TM Forum-shaped party role (TMF669), organisation (TMF632) and agreement "
        "(TMF651) resources with event hubs. Conventions: TMF630."
    ),
    urls_namespace="tmf",
    # The token first: a bearer request is not a browser's, so it skips the CSRF check
    # the session authenticator makes on unsafe methods.
    auth=[TokenAuth(), SessionAuth()],
    parser=TmfParser(),
)


def tmf_error(
    request: HttpRequest, *, status: int, code: str, message: Any, headers=None
) -> HttpResponse:
    response = JsonResponse(
        {
            "code": code,
            "reason": REASONS.get(status, "Error"),
            "message": str(message),
            "status": str(status),
            "@type": "Error",
        },
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@tmf_api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return tmf_error(request, status=exc.status, code=exc.code, message=exc.message)


@tmf_api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return tmf_error(
        request,
        status=401,
        code="not_authenticated",
        message=_("Sign in or send a valid API token."),
        headers={"WWW-Authenticate": "Bearer"},
    )


@tmf_api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    # loc is (source, parameter, …): ("body", "payload", "name") or ("query", "limit").
    location = [str(part) for part in first.get("loc", ()) if part != "payload"]
    message = _("The request is not valid: %(where)s: %(message)s") % {
        "where": ".".join(location) or "body",
        "message": first.get("msg", ""),
    }
    return tmf_error(request, status=400, code="validation_error", message=message)


@tmf_api.exception_handler(Http404)
def _not_found(request, exc):
    return tmf_error(request, status=404, code="not_found", message=_("Not found."))


@tmf_api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return tmf_error(
        request,
        status=403,
        code="forbidden",
        message=_("You do not have permission to do this."),
    )


@tmf_api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # Ninja raises a 400 for a body that is not JSON, a 403 for a failed CSRF check.
    code = {400: "malformed_body", 403: "csrf_failed"}.get(exc.status_code, "http_error")
    return tmf_error(request, status=exc.status_code, code=code, message=str(exc))


def base_url(request: HttpRequest) -> str:
    """Scheme and host of this request, put before every ``href``."""
    return request.build_absolute_uri("/").rstrip("/")


def tmf_response(data: Any, *, status: int = 200, headers=None) -> HttpResponse:
    response = JsonResponse(
        data, status=status, safe=False, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def list_response(
    request: HttpRequest,
    queryset: QuerySet,
    query: ListQuery,
    document: Callable[..., dict[str, Any]],
) -> HttpResponse:
    """One page of a collection: ``X-Total-Count`` (all matches) and ``X-Result-Count``
    (this page)."""
    total = queryset.count()
    page = list(queryset[query.offset : query.offset + query.limit])
    base = base_url(request)
    documents = [project(document(item, base=base), query.fields) for item in page]
    return tmf_response(
        documents, headers={"X-Total-Count": str(total), "X-Result-Count": str(len(documents))}
    )


def method_not_allowed(request: HttpRequest, resource: str) -> HttpResponse:
    return tmf_error(
        request,
        status=405,
        code="method_not_allowed",
        message=_("%(method)s is not supported on %(resource)s.")
        % {"method": request.method, "resource": resource},
    )


def hub_register(request: HttpRequest, *, api: str, payload: HubIn) -> HttpResponse:
    """``POST …/hub`` of ``api``: needs the permission to read that API's resources."""
    require_permission(request, hub.API_PERMISSIONS[api], scope=READ_SCOPE)
    subscription, secret = hub.hub_subscription_create(
        actor=request.user, api=api, callback=payload.callback, query=payload.query
    )
    body = {
        "id": str(subscription.pk),
        "callback": subscription.callback,
        "query": subscription.query or None,
        "secret": secret,
        "@type": "EventSubscription",
    }
    return tmf_response(body, status=201)


def hub_unregister(request: HttpRequest, *, api: str, subscription_id: str) -> HttpResponse:
    require_permission(request, hub.API_PERMISSIONS[api], scope=READ_SCOPE)
    subscription = selectors.hub_subscription_get_for(
        user=request.user, api=api, subscription_id=subscription_id
    )
    hub.hub_subscription_delete(actor=request.user, subscription=subscription)
    return HttpResponse(status=204)


def register_routers() -> None:
    """Mount the three resource APIs once (called from ``prm.tmf.urls``)."""
    if getattr(tmf_api, "_prm_routers_mounted", False):
        return
    from prm.tmf.api_agreements import router as agreements_router
    from prm.tmf.api_organizations import router as organizations_router
    from prm.tmf.api_party_roles import router as party_roles_router

    tmf_api.add_router("/partyRoleManagement/v4/", party_roles_router)
    tmf_api.add_router("/party/v4/", organizations_router)
    tmf_api.add_router("/agreementManagement/v4/", agreements_router)
    tmf_api._prm_routers_mounted = True
