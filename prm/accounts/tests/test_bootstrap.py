from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from prm.accounts.models import OrgUnit, User

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_hq_and_admin_who_must_change_password():
    out = StringIO()

    call_command("bootstrap", stdout=out)

    password = out.getvalue().strip().splitlines()[-1]
    admin = User.objects.get(username="admin")
    assert admin.org == OrgUnit.objects.get(code="HQ", kind="hq")
    assert admin.role_codes == {"system_admin"}
    assert admin.must_change_password is True
    assert admin.check_password(password)
    client = Client()
    client.force_login(admin)
    assert client.get("/").url == "/accounts/password/"


def test_bootstrap_refuses_a_second_time_and_changes_nothing():
    call_command("bootstrap", stdout=StringIO())
    users, orgs = User.objects.count(), OrgUnit.objects.count()

    with pytest.raises(CommandError):
        call_command("bootstrap", "--username", "second", stdout=StringIO())

    assert (User.objects.count(), OrgUnit.objects.count()) == (users, orgs)
