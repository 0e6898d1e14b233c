"""The audit log page, its CSV export and its API (R0 4A: audit): searchable, scoped to
the reader's subtree, exportable, and the export itself is audited."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prm.accounts.services import user_disable
from prm.core.audit import audit_event_create, audit_event_list
from prm.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(orgs, make_user):
    return {
        "auditor_a": make_user(org=orgs.city_a, roles=("auditor",), username="auditor-a"),
        "auditor_gd": make_user(org=orgs.province, roles=("auditor",), username="auditor-gd"),
        "admin_a": make_user(org=orgs.city_a, roles=("system_admin",), username="admin-a"),
        "admin_b": make_user(org=orgs.city_b, roles=("system_admin",), username="admin-b"),
        "staff_a": make_user(org=orgs.county_a, roles=("channel_manager",), username="staff-a"),
        "staff_b": make_user(org=orgs.county_b, roles=("channel_manager",), username="staff-b"),
    }


@pytest.fixture
def history(people):
    """One event by each city's admin."""
    user_disable(actor=people["admin_a"], user=people["staff_a"])
    user_disable(actor=people["admin_b"], user=people["staff_b"])


def _rows(response):
    return [(event.actor_username, event.action) for event in response.context["page"]]


def test_audit_list_shows_own_subtree_only(client, people, history):
    client.force_login(people["auditor_a"])

    response = client.get(reverse("core:audit_list"))

    assert response.status_code == 200
    assert _rows(response) == [("admin-a", "user.disabled")]
    assert response.content.count(b'data-testid="audit-row"') == 1


def test_province_auditor_sees_both_cities(client, people, history):
    client.force_login(people["auditor_gd"])

    response = client.get(reverse("core:audit_list"))

    assert _rows(response) == [("admin-b", "user.disabled"), ("admin-a", "user.disabled")]


def test_audit_row_shows_time_actor_ip_action_object_changes(client, people):
    audit_event_create(
        actor=people["admin_a"],
        action="user.updated",
        target=people["staff_a"],
        changes={"is_active": [True, False]},
        ip_address="10.1.2.3",
    )
    client.force_login(people["auditor_a"])

    response = client.get(reverse("core:audit_list"))

    row = response.content.decode().split('data-testid="audit-row"')[1].split("</tr>")[0]
    assert "admin-a" in row
    assert "10.1.2.3" in row
    assert "user.updated" in row
    assert "(staff-a)" in row
    assert "is_active" in row


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("by actor", {"actor": "admin-a"}, [("admin-a", "user.disabled")]),
        (
            "by action",
            {"action": "disabled"},
            [("admin-b", "user.disabled"), ("admin-a", "user.disabled")],
        ),
        ("by object", {"target": "staff-b"}, [("admin-b", "user.disabled")]),
        ("until yesterday", {"until": "yesterday"}, []),
        (
            "since today",
            {"since": "today"},
            [("admin-b", "user.disabled"), ("admin-a", "user.disabled")],
        ),
    ],
)
def test_audit_list_filters(client, people, history, _case, params, expected):
    today = timezone.localdate()
    days = {"today": today.isoformat(), "yesterday": (today - timedelta(days=1)).isoformat()}
    params = {key: days.get(value, value) for key, value in params.items()}
    client.force_login(people["auditor_gd"])

    response = client.get(reverse("core:audit_list"), params)

    assert _rows(response) == expected


def test_audit_list_until_is_inclusive(client, people, history):
    client.force_login(people["auditor_gd"])

    response = client.get(reverse("core:audit_list"), {"until": timezone.localdate().isoformat()})

    assert len(_rows(response)) == 2


def test_audit_list_runs_constant_queries(client, people):
    client.force_login(people["auditor_a"])

    def count():
        client.get(reverse("core:audit_list"))
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("core:audit_list"))
        return len(queries)

    for _ in range(3):
        audit_event_create(actor=people["admin_a"], action="test.one")
    small = count()
    for _ in range(30):
        audit_event_create(actor=people["admin_a"], action="test.one")

    assert count() == small


