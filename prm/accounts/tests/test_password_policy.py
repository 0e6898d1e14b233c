"""Password policy (R0): Django's validators plus three character classes, on change."""

from __future__ import annotations

import pytest

from prm.accounts.models import User
from prm.accounts.services import user_password_change
from prm.accounts.tests.factories import DEFAULT_PASSWORD
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_and_fast_hashing(settings):
    settings.LANGUAGE_CODE = "en"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    ("_case", "new_password", "refusal_codes"),
    [
        ("too short (9 of 10)", "Ab1!efghi", ["password_too_short"]),
        ("minimum length (10)", "Ab1!efghij", None),
        ("only digits", "73915824603", ["password_entirely_numeric", "password_too_simple"]),
        ("common", "Password1234", ["password_too_common"]),
        ("similar to username", "Zhangwei2024", ["password_too_similar"]),
        ("2 classes", "correcthorse42", ["password_too_simple"]),
        ("3 classes", "Correcthorse42", None),
        ("good", "Tr0ub4dor&3-horse", None),
    ],
)
def test_password_policy(orgs, make_user, _case, new_password, refusal_codes):
    user = make_user(org=orgs.city_a, username="zhangwei", must_change_password=True)
    before = User.objects.values("password", "must_change_password").get(pk=user.pk)
    events_before = AuditEvent.objects.count()

    if refusal_codes is None:
        user_password_change(
            request=None, user=user, old_password=DEFAULT_PASSWORD, new_password=new_password
        )
        user.refresh_from_db()
        assert user.check_password(new_password)
        assert user.must_change_password is False
        assert AuditEvent.objects.count() == events_before + 1
    else:
        with pytest.raises(ApplicationError) as error:
            user_password_change(
                request=None, user=user, old_password=DEFAULT_PASSWORD, new_password=new_password
            )
        assert error.value.code == "password_invalid"
        assert error.value.details["codes"] == refusal_codes
        assert User.objects.values("password", "must_change_password").get(pk=user.pk) == before
        assert AuditEvent.objects.count() == events_before


def test_policy_help_is_shown_on_the_password_page(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a))

    response = client.get("/accounts/password/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Your password must contain at least 10 characters." in content
    assert "Use at least 3 of: lower-case letters, upper-case letters, digits, symbols." in content
    for field_id in ("id_old_password", "id_new_password1", "id_new_password2"):
        assert f'id="{field_id}"' in content
    assert 'data-testid="password-submit"' in content


def test_policy_refusals_are_listed_on_the_page(client, orgs, make_user):
    user = make_user(org=orgs.city_a)
    client.force_login(user)

    response = client.post(
        "/accounts/password/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "73915824603",
            "new_password2": "73915824603",
        },
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "This password is entirely numeric." in content
    assert (
        "The password must contain at least 3 of: lower-case letters, upper-case letters, "
        "digits, symbols." in content
    )
