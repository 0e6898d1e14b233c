"""Call-centre seat synchronisation (R4: call-centre seats are synchronised from the
call-centre system): the adapter's file, HTTP and fake paths, all-or-nothing validation,
the upsert of call-centre-agent promoters with work IDs and logins, disabling vanished
and inactive seats, the scheduled task, and the seat pages."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from prm.accounts.models import User
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent
from prm.core.sms import sms_outbox
from prm.incentives.adapters.callcentre import (
    SeatSourceError,
    seats_fake_reset,
    seats_fake_set,
    seats_parse_csv,
    seats_parse_json,
)
from prm.incentives.models import Promoter, SeatSync
from prm.incentives.services.seats import seats_sync, seats_sync_all
from prm.incentives.tasks_promoters import seats_sync_all as seats_sync_all_task
from prm.incentives.tests import factories
from prm.incentives.tests import test_promoters_fixtures as fixtures

pytestmark = pytest.mark.django_db

world = fixtures.world  # the shared fixture

HEADER = "seat_number,name,msisdn,status,city_code\n"
GOOD_CSV = HEADER + (
    "S001,Zhang San,13800138101,active,GZ\n"
    "S002,Li Si,13800138102,active,GZ\n"
    "S003,Wang Wu,13800138103,inactive,GZ\n"
)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.PRM_CALLCENTRE_SEATS_SOURCE = ""
    settings.PRM_CALLCENTRE_SEATS_TOKEN = ""
    seats_fake_reset()
    yield
    seats_fake_reset()


def write(tmp_path, text: str, name: str = "seats.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def seat_promoters() -> dict[str, tuple[str, str, str | None]]:
    return {
        p.seat_number: (p.name, p.status, p.work_id)
        for p in Promoter.objects.filter(path="seat_feed").order_by("seat_number")
    }


def state() -> tuple:
    return (
        list(Promoter.objects.values_list("pk", "name", "msisdn", "status").order_by("pk")),
        list(User.objects.values_list("pk", "is_active").order_by("pk")),
    )


# ---- Adapter ------------------------------------------------------------------------------


def test_csv_feed_is_parsed_with_row_numbers():
    records = seats_parse_csv(("\ufeff" + GOOD_CSV + "\n").encode("utf-8"))

    assert [(r.row, r.seat_number, r.status, r.city_code) for r in records] == [
        (2, "S001", "active", "GZ"),
        (3, "S002", "active", "GZ"),
        (4, "S003", "inactive", "GZ"),
    ]


@pytest.mark.parametrize(
    ("_case", "content", "message"),
    [
        ("missing column", b"seat_number,name,msisdn,status\n", "lacks the columns: city_code"),
        ("not utf-8", HEADER.encode("utf-16"), "not UTF-8"),
    ],
)
def test_unreadable_csv_feeds(_case, content, message):
    with pytest.raises(SeatSourceError, match=message):
        seats_parse_csv(content)


def test_json_feed_is_parsed():
    records = seats_parse_json(
        json.dumps(
            [{"seat_number": "S1", "name": "A", "msisdn": 13800138101, "status": "active"}]
        ).encode()
    )

    assert (records[0].row, records[0].msisdn, records[0].city_code) == (1, "13800138101", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{}", "not a JSON list"), (b"[1]", "item 1"), (b"<html>", "not JSON")],
)
def test_unreadable_json_feeds(content, message):
    with pytest.raises(SeatSourceError, match=message):
        seats_parse_json(content)


# ---- A good feed ------------------------------------------------------------------------------


def test_a_good_file_creates_active_agents_with_logins(
    world, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sync = seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, GOOD_CSV))

    assert (sync.status, sync.created_count, sync.updated_count, sync.disabled_count) == (
        "succeeded",
        2,
        0,
        0,
    )
    assert (sync.actor, sync.org, sync.errors, len(sync.sha256)) == (
        world.cm_a,
        world.city_a,
        [],
        64,
    )
    assert seat_promoters() == {
        "S001": ("Zhang San", "active", "GZ-000001"),
        "S002": ("Li Si", "active", "GZ-000002"),
    }
    agent = Promoter.objects.get(seat_number="S001")
    assert (agent.kind, agent.org, agent.user.username, agent.user.role_codes) == (
        "call_centre_agent",
        world.city_a,
        "GZ-000001",
        {"promoter"},
    )
    assert sorted(sms["mobile"] for sms in sms_outbox()) == ["13800138101", "13800138102"]
    assert AuditEvent.objects.filter(action="seat_sync.succeeded").count() == 1


def test_the_same_feed_twice_changes_nothing(world, tmp_path):
    source = write(tmp_path, GOOD_CSV)
    seats_sync(actor=world.cm_a, org=world.city_a, source=source)
    before = state()

    again = seats_sync(actor=world.cm_a, org=world.city_a, source=source)

    assert (again.created_count, again.updated_count, again.disabled_count) == (0, 0, 0)
    assert state() == before


def test_changes_inactive_and_vanished_seats(world, tmp_path):
    seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, GOOD_CSV))
    changed = HEADER + (
        "S001,Zhang San Feng,13800138101,active,GZ\n"  # renamed
        "S003,Wang Wu,13800138103,inactive,GZ\n"  # S002 vanished
    )

    sync = seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, changed))

    assert (sync.created_count, sync.updated_count, sync.disabled_count) == (0, 1, 1)
    assert seat_promoters() == {
        "S001": ("Zhang San Feng", "active", "GZ-000001"),
        "S002": ("Li Si", "disabled", "GZ-000002"),
    }
    assert Promoter.objects.get(seat_number="S002").user.is_active is False

    inactive = HEADER + "S001,Zhang San Feng,13800138101,inactive,GZ\n"
    sync = seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, inactive))

    assert (sync.created_count, sync.updated_count, sync.disabled_count) == (0, 0, 1)
    assert Promoter.objects.get(seat_number="S001").status == "disabled"

    back = HEADER + "S002,Li Si,13800138102,active,GZ\n"
    sync = seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, back))

    assert (sync.created_count, sync.updated_count, sync.disabled_count) == (0, 1, 0)
    s002 = Promoter.objects.get(seat_number="S002")
    assert (s002.status, s002.user.is_active, s002.work_id) == ("active", True, "GZ-000002")


def test_a_province_sync_covers_its_cities_and_leaves_other_promoters_alone(world, tmp_path):
    clerk = factories.promoter(org=world.city_a, msisdn="13800138999")
    feed = HEADER + "S1,A,13800138101,active,GZ\nS1,B,13800138102,active,SZ\n"

    sync = seats_sync(
        actor=world.cm_province, org=world.orgs.province, source=write(tmp_path, feed)
    )

    assert sync.created_count == 2
    assert sorted(Promoter.objects.filter(path="seat_feed").values_list("work_id", flat=True)) == [
        "GZ-000001",
        "SZ-000001",
    ]
    clerk.refresh_from_db()
    assert clerk.status == "active"


# ---- A bad feed writes nothing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "row", "field", "message"),
    [
        ("malformed number", "S9,X,1380013810,active,GZ", "msisdn", "11-digit"),
        ("other operator", "S9,X,13000138109,active,GZ", "msisdn", "not one of our"),
        ("unknown city", "S9,X,13800138109,active,XX", "city_code", "no city with the code"),
        ("city of another org", "S9,X,13800138109,active,SZ", "city_code", "is not Guangzhou"),
        ("bad status", "S9,X,13800138109,on leave,GZ", "status", "neither active nor"),
        ("no seat number", ",X,13800138109,active,GZ", "seat_number", "missing"),
        ("seat number of 21", "S" * 21 + ",X,13800138109,active,GZ", "seat_number", "at most 20"),
        ("no name", "S9,,13800138109,active,GZ", "name", "name is missing"),
        ("duplicate seat", "S001,X,13800138109,active,GZ", "seat_number", "also on row 2"),
        ("duplicate number", "S9,X,13800138101,active,GZ", "msisdn", "also on row 2"),
        ("number of a clerk", "S9,X,13800138999,active,GZ", "msisdn", "another promoter"),
    ],
)
def test_one_bad_row_rejects_the_whole_feed(world, tmp_path, _case, row, field, message):
    factories.promoter(org=world.city_a, msisdn="13800138999")
    before = state()

    sync = seats_sync(
        actor=world.cm_a, org=world.city_a, source=write(tmp_path, GOOD_CSV + row + "\n")
    )

    assert (sync.status, sync.created_count, sync.disabled_count) == ("rejected", 0, 0)
    [error] = sync.errors
    assert (error["row"], error["field"]) == (5, field)
    assert message in error["message"]
    assert state() == before
    assert AuditEvent.objects.filter(action="seat_sync.rejected").count() == 1


def test_a_seat_number_of_20_and_an_inactive_duplicate_number_pass(world, tmp_path):
    feed = HEADER + "S" * 20 + ",X,13800138101,active,GZ\nS2,Y,13800138101,inactive,GZ\n"

    sync = seats_sync(actor=world.cm_a, org=world.city_a, source=write(tmp_path, feed))

    assert (sync.status, sync.created_count) == ("succeeded", 1)


def test_an_unreadable_source_is_recorded(world, tmp_path):
    sync = seats_sync(actor=world.cm_a, org=world.city_a, source=str(tmp_path / "missing.csv"))

    assert (sync.status, sync.sha256) == ("rejected", "")
    assert "cannot read the seat file" in sync.errors[0]["message"]
    assert Promoter.objects.count() == 0


def test_no_source_configured_is_refused(world):
    with pytest.raises(ApplicationError) as caught:
        seats_sync(actor=world.cm_a, org=world.city_a)

    assert caught.value.code == "seat_source_missing"
    assert SeatSync.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "who", "org", "code"),
    [
        ("other city", "cm_b", "city_a", "not_found"),
        ("no permission", "finance_a", "city_a", "forbidden"),
        ("a county is no sync org", "cm_a", "county_a", "seat_org_invalid"),
    ],
)
def test_who_may_synchronise(world, tmp_path, _case, who, org, code):
    with pytest.raises(ApplicationError) as caught:
        seats_sync(
            actor=getattr(world, who),
            org=getattr(world.orgs, org),
            source=write(tmp_path, GOOD_CSV),
        )

    assert caught.value.code == code
    assert (SeatSync.objects.count(), Promoter.objects.count()) == (0, 0)


# ---- Fake and HTTP sources --------------------------------------------------------------------


def test_the_fake_source(world):
    seats_fake_set(
        [
            {
                "seat_number": "F1",
                "name": "Fake",
                "msisdn": "13800138101",
                "status": "active",
                "city_code": "GZ",
            }
        ]
    )

    sync = seats_sync(actor=world.cm_a, org=world.city_a, source="fake")

    assert (sync.status, sync.source, sync.created_count) == ("succeeded", "fake", 1)


def test_a_failing_fake_source_is_recorded(world):
    seats_fake_set([], failure="the call-centre system is down")

    sync = seats_sync(actor=world.cm_a, org=world.city_a, source="fake")

    assert sync.status == "rejected"
    assert "the call-centre system is down" in sync.errors[0]["message"]


class _SeatServer:
    """A local stand-in for the call-centre system's seat endpoint."""

    def __init__(self, *, status: int, body: bytes) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization")}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_the_http_source_with_bearer_token_and_city_placeholder(world, settings):
    body = json.dumps(
        [
            {
                "seat_number": "H1",
                "name": "Http",
                "msisdn": "13800138101",
                "status": "active",
                "city_code": "GZ",
            }
        ]
    ).encode()
    with _SeatServer(status=200, body=body) as server:
        settings.PRM_CALLCENTRE_SEATS_SOURCE = f"{server.url}/seats?city={{city_code}}"
        settings.PRM_CALLCENTRE_SEATS_TOKEN = "s3cret"

        sync = seats_sync(actor=world.cm_a, org=world.city_a)

    assert server.requests == [{"path": "/seats?city=GZ", "authorization": "Bearer s3cret"}]
    assert (sync.status, sync.created_count, sync.source) == (
        "succeeded",
        1,
        f"{server.url}/seats?city=GZ",
    )
    assert "s3cret" not in json.dumps([sync.source, sync.errors])