def test_audit_list_needs_permission(client, people):
    client.force_login(people["staff_a"])

    assert client.get(reverse("core:audit_list")).status_code == 403
    assert client.get(reverse("core:audit_export")).status_code == 403


def test_audit_pages_send_anonymous_to_login(client, people):
    for url in (reverse("core:audit_list"), reverse("core:audit_export")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_export_streams_csv_and_is_audited(client, people, history):
    client.force_login(people["auditor_a"])

    response = client.get(reverse("core:audit_export"), {"action": "disabled"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    assert rows[0][:5] == ["time", "actor", "actor_org_path", "ip_address", "action"]
    assert [(row[1], row[4]) for row in rows[1:]] == [("admin-a", "user.disabled")]
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_username == "auditor-a"
    assert exported.changes == {"filters": {"action": "disabled"}}


def test_export_neutralises_spreadsheet_formulas(client, people):
    audit_event_create(actor=people["admin_a"], action="test.formula", target_repr="=HYPERLINK(1)")
    client.force_login(people["auditor_a"])

    response = client.get(reverse("core:audit_export"), {"action": "test.formula"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(body)))[1][7] == "'=HYPERLINK(1)"


def test_audit_log_cannot_be_changed_through_the_page(client, people, history):
    client.force_login(people["auditor_gd"])
    count = AuditEvent.objects.count()

    response = client.post(reverse("core:audit_list"), {"action": "x"})

    assert response.status_code == 405
    assert AuditEvent.objects.count() == count


# --- API -----------------------------------------------------------------------------


def test_api_audit_events_scoped_and_paginated(client, people, history):
    client.force_login(people["auditor_gd"])

    response = client.get("/api/v1/core/audit-events", {"action": "user.", "limit": 1})

    assert response.status_code == 200
    assert response["X-Total-Count"] == "2"
    [event] = response.json()
    assert (event["actor"], event["action"], event["object_type"]) == (
        "admin-b",
        "user.disabled",
        "accounts.user",
    )
    assert event["changes"] == {"is_active": [True, False]}
    assert "id" not in event and "object_id" not in event


def test_api_audit_events_filters(client, people, history):
    client.force_login(people["auditor_a"])

    mine = client.get("/api/v1/core/audit-events", {"actor": "admin"})
    other = client.get("/api/v1/core/audit-events", {"target": "staff-b"})

    assert [event["actor"] for event in mine.json()] == ["admin-a"]
    assert other.json() == []


def test_api_audit_events_refusals(client, people):
    anonymous = client.get("/api/v1/core/audit-events")
    client.force_login(people["staff_a"])
    forbidden = client.get("/api/v1/core/audit-events")
    client.force_login(people["auditor_a"])
    bad_date = client.get("/api/v1/core/audit-events", {"since": "not-a-date"})

    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"
    assert bad_date.status_code == 422
    assert bad_date.json()["code"] == "validation_error"


def test_failed_sign_ins_are_placed_in_the_org_of_the_user_concerned(client, orgs, make_user):
    make_user(org=orgs.city_a, username="carol")
    city_a_auditor = make_user(org=orgs.city_a, roles=("auditor",))
    city_b_auditor = make_user(org=orgs.city_b, roles=("auditor",))
    hq_auditor = make_user(org=orgs.hq, roles=("auditor",))

    client.post("/accounts/login/", {"username": "carol", "password": "wrong-Passw0rd!"})
    client.post("/accounts/login/", {"username": "nobody", "password": "wrong-Passw0rd!"})

    def failed_for(auditor):
        events = audit_event_list(user=auditor, filters={"action": "auth.login_failed"})
        return sorted(events.values_list("actor_username", flat=True))

    assert failed_for(city_a_auditor) == ["carol"]
    assert failed_for(city_b_auditor) == []
    assert failed_for(hq_auditor) == ["carol", "nobody"]
