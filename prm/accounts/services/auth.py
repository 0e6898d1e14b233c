"""Sign-in, lockout, sign-out, password change and TOTP (R0 4A: authentication).

Every attempt is recorded (``LoginAttempt``) and every security-relevant outcome is in
the audit log. A refused sign-in still writes its attempt and audit event, so these
services finish their transaction first and raise the ``ApplicationError`` afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from prm.accounts.models import LoginAttempt, User
from prm.accounts.totp import totp_code_verify
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError
from prm.core.middleware import client_ip

# Where the half-finished sign-in of a TOTP user waits for its code, and for how long.
TOTP_PENDING_SESSION_KEY = "prm_totp_pending"
TOTP_PENDING_SECONDS = 300


@dataclass(frozen=True)
class TotpPending:
    """The password was right but the user has TOTP on: ``auth_login_totp`` finishes."""

    username: str


def _invalid_credentials() -> ApplicationError:
    # One message for unknown usernames, wrong passwords and disabled users: the page
    # must not tell an attacker which usernames exist (R0 4A).
    return ApplicationError(
        "invalid_credentials", _("The username or password is not correct."), status=401
    )


def _account_locked(locked_until: datetime) -> ApplicationError:
    return ApplicationError(
        "account_locked",
        _("The account is locked after repeated failed sign-ins; try again after %(time)s.")
        % {"time": timezone.localtime(locked_until).strftime("%H:%M")},
        details={"locked_until": locked_until.isoformat()},
        status=403,
    )


def _lockout_window() -> timedelta:
    return timedelta(minutes=settings.PRM_LOCKOUT_WINDOW_MINUTES)


def _attempt_record(*, request: HttpRequest | None, username: str, is_success: bool) -> None:
    LoginAttempt.objects.create(
        username=username,
        ip_address=client_ip(request) if request is not None else None,
        is_success=is_success,
    )


def _recent_failure_count(*, user: User, now: datetime) -> int:
    """Failures counted by the lockout rule: within the window, and only since the last
    success and since the end of the last lock (an expired lock starts a fresh count)."""
    since = now - _lockout_window()
    if user.locked_until is not None and since < user.locked_until <= now:
        since = user.locked_until
    last_success = (
        LoginAttempt.objects.filter(username=user.username, is_success=True, created_at__gt=since)
        .values_list("created_at", flat=True)
        .first()
    )
    if last_success is not None:
        since = last_success
    return LoginAttempt.objects.filter(
        username=user.username, is_success=False, created_at__gt=since
    ).count()


def _failure_record(
    *, request: HttpRequest | None, username: str, user: User | None, reason: str
) -> datetime | None:
    """Record a failed attempt; lock ``user`` (locked row) when it reaches the limit.

    Returns the new ``locked_until`` when this failure locked the account.
    """
    now = timezone.now()
    _attempt_record(request=request, username=username, is_success=False)
    audit_event_create(
        actor=None,
        actor_username=username,
        action="auth.login_failed",
        target=user,
        org_path=user.org.path if user is not None else "",
        changes={"reason": reason},
    )
    if user is None:
        return None
    if _recent_failure_count(user=user, now=now) < settings.PRM_LOCKOUT_FAILURES:
        return None
    old = user.locked_until
    user.locked_until = now + _lockout_window()
    user.save(update_fields=["locked_until", "updated_at"])
    audit_event_create(
        actor=None,
        actor_username=username,
        action="auth.account_locked",
        target=user,
        org_path=user.org.path,
        changes={"locked_until": [old, user.locked_until.isoformat()]},
    )
    return user.locked_until


def _locked_refusal_record(*, request: HttpRequest | None, user: User) -> ApplicationError:
    _attempt_record(request=request, username=user.username, is_success=False)
    audit_event_create(
        actor=None,
        actor_username=user.username,
        action="auth.login_locked",
        target=user,
        org_path=user.org.path,
        changes={"locked_until": user.locked_until.isoformat()},
    )
    return _account_locked(user.locked_until)


def _success_record(*, request: HttpRequest, user: User, second_factor: bool) -> None:
    changes: dict = {"second_factor": second_factor}
    if user.locked_until is not None:
        # The lock has run out: clear it so the console no longer shows the user locked.
        changes["locked_until"] = [user.locked_until.isoformat(), None]
        user.locked_until = None
        user.save(update_fields=["locked_until", "updated_at"])
    _attempt_record(request=request, username=user.username, is_success=True)
    audit_event_create(actor=user, action="auth.login", target=user, changes=changes)
    django_login(request, user)


def auth_login(*, request: HttpRequest, username: str, password: str) -> User | TotpPending:
    """Sign a user in with username and password (R0 4A: authentication).

    Lockout rule: ``PRM_LOCKOUT_FAILURES`` failures for a username within
    ``PRM_LOCKOUT_WINDOW_MINUTES`` lock the account for that window; a locked account is
    refused even with the right password. Unknown usernames, wrong passwords and
    disabled users get one generic error. Users with TOTP on get a ``TotpPending`` and
    are signed in only by ``auth_login_totp``.
    """
    username = (username or "").strip()[:150]
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is not None and user.is_active and user.is_locked(now):
            error = _locked_refusal_record(request=request, user=user)
        else:
            authenticated = authenticate(request, username=username, password=password)
            if authenticated is not None and authenticated.totp_enabled:
                request.session[TOTP_PENDING_SESSION_KEY] = {
                    "user_id": authenticated.pk,
                    "auth_hash": authenticated.get_session_auth_hash(),
                    "started": time.time(),
                }
                return TotpPending(username=authenticated.username)
            if authenticated is not None:
                _success_record(request=request, user=authenticated, second_factor=False)
                return authenticated
            if user is None:
                reason = "unknown_user"
            elif not user.is_active:
                reason = "user_disabled"
            else:
                reason = "wrong_password"
            locked_until = _failure_record(
                request=request,
                username=username,
                user=user if reason == "wrong_password" else None,
                reason=reason,
            )
            error = _account_locked(locked_until) if locked_until else _invalid_credentials()
    raise error


def auth_login_pending(*, request: HttpRequest) -> bool:
    """Whether this session holds a password-checked sign-in waiting for its TOTP code."""
    pending = request.session.get(TOTP_PENDING_SESSION_KEY)
    return bool(pending) and time.time() - pending.get("started", 0) <= TOTP_PENDING_SECONDS


def auth_login_totp(*, request: HttpRequest, code: str) -> User:
    """Finish the sign-in of a TOTP user with the code from their authenticator app.

    A wrong code counts as a failed sign-in toward the lockout rule.
    """
    if not auth_login_pending(request=request):
        request.session.pop(TOTP_PENDING_SESSION_KEY, None)
        raise ApplicationError(
            "login_expired",
            _("The sign-in has timed out. Enter your username and password again."),
            status=401,
        )
    pending = request.session[TOTP_PENDING_SESSION_KEY]
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=pending["user_id"]).first()
        if (
            user is None
            or not user.is_active
            or not constant_time_compare(pending["auth_hash"], user.get_session_auth_hash())
        ):
            # Disabled or password changed since the first step: start again.
            request.session.pop(TOTP_PENDING_SESSION_KEY, None)
            error = _invalid_credentials()
        elif user.is_locked(now):
            request.session.pop(TOTP_PENDING_SESSION_KEY, None)
            error = _locked_refusal_record(request=request, user=user)
        elif totp_code_verify(secret=user.totp_secret, code=code):
            request.session.pop(TOTP_PENDING_SESSION_KEY, None)
            _success_record(request=request, user=user, second_factor=True)
            return user
        else:
            locked_until = _failure_record(
                request=request, username=user.username, user=user, reason="wrong_totp_code"
            )
            if locked_until:
                request.session.pop(TOTP_PENDING_SESSION_KEY, None)
                error = _account_locked(locked_until)
            else:
                error = ApplicationError(
                    "totp_code_invalid",
                    _("The code is not correct. Check the time on your phone and try again."),
                    status=401,
                )
    raise error


@transaction.atomic
def auth_logout(*, request: HttpRequest) -> None:
    """Sign the current user out and end the session."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        audit_event_create(actor=user, action="auth.logout", target=user)
    django_logout(request)