def test_an_http_error_is_recorded(world, settings):
    with _SeatServer(status=503, body=b"down") as server:
        sync = seats_sync(actor=world.cm_a, org=world.city_a, source=f"{server.url}/seats")

    assert sync.status == "rejected"
    assert "HTTP 503" in sync.errors[0]["message"]


# ---- The scheduled task ---------------------------------------------------------------------


def test_the_task_does_nothing_without_a_source(world):
    assert seats_sync_all_task() == []
    assert SeatSync.objects.count() == 0


def test_the_task_syncs_one_operator_wide_feed_once(world, settings):
    settings.PRM_CALLCENTRE_SEATS_SOURCE = "fake"
    seats_fake_set(
        [
            {
                "seat_number": "A",
                "name": "A",
                "msisdn": "13800138101",
                "status": "active",
                "city_code": "GZ",
            },
            {
                "seat_number": "B",
                "name": "B",
                "msisdn": "13800138102",
                "status": "active",
                "city_code": "SZ",
            },
        ]
    )

    result = seats_sync_all_task()

    assert result == [
        {"org": "HQ", "status": "succeeded", "created": 2, "updated": 0, "disabled": 0, "errors": 0}
    ]
    assert SeatSync.objects.get().actor is None
    assert User.objects.filter(username__in=["GZ-000001", "SZ-000001"], is_active=True).count() == 2
    event = AuditEvent.objects.get(action="seat_sync.succeeded")
    assert (event.actor, event.actor_username, event.org_path) == (
        None,
        "system",
        world.orgs.hq.path,
    )


