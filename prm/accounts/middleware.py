"""Account guard (R0 4A): forces the change of an initial password and TOTP enrolment
where required, and tells a user whose session has expired why they must sign in again."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

EXEMPT_PREFIXES = (
    "/static/",
    "/i18n/",
    "/jsi18n/",
    "/healthz",
    "/accounts/logout",
    "/accounts/login",
    "/media/",
)


class AccountGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None:
            return self.get_response(request)
        if not user.is_authenticated:
            self._note_expired_session(request)
        elif not request.path.startswith(EXEMPT_PREFIXES):
            from prm.accounts.selectors import user_pending_requirement

            requirement = user_pending_requirement(user=user)
            if requirement is not None:
                target = reverse(requirement)
                if request.path != target:
                    if request.path.startswith("/api/"):
                        return JsonResponse(
                            {
                                "code": "account_action_required",
                                "message": _(
                                    "Change your password or set up two-factor sign-in first."
                                ),
                                "details": {"location": target},
                            },
                            status=403,
                        )
                    return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _note_expired_session(request) -> None:
        """A browser that still sends a session cookie whose session is gone (expired,
        or ended because the password changed elsewhere) hears why it must sign in.

        Only on page loads (GET): a sign-in POST with a stale cookie needs no message.
        The cookie is dropped by the session middleware on this response, so the
        message is shown once.
        """
        if (
            request.method == "GET"
            and settings.SESSION_COOKIE_NAME in request.COOKIES
            and not request.path.startswith(("/api/", *EXEMPT_PREFIXES[:4]))
            and request.session.is_empty()
        ):
            messages.warning(request, _("Your session has expired. Please sign in again."))
