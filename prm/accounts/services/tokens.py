"""API tokens for other systems (R0): created once, hashed at rest, scoped, expiring."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import ApiToken, User
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError


@transaction.atomic
def api_token_create(
    *,
    actor: User | None,
    user: User,
    label: str,
    scopes: Iterable[str] = ("*",),
    expires_days: int = 90,
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns the row and the raw token (shown once).

    Only the SHA-256 of the token is stored, so the raw token cannot be shown again.
    """
    label = (label or "").strip()
    if not label or len(label) > 100:
        raise ApplicationError(
            "token_label_invalid", _("Give the token a label of 1 to 100 characters.")
        )
    scopes = sorted({scope.strip() for scope in scopes if scope and scope.strip()}) or ["*"]
    if expires_days < 1 or expires_days > 3650:
        raise ApplicationError("token_expiry_invalid", _("A token must expire in 1 to 3650 days."))
    if not user.is_active:
        raise ApplicationError("user_inactive", _("The user is disabled."))
    prefix = secrets.token_hex(4)
    raw = f"prm_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        label=label,
        prefix=prefix,
        token_hash=ApiToken.hash_token(raw),
        scopes=scopes,
        expires_at=timezone.now() + timedelta(days=expires_days),
        created_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="api_token.created",
        target=token,
        changes={
            "user": user.username,
            "label": label,
            "scopes": token.scopes,
            "expires_at": token.expires_at.isoformat(),
        },
        actor_username="cli" if actor is None else "",
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    """Revoke a token at once; calls made with it are refused (401) from now on."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ApplicationError("token_already_revoked", _("The token is already revoked."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="api_token.revoked",
        target=token,
        changes={"revoked_at": token.revoked_at.isoformat()},
        actor_username="cli" if actor is None else "",
    )
    return token


def api_token_authenticate(*, raw_token: str) -> ApiToken | None:
    """The valid (unexpired, unrevoked, active user) token matching ``raw_token``, if any."""
    if not raw_token.startswith("prm_"):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__org")
        .filter(token_hash=ApiToken.hash_token(raw_token))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_valid(now):
        return None
    # Touch at most once a minute: a busy integration should not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_list(*, username: str | None = None) -> QuerySet[ApiToken]:
    """All tokens (optionally of one user), newest first, for the ``prm tokens`` CLI.

    Unscoped on purpose: the CLI is run by whoever operates the server. UI and API
    listings must go through a scoped selector instead.
    """
    tokens = ApiToken.objects.select_related("user")
    if username:
        tokens = tokens.filter(user__username=username)
    return tokens
