"""The REST API at ``/api/v1/`` (Django Ninja): auth, one error shape, pagination.

Every error is ``{"code", "message", "details"}``. The UI's session (with CSRF) and
systems' bearer tokens (``Authorization: Bearer <token>``) both authenticate.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from prm.core.exceptions import ApplicationError


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any] = {}


class SessionAuth(APIKeyCookie):
    """The UI's signed-in session (CSRF-checked for unsafe methods)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            request.api_token = None
            return user
        return None


class TokenAuth(HttpBearer):
    """An API token of another system; only its SHA-256 is stored (``ApiToken``)."""

    def authenticate(self, request: HttpRequest, token: str):
        from prm.accounts.services import api_token_authenticate

        found = api_token_authenticate(raw_token=token)
        if found is None:
            return None
        request.user = found.user
        request.api_token = found
        return found.user


api = NinjaAPI(
    title="PRM API",
    version="1.0.0",
    description="Partner-operations platform for mobile operators.",
    urls_namespace="api-v1",
    # Token first: a bearer-token call carries no session, so it must not be CSRF-checked.
    auth=[TokenAuth(), SessionAuth()],
)


def error_response(request, *, code: str, message: str, status: int, details=None) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": str(message), "details": details or {}}, status=status
    )


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return error_response(
        request, code=exc.code, message=exc.message, status=exc.status, details=exc.details
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(
        request,
        code="not_authenticated",
        message=_("Sign in or send a valid API token."),
        status=401,
    )


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error_response(
        request,
        code="validation_error",
        message=_("The request is not valid."),
        status=422,
        details={"errors": exc.errors},
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, code="not_found", message=_("Not found."), status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error_response(
        request, code="forbidden", message=_("You do not have permission to do this."), status=403
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(request, code="http_error", message=str(exc), status=exc.status_code)


def require_permission(request: HttpRequest, permission: str, *, scope: str | None = None) -> None:
    """Refuse (403) unless the caller holds ``permission`` and, for a token, ``scope``."""
    token = getattr(request, "api_token", None)
    if token is not None and scope is not None and not token.allows(scope):
        raise ApplicationError(
            "token_scope", _("This API token lacks the scope %(s)s.") % {"s": scope}, status=403
        )
    if not request.user.has_perm(permission):
        raise PermissionDenied


def paginate(queryset: QuerySet, *, response: HttpResponse, offset: int, limit: int) -> QuerySet:
    """Offset/limit pagination; the total goes in ``X-Total-Count``."""
    limit = max(1, min(limit, 500))
    offset = max(0, min(offset, 10_000_000))  # beyond any list; keeps the SQL integer valid
    response["X-Total-Count"] = str(queryset.count())
    return queryset[offset : offset + limit]


def register_routers() -> None:
    """Mount each app's router once (called from ``prm.urls``)."""
    if getattr(api, "_prm_routers_mounted", False):
        return
    from prm.accounts.api import router as accounts_router
    from prm.core.api import router as core_router
    from prm.credit.api import router as credit_router
    from prm.incentives.api import router as incentives_router
    from prm.partners.api import router as partners_router
    from prm.portal.api import router as portal_router

    api.add_router("/accounts/", accounts_router)
    api.add_router("/core/", core_router)
    api.add_router("/partners/", partners_router)
    api.add_router("/portal/", portal_router)
    api.add_router("/incentives/", incentives_router)
    api.add_router("/credit/", credit_router)
    api._prm_routers_mounted = True
