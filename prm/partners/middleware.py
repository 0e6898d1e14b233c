"""Keeps a registering company on the registration pages (R1: until approved it sees only
the "new partner registration" menu).

A signed-in user whose partner is still an application (draft, under review, returned)
reaches only: the registration pages, sign-out, the password change, the language
switch, the inbox (where the decision arrives), static files, the health check, the
download of a file (the download view itself serves only files of their own
application) and the API (which checks its own permissions). Anything else redirects
to the application page.
"""

from __future__ import annotations

import re

from django.shortcuts import redirect
from django.urls import reverse

# Paths open to applicants whatever the URL configuration.
_FIXED_PREFIXES = ("/static/", "/i18n/", "/jsi18n/", "/healthz", "/api/")
_ATTACHMENT_DOWNLOAD = re.compile(r"^/attachments/[0-9a-fA-F-]{36}/$")
# URL names of the pages an applicant may open (their paths are prefixes).
_OPEN_URL_NAMES = (
    "partners:register",
    "partners:application",
    "partners:registration_status",
    "accounts:logout",
    "accounts:password_change",
    "accounts:login",
    "core:inbox",
    "set_language",
)


class ApplicantGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._prefixes: tuple[str, ...] | None = None

    def _open_prefixes(self) -> tuple[str, ...]:
        if self._prefixes is None:
            self._prefixes = _FIXED_PREFIXES + tuple(reverse(name) for name in _OPEN_URL_NAMES)
        return self._prefixes

    def _is_open(self, path: str) -> bool:
        return path.startswith(self._open_prefixes()) or bool(_ATTACHMENT_DOWNLOAD.match(path))

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not self._is_open(request.path)
            and user.is_partner_user
        ):
            from prm.partners.selectors import partner_of_user

            partner = partner_of_user(user)
            if partner is not None and partner.is_application:
                return redirect("partners:application")
        return self.get_response(request)