def test_the_task_syncs_each_city_from_its_own_feed(world, settings, tmp_path):
    write(tmp_path, HEADER + "A,A,13800138101,active,GZ\n", "GZ.csv")
    write(tmp_path, HEADER + "B,B,13800138102,active,SZ\n", "SZ.csv")
    settings.PRM_CALLCENTRE_SEATS_SOURCE = str(tmp_path / "{city_code}.csv")

    syncs = seats_sync_all()

    assert [(s.org.code, s.status, s.created_count) for s in syncs] == [
        ("GZ", "succeeded", 1),
        ("SZ", "succeeded", 1),
    ]


def test_the_task_disables_a_vanished_seat_without_an_actor(world, settings):
    settings.PRM_CALLCENTRE_SEATS_SOURCE = "fake"
    seat = {
        "seat_number": "A",
        "name": "A",
        "msisdn": "13800138101",
        "status": "active",
        "city_code": "GZ",
    }
    seats_fake_set([seat])
    seats_sync_all()
    seats_fake_set([])

    [sync] = seats_sync_all()

    assert (sync.status, sync.disabled_count) == ("succeeded", 1)
    agent = Promoter.objects.get(seat_number="A")
    assert (agent.status, agent.user.is_active) == ("disabled", False)
    event = AuditEvent.objects.get(action="user.disabled")
    assert (event.actor, event.actor_username, event.org_path) == (
        None,
        "system",
        world.city_a.path,
    )


