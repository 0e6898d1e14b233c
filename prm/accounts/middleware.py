"""Forces the password change of an initial password and TOTP enrolment where required."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

EXEMPT_PREFIXES = (
    "/static/",
    "/i18n/",
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
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
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
