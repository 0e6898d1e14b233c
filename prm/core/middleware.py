"""Request context for services that record where an action came from (audit IP)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    user_agent: str


_current: ContextVar[RequestContext | None] = ContextVar("prm_request_context", default=None)


def current_request_context() -> RequestContext | None:
    return _current.get()


def client_ip(request) -> str | None:
    # Behind a trusted reverse proxy (PRM_TRUST_X_FORWARDED_FOR=1) take the first hop.
    if getattr(settings, "PRM_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(
            RequestContext(
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
            )
        )
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, ignoring a session cookie that is not a session
    key (Django's keys are lower-case letters and digits): a forged cookie with a NUL
    byte would otherwise reach PostgreSQL and fail the request."""

    def process_request(self, request):
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if key is not None and not _SESSION_KEY.fullmatch(key):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        super().process_request(request)


class NulCharacterGuardMiddleware:
    """Refuse (400) a request whose query string carries a NUL character.

    No PRM field may hold one and PostgreSQL text can neither store nor compare it, so a
    filter such as ``?q=%00`` would otherwise end in a database error (500) on any list.
    The TM Forum API answers in its own error shape and checks its parameters itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/tmf-api/") and _has_nul(request.GET):
            from django.http import HttpResponseBadRequest, JsonResponse
            from django.utils.translation import gettext

            message = gettext("The request contains a NUL character, which no field accepts.")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "invalid_characters", "message": message, "details": {}},
                    status=400,
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _has_nul(query) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in query.lists()
    )
