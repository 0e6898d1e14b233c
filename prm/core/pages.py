"""What every server-rendered page view shares: the sign-in + permission decorator that
turns the selectors' and services' refusals into 404/403, the htmx-partial test, and the
query string of a filtered list without its page number (for pagination links)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from prm.core.exceptions import Forbidden, NotFound


def page(permission: str | None = None):
    """Signed in and holding ``permission`` (if given); ``NotFound`` and ``Forbidden``
    raised by selectors and services become 404 and 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if permission is not None and not request.user.has_perm(permission):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404 from exc
            except Forbidden as exc:
                raise PermissionDenied from exc

        return wrapped

    return decorator


def is_htmx_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (not a boosted navigation to a full page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
