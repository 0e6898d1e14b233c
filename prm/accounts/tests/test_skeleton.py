import pytest

from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_org_paths_nest_and_scope(orgs, make_user):
    city_admin = make_user(org=orgs.city_a, roles=("system_admin",))

    assert (
        orgs.county_a.path
        == f"{orgs.hq.path}{orgs.province.pk}/{orgs.city_a.pk}/{orgs.county_a.pk}/"
    )
    assert city_admin.scope_path == orgs.city_a.path
    assert city_admin.has_perm("accounts.manage_user")


def test_api_me_requires_credentials(client, orgs, make_user):
    response = client.get("/api/v1/accounts/me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_api_me_returns_session_user(client, orgs, make_user):
    staff = make_user(org=orgs.city_a, roles=("channel_manager",), username="alice")
    client.force_login(staff)

    response = client.get("/api/v1/accounts/me")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["roles"] == ["channel_manager"]


def test_audit_event_refuses_update(orgs):
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(Exception):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "org_unit.created"


def test_database_refuses_audit_update_on_postgresql(orgs):
    from django.db import connection, transaction
    from django.db.utils import DatabaseError

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    event = AuditEvent.objects.first()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).action == "org_unit.created"