# ---- Pages -------------------------------------------------------------------------------------

SEATS = "/incentives/promoters/seats/"


def _upload(text: str, name: str = "seats.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_seat_page_access(client, world):
    assert client.get(SEATS)["Location"].startswith("/accounts/login/")
    for who in (world.finance_a, world.account_manager_a):
        client.force_login(who)
        assert client.get(SEATS).status_code == 403
        assert client.post(SEATS, {"org": "GZ", "upload": _upload(GOOD_CSV)}).status_code == 403
    assert SeatSync.objects.count() == 0
    client.force_login(world.cm_a)
    response = client.get(SEATS)
    assert response.status_code == 200
    assert [code for code, _label in response.context["form"].fields["org"].choices] == ["GZ"]
    client.force_login(world.cm_province)
    choices = client.get(SEATS).context["form"].fields["org"].choices
    assert [code for code, _label in choices] == ["GD", "GZ", "SZ"]


def test_seat_upload_runs_and_shows_the_result(client, world):
    client.force_login(world.cm_a)

    response = client.post(SEATS, {"org": "GZ", "upload": _upload(GOOD_CSV)})

    sync = SeatSync.objects.get()
    assert response["Location"] == f"/incentives/promoters/seats/{sync.pk}/"
    assert (sync.status, sync.source, sync.created_count) == ("succeeded", "upload:seats.csv", 2)
    detail = client.get(response["Location"])
    assert 'data-status="succeeded"' in detail.content.decode()
    assert [s.pk for s in client.get(SEATS).context["page"]] == [sync.pk]


def test_a_bad_upload_shows_its_errors_and_changes_nothing(client, world):
    client.force_login(world.cm_a)

    response = client.post(
        SEATS, {"org": "GZ", "upload": _upload(GOOD_CSV + "S9,X,13000138109,active,GZ\n")}
    )

    body = client.get(response["Location"]).content.decode()
    assert 'data-testid="seat-sync-error"' in body and "not one of our" in body
    assert Promoter.objects.count() == 0


def test_seat_page_refuses_another_citys_org_and_a_missing_source(client, world):
    client.force_login(world.cm_a)

    other = client.post(SEATS, {"org": "SZ", "upload": _upload(GOOD_CSV)})
    missing = client.post(SEATS, {"org": "GZ"})

    assert "org" in other.context["form"].errors
    assert "No call-centre seat source" in " ".join(missing.context["form"].errors["upload"])
    assert (SeatSync.objects.count(), Promoter.objects.count()) == (0, 0)


def test_seat_syncs_are_scoped(client, world, tmp_path):
    sz = seats_sync(actor=world.cm_b, org=world.city_b, source=write(tmp_path, HEADER))
    client.force_login(world.cm_a)

    assert list(client.get(SEATS).context["page"]) == []
    assert client.get(f"/incentives/promoters/seats/{sz.pk}/").status_code == 404
    client.force_login(world.cm_b)
    assert client.get(f"/incentives/promoters/seats/{sz.pk}/").status_code == 200