def user_password_change(
    *, request: HttpRequest | None, user: User, old_password: str, new_password: str
) -> User:
    """Change one's own password (R0 password policy).

    The current password must be given; the new one must pass
    ``AUTH_PASSWORD_VALIDATORS`` and differ from the old one. Clears the forced change
    of an initial password and keeps the current session signed in.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.check_password(old_password):
            audit_event_create(
                actor=user,
                action="auth.password_change_failed",
                target=user,
                changes={"reason": "wrong_old_password"},
            )
            error = ApplicationError(
                "password_incorrect",
                _("Your current password is not correct."),
                details={"field": "old_password"},
            )
        elif new_password == old_password:
            error = ApplicationError(
                "password_unchanged",
                _("The new password must differ from the current one."),
                details={"field": "new_password1"},
            )
        else:
            try:
                validate_password(new_password, user)
            except ValidationError as exc:
                error = ApplicationError(
                    "password_invalid",
                    " ".join(exc.messages),
                    details={
                        "field": "new_password1",
                        "codes": [item.code for item in exc.error_list],
                        "messages": exc.messages,
                    },
                )
            else:
                was_forced = user.must_change_password
                user.set_password(new_password)
                user.must_change_password = False
                user.password_changed_at = timezone.now()
                user.save(
                    update_fields=[
                        "password",
                        "must_change_password",
                        "password_changed_at",
                        "updated_at",
                    ]
                )
                audit_event_create(
                    actor=user,
                    action="auth.password_changed",
                    target=user,
                    changes={"must_change_password": [was_forced, False]},
                )
                if request is not None:
                    update_session_auth_hash(request, user)
                return user
    raise error


@transaction.atomic
def user_totp_enable(*, user: User, secret: str, code: str) -> User:
    """Turn on the TOTP second factor once the user proves their app holds ``secret``."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.totp_enabled:
        raise ApplicationError(
            "totp_already_enabled", _("Two-factor sign-in is already on."), status=409
        )
    if not secret or not totp_code_verify(secret=secret, code=code):
        raise ApplicationError(
            "totp_code_invalid",
            _("The code is not correct. Check the time on your phone and try again."),
        )
    user.totp_secret = secret
    user.totp_confirmed_at = timezone.now()
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "updated_at"])
    audit_event_create(
        actor=user,
        action="auth.totp_enabled",
        target=user,
        changes={"totp_confirmed_at": [None, user.totp_confirmed_at.isoformat()]},
    )
    return user


@transaction.atomic
def user_totp_disable(*, user: User, code: str) -> User:
    """Turn off the TOTP second factor with a current code. System admins may not while
    ``PRM_TOTP_REQUIRED_FOR_ADMINS`` is on (R0: TOTP for operator staff)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.totp_enabled:
        raise ApplicationError("totp_not_enabled", _("Two-factor sign-in is not on."), status=409)
    if settings.PRM_TOTP_REQUIRED_FOR_ADMINS and user.has_role("system_admin"):
        raise ApplicationError(
            "totp_required",
            _("System administrators must keep two-factor sign-in on."),
            status=403,
        )
    if not totp_code_verify(secret=user.totp_secret, code=code):
        raise ApplicationError(
            "totp_code_invalid",
            _("The code is not correct. Check the time on your phone and try again."),
        )
    old = user.totp_confirmed_at
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "updated_at"])
    audit_event_create(
        actor=user,
        action="auth.totp_disabled",
        target=user,
        changes={"totp_confirmed_at": [old.isoformat(), None]},
    )
    return user
