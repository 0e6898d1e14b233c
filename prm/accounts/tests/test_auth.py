"""Sign-in, lockout, sign-out, forced password change, TOTP and session expiry (R0 4A)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyotp
import pytest
import time_machine
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client, RequestFactory

from prm.accounts.models import LoginAttempt, User
from prm.accounts.services import auth_login, user_totp_enable
from prm.accounts.tests.factories import DEFAULT_PASSWORD
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
LOGIN = "/accounts/login/"
LOGIN_TOTP = "/accounts/login/totp/"
GENERIC_ERROR = "The username or password is not correct."


@pytest.fixture(autouse=True)
def _english_and_fast_hashing(settings):
    settings.LANGUAGE_CODE = "en"
    # argon2 is slow on purpose; test_passwords_are_hashed_with_argon2 covers it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def login(client, username: str, password: str = DEFAULT_PASSWORD, next: str = "", **extra):
    data = {"username": username, "password": password}
    if next:
        data["next"] = next
    return client.post(LOGIN, data, **extra)


def signed_in_username(client) -> str | None:
    response = client.get("/api/v1/accounts/me")
    return response.json()["username"] if response.status_code == 200 else None


def audit_actions(**filters) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


def service_request():
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.1.2.3")
    SessionMiddleware(lambda r: None).process_request(request)
    return request


def failed_login_at(moment: datetime, username: str = "alice") -> ApplicationError:
    """Sign in with a wrong password at ``moment``; the refusal raised."""
    with time_machine.travel(moment, tick=False), pytest.raises(ApplicationError) as error:
        auth_login(request=service_request(), username=username, password="bad")
    return error.value


def enable_totp(user: User) -> str:
    secret = pyotp.random_base32()
    user_totp_enable(user=user, secret=secret, code=pyotp.TOTP(secret).now())
    return secret


def test_passwords_are_hashed_with_argon2(orgs, make_user, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

    alice = make_user(org=orgs.city_a, username="alice")

    assert alice.password.startswith("argon2$argon2id$")
    assert DEFAULT_PASSWORD not in alice.password


# --- login page ------------------------------------------------------------------------


def test_login_page_shows_the_form_to_anonymous(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="id_username"' in content
    assert 'id="id_password"' in content
    assert 'data-testid="login-submit"' in content
    assert 'data-testid="login-error"' not in content


def test_login_with_right_password_signs_in_and_records_it(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")

    response = login(client, "alice", REMOTE_ADDR="10.0.0.7")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_username(client) == "alice"
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.is_success, attempt.ip_address) == ("alice", True, "10.0.0.7")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == alice
    assert event.changes == {"second_factor": False}


def test_login_follows_a_local_next_url_only(client, orgs, make_user):
    make_user(org=orgs.city_a, username="alice")

    local = login(client, "alice", next="/inbox/")
    client.post("/accounts/logout/")
    foreign = login(client, "alice", next="https://evil.example.com/")

    assert local["Location"] == "/inbox/"
    assert foreign["Location"] == "/"


def test_signed_in_user_opening_login_goes_home(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a))

    response = client.get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("_case", "typed_username", "password", "reason"),
    [
        ("wrong password", "alice", "Wrong-Passw0rd!", "wrong_password"),
        ("unknown username", "nobody", DEFAULT_PASSWORD, "unknown_user"),
        ("disabled user, right password", "bob", DEFAULT_PASSWORD, "user_disabled"),
    ],
)
def test_failed_login_gives_one_generic_error_and_is_audited(
    client, orgs, make_user, _case, typed_username, password, reason
):
    make_user(org=orgs.city_a, username="alice")
    bob = make_user(org=orgs.city_a, username="bob")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    events_before = AuditEvent.objects.count()

    response = login(client, typed_username, password)

    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
    assert 'data-testid="login-error"' in response.content.decode()
    assert signed_in_username(client) is None
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.is_success) == (typed_username, False)
    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert (event.actor, event.actor_username) == (None, typed_username)
    assert event.changes == {"reason": reason}
    assert User.objects.filter(locked_until__isnull=False).count() == 0


def test_empty_login_form_writes_nothing(client, orgs):
    events_before = AuditEvent.objects.count()

    response = client.post(LOGIN, {"username": "", "password": ""})

    assert response.status_code == 200
    assert LoginAttempt.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


# --- lockout ---------------------------------------------------------------------------


def test_five_failures_lock_the_account_until_the_window_ends(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")

    with time_machine.travel(T0, tick=False):
        responses = [login(client, "alice", "Wrong-Passw0rd!") for _ in range(5)]
        right_while_locked = login(client, "alice")

    assert [GENERIC_ERROR in r.content.decode() for r in responses] == [True] * 4 + [False]
    locked_message = "The account is locked after repeated failed sign-ins; try again after 09:15."
    assert locked_message in responses[4].content.decode()
    assert locked_message in right_while_locked.content.decode()
    alice.refresh_from_db()
    assert alice.locked_until == T0 + timedelta(minutes=15)
    assert signed_in_username(client) is None
    assert audit_actions(actor_username="alice", action__startswith="auth.") == [
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_failed",
        "auth.login_failed",
        "auth.account_locked",
        "auth.login_locked",
    ]
    assert LoginAttempt.objects.filter(username="alice", is_success=False).count() == 6

    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        after_window = login(client, "alice")
        username = signed_in_username(client)

    assert after_window.status_code == 302
    assert username == "alice"
    alice.refresh_from_db()
    assert alice.locked_until is None


@pytest.mark.parametrize(
    ("_case", "failure_minutes", "is_locked"),
    [
        ("4 failures in the window", [0, 1, 2, 3], False),
        ("5 failures in the window", [0, 1, 2, 3, 14], True),
        ("5 failures, first just outside the window", [0, 1, 2, 3, 15.1], False),
    ],
)
def test_lockout_counts_failures_within_the_window(
    orgs, make_user, _case, failure_minutes, is_locked
):
    alice = make_user(org=orgs.city_a, username="alice")

    for minutes in failure_minutes:
        failed_login_at(T0 + timedelta(minutes=minutes))

    alice.refresh_from_db()
    assert (alice.locked_until is not None) is is_locked


def test_failures_before_an_ended_lock_do_not_count(orgs, make_user):
    # given: 4 failures, then a lock that was lifted (the console ends it "now")
    alice = make_user(org=orgs.city_a, username="alice")
    for minutes in (0, 1, 2, 3):
        failed_login_at(T0 + timedelta(minutes=minutes))
    User.objects.filter(pk=alice.pk).update(locked_until=T0 + timedelta(minutes=4))

    # when: one more failure inside the window
    error = failed_login_at(T0 + timedelta(minutes=5))

    # then: the count started again at the lock's end
    assert error.code == "invalid_credentials"
    alice.refresh_from_db()
    assert alice.locked_until == T0 + timedelta(minutes=4)


def test_a_successful_login_resets_the_failure_count(orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    for seconds in (0, 1, 2, 3):
        failed_login_at(T0 + timedelta(seconds=seconds))
    with time_machine.travel(T0 + timedelta(seconds=4), tick=False):
        auth_login(request=service_request(), username="alice", password=DEFAULT_PASSWORD)

    error = failed_login_at(T0 + timedelta(seconds=5))

    assert error.code == "invalid_credentials"
    alice.refresh_from_db()
    assert alice.locked_until is None


def test_locked_account_refuses_the_right_password_with_code(orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    User.objects.filter(pk=alice.pk).update(locked_until=T0 + timedelta(minutes=10))

    with time_machine.travel(T0, tick=False), pytest.raises(ApplicationError) as error:
        auth_login(request=service_request(), username="alice", password=DEFAULT_PASSWORD)

    assert error.value.code == "account_locked"
    assert error.value.details == {"locked_until": "2026-03-02T01:10:00+00:00"}
    assert LoginAttempt.objects.filter(is_success=True).count() == 0


def test_unknown_usernames_are_never_locked_and_say_nothing_more(orgs):
    errors = [failed_login_at(T0 + timedelta(seconds=n), username="ghost") for n in range(6)]

    assert [error.code for error in errors] == ["invalid_credentials"] * 6
    assert LoginAttempt.objects.filter(username="ghost").count() == 6


# --- logout ----------------------------------------------------------------------------


def test_logout_is_post_only_and_audited(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    client.force_login(alice)

    refused = client.get("/accounts/logout/")
    still_in = signed_in_username(client)
    response = client.post("/accounts/logout/")

    assert refused.status_code == 405
    assert still_in == "alice"
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_username(client) is None
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor == alice


# --- CSRF and session expiry -----------------------------------------------------------


def test_login_post_without_csrf_token_is_refused_and_writes_nothing(orgs, make_user):
    make_user(org=orgs.city_a, username="alice")
    events_before = AuditEvent.objects.count()
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "alice", "password": DEFAULT_PASSWORD})

    assert response.status_code == 403
    assert (
        "Your session has expired or the form is out of date. Reload the page and try again."
        in response.content.decode()
    )
    assert LoginAttempt.objects.count() == 0
    assert AuditEvent.objects.count() == events_before
    assert signed_in_username(client) is None


def test_expired_session_goes_to_login_with_a_message(client, orgs, make_user, settings):
    make_user(org=orgs.city_a, username="alice")
    with time_machine.travel(T0, tick=False):
        login(client, "alice")

    with time_machine.travel(T0 + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60), tick=False):
        response = client.get("/")
        login_page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    assert "Your session has expired. Please sign in again." in login_page.content.decode()


def test_anonymous_visitor_without_session_sees_no_expiry_message(client):
    response = client.get("/", follow=True)

    assert response.redirect_chain == [("/accounts/login/?next=/", 302)]
    assert "Your session has expired" not in response.content.decode()


# --- forced change of an initial password ----------------------------------------------


def test_initial_password_must_be_changed_before_anything_else(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice", must_change_password=True)
    login(client, "alice")

    page = client.get("/")
    other_page = client.get("/accounts/totp/")
    api = client.get("/api/v1/accounts/me")
    password_page = client.get("/accounts/password/")

    assert (page.status_code, page["Location"]) == (302, "/accounts/password/")
    assert (other_page.status_code, other_page["Location"]) == (302, "/accounts/password/")
    assert api.status_code == 403
    assert api.json()["code"] == "account_action_required"
    assert api.json()["details"] == {"location": "/accounts/password/"}
    assert password_page.status_code == 200
    assert 'data-testid="password-forced"' in password_page.content.decode()

    response = client.post(
        "/accounts/password/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "Fresh-Passw0rd-2026",
            "new_password2": "Fresh-Passw0rd-2026",
        },
    )

    assert (response.status_code, response["Location"]) == (302, "/")
    home = client.get("/")
    assert home.status_code == 200
    assert "Your password has been changed." in home.content.decode()
    assert client.get("/api/v1/accounts/me").status_code == 200
    alice.refresh_from_db()
    assert alice.must_change_password is False
    assert alice.password_changed_at is not None
    assert alice.check_password("Fresh-Passw0rd-2026")
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert (event.actor, event.changes) == (alice, {"must_change_password": [True, False]})


def test_password_change_page_needs_sign_in(client):
    response = client.get("/accounts/password/")

    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/password/",
    )


@pytest.mark.parametrize(
    ("_case", "old", "new1", "new2", "message", "audited"),
    [
        (
            "wrong current password",
            "Not-the-Passw0rd",
            "Fresh-Passw0rd-2026",
            "Fresh-Passw0rd-2026",
            "Your current password is not correct.",
            ["auth.password_change_failed"],
        ),
        (
            "new equals old",
            DEFAULT_PASSWORD,
            DEFAULT_PASSWORD,
            DEFAULT_PASSWORD,
            "The new password must differ from the current one.",
            [],
        ),
        (
            "new passwords differ",
            DEFAULT_PASSWORD,
            "Fresh-Passw0rd-2026",
            "Fresh-Passw0rd-2027",
            "The two new passwords do not match.",
            [],
        ),
        (
            "policy refuses the new one",
            DEFAULT_PASSWORD,
            "Password1234",
            "Password1234",
            "This password is too common.",
            [],
        ),
    ],
)
def test_refused_password_change_changes_nothing(
    client, orgs, make_user, _case, old, new1, new2, message, audited
):
    alice = make_user(org=orgs.city_a, username="alice", must_change_password=True)
    client.force_login(alice)
    before = User.objects.values("password", "must_change_password", "password_changed_at").get(
        pk=alice.pk
    )

    response = client.post(
        "/accounts/password/", {"old_password": old, "new_password1": new1, "new_password2": new2}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    after = User.objects.values("password", "must_change_password", "password_changed_at").get(
        pk=alice.pk
    )
    assert after == before
    assert audit_actions(action__startswith="auth.password") == audited


# --- TOTP ------------------------------------------------------------------------------


def test_totp_setup_shows_a_qr_code_and_enables_with_a_code(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    client.force_login(alice)

    page = client.get("/accounts/totp/")
    secret = client.session["prm_totp_setup_secret"]
    again = client.get("/accounts/totp/")
    wrong = client.post("/accounts/totp/", {"code": "000000"})
    alice.refresh_from_db()
    assert alice.totp_enabled is False
    right = client.post("/accounts/totp/", {"code": pyotp.TOTP(secret).now()})

    content = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in content and "<path" in content
    assert f"otpauth://totp/PRM:alice?secret={secret}&amp;issuer=PRM" in content
    assert client.session.get("prm_totp_setup_secret") is None
    assert secret in again.content.decode()
    assert wrong.status_code == 200
    assert "The code is not correct." in wrong.content.decode()
    assert (right.status_code, right["Location"]) == (302, "/")
    alice.refresh_from_db()
    assert alice.totp_secret == secret
    assert alice.totp_confirmed_at is not None
    assert audit_actions(action__startswith="auth.totp") == ["auth.totp_enabled"]


def test_totp_setup_needs_sign_in(client):
    response = client.get("/accounts/totp/")

    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/accounts/totp/",
    )


def test_login_with_totp_needs_the_code(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    secret = enable_totp(alice)

    first = login(client, "alice", next="/inbox/")
    not_yet = signed_in_username(client)
    page = client.get(LOGIN_TOTP)
    wrong = client.post(LOGIN_TOTP, {"code": "000000"})
    still_not = signed_in_username(client)
    right = client.post(LOGIN_TOTP + "?next=/inbox/", {"code": pyotp.TOTP(secret).now()})

    assert (first.status_code, first["Location"]) == (302, "/accounts/login/totp/?next=%2Finbox%2F")
    assert not_yet is None
    assert 'id="id_code"' in page.content.decode()
    assert 'data-testid="totp-submit"' in page.content.decode()
    assert "The code is not correct." in wrong.content.decode()
    assert still_not is None
    assert (right.status_code, right["Location"]) == (302, "/inbox/")
    assert signed_in_username(client) == "alice"
    assert list(LoginAttempt.objects.order_by("id").values_list("is_success", flat=True)) == [
        False,
        True,
    ]
    login_event = AuditEvent.objects.get(action="auth.login")
    assert login_event.changes == {"second_factor": True}
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.changes == {"reason": "wrong_totp_code"}


def test_wrong_totp_codes_count_toward_lockout(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    secret = enable_totp(alice)

    with time_machine.travel(T0, tick=False):
        login(client, "alice")
        for _ in range(4):
            client.post(LOGIN_TOTP, {"code": "000000"})
        fifth = client.post(LOGIN_TOTP, {"code": "000000"}, follow=True)
        after = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()})
        username = signed_in_username(client)

    assert "try again after 09:15" in fifth.content.decode()
    assert (after.status_code, after["Location"]) == (302, LOGIN)
    assert username is None
    alice.refresh_from_db()
    assert alice.locked_until == T0 + timedelta(minutes=15)


def test_totp_step_times_out_after_five_minutes(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    secret = enable_totp(alice)
    with time_machine.travel(T0, tick=False):
        login(client, "alice")

    with time_machine.travel(T0 + timedelta(minutes=5, seconds=1), tick=False):
        response = client.post(LOGIN_TOTP, {"code": pyotp.TOTP(secret).now()}, follow=True)
        username = signed_in_username(client)

    assert response.redirect_chain == [(LOGIN, 302)]
    assert "The sign-in has timed out." in response.content.decode()
    assert username is None
    assert LoginAttempt.objects.count() == 0


def test_totp_step_without_password_step_goes_back_to_login(client, orgs):
    response = client.post(LOGIN_TOTP, {"code": "123456"})

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert LoginAttempt.objects.count() == 0


def test_user_may_turn_totp_off_with_a_current_code(client, orgs, make_user):
    alice = make_user(org=orgs.city_a, username="alice")
    secret = enable_totp(alice)
    client.force_login(alice)

    wrong = client.post("/accounts/totp/", {"code": "000000"})
    alice.refresh_from_db()
    assert alice.totp_enabled is True
    right = client.post("/accounts/totp/", {"code": pyotp.TOTP(secret).now()})

    assert "The code is not correct." in wrong.content.decode()
    assert right.status_code == 302
    alice.refresh_from_db()
    assert (alice.totp_secret, alice.totp_confirmed_at) == ("", None)
    assert audit_actions(action__startswith="auth.totp") == [
        "auth.totp_enabled",
        "auth.totp_disabled",
    ]


def test_system_admin_is_forced_to_set_up_totp_when_required(client, orgs, make_user, settings):
    settings.PRM_TOTP_REQUIRED_FOR_ADMINS = True
    admin = make_user(org=orgs.province, roles=("system_admin",), username="root")
    staff = make_user(org=orgs.province, roles=("channel_manager",), username="staff")
    client.force_login(admin)

    page = client.get("/")
    api = client.get("/api/v1/accounts/me")
    setup = client.get("/accounts/totp/")
    secret = client.session["prm_totp_setup_secret"]
    client.post("/accounts/totp/", {"code": pyotp.TOTP(secret).now()})
    after = client.get("/")
    client.force_login(staff)
    staff_page = client.get("/")

    assert (page.status_code, page["Location"]) == (302, "/accounts/totp/")
    assert (api.status_code, api.json()["code"]) == (403, "account_action_required")
    assert 'data-testid="totp-required"' in setup.content.decode()
    assert after.status_code == 200
    assert staff_page.status_code == 200


def test_system_admin_may_not_turn_totp_off_when_required(client, orgs, make_user, settings):
    settings.PRM_TOTP_REQUIRED_FOR_ADMINS = True
    admin = make_user(org=orgs.province, roles=("system_admin",), username="root")
    secret = enable_totp(admin)
    client.force_login(admin)

    page = client.get("/accounts/totp/")
    response = client.post("/accounts/totp/", {"code": pyotp.TOTP(secret).now()})

    assert 'data-testid="totp-disable-submit"' not in page.content.decode()
    assert "System administrators must keep two-factor sign-in on." in response.content.decode()
    admin.refresh_from_db()
    assert admin.totp_secret == secret
    assert audit_actions(action__startswith="auth.totp") == ["auth.totp_enabled"]
