"""The SMS gateway adapters (R0 notifications): file log, HTTP gateway, in-process fake."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from prm.core.sms import (
    FakeSmsGateway,
    FileSmsGateway,
    HttpSmsGateway,
    SmsError,
    sms_fake_reset,
    sms_gateway,
    sms_outbox,
)


@pytest.fixture
def gateway_server():
    """A real HTTP server on 127.0.0.1 that plays the SMS gateway."""
    received: list[dict] = []
    behaviour = {"status": 200, "body": b'{"id": "gw-42"}', "delay": 0.0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "payload": json.loads(self.rfile.read(length)),
                }
            )
            if behaviour["delay"]:
                time.sleep(behaviour["delay"])
            try:
                self.send_response(behaviour["status"])
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(behaviour["body"])
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{server.server_port}/sms/send",
        received=received,
        behaviour=behaviour,
    )
    server.shutdown()
    server.server_close()


def test_file_gateway_writes_one_json_line_per_message_and_appends(tmp_path):
    log_path = tmp_path / "new-folder" / "sms.log"
    gateway = FileSmsGateway(log_path)

    first = gateway.send(number="13800138000", text="【PRM】你好", reference="sms-1")
    second = FileSmsGateway(log_path).send(number="13900139000", text="two", reference="sms-2")

    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [first, second]
    assert records[0]["mobile"] == "13800138000"
    assert records[0]["text"] == "【PRM】你好"
    assert records[0]["reference"] == "sms-1"
    assert records[1]["mobile"] == "13900139000"
    assert first.startswith("file-") and first != second


def test_file_gateway_keeps_existing_lines(tmp_path):
    log_path = tmp_path / "sms.log"
    log_path.write_text('{"earlier": true}\n', encoding="utf-8")

    FileSmsGateway(log_path).send(number="13800138000", text="x", reference="sms-9")

    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"earlier": true}'
    assert json.loads(lines[1])["reference"] == "sms-9"


def test_file_gateway_that_cannot_write_raises(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("file")

    with pytest.raises(SmsError):
        FileSmsGateway(blocker / "sms.log").send(number="1", text="x", reference="r")


def test_http_gateway_posts_json_with_bearer_token_and_returns_the_id(gateway_server):
    gateway = HttpSmsGateway(url=gateway_server.url, token="secret-token", timeout=5)

    message_id = gateway.send(number="13800138000", text="【PRM】你好", reference="sms-7")

    assert message_id == "gw-42"
    assert gateway_server.received == [
        {
            "path": "/sms/send",
            "authorization": "Bearer secret-token",
            "content_type": "application/json; charset=utf-8",
            "payload": {"mobile": "13800138000", "text": "【PRM】你好", "reference": "sms-7"},
        }
    ]


def test_http_gateway_server_error_raises(gateway_server):
    gateway_server.behaviour.update(status=500, body=b'{"error": "down"}')

    with pytest.raises(SmsError, match="HTTP 500"):
        HttpSmsGateway(url=gateway_server.url, token="t").send(
            number="13800138000", text="x", reference="r"
        )


def test_http_gateway_answer_without_id_raises(gateway_server):
    gateway_server.behaviour.update(status=200, body=b'{"ok": true}')

    with pytest.raises(SmsError, match="no message id"):
        HttpSmsGateway(url=gateway_server.url).send(number="1", text="x", reference="r")


def test_http_gateway_timeout_raises(gateway_server):
    gateway_server.behaviour.update(delay=1.0)

    with pytest.raises(SmsError, match="not reachable"):
        HttpSmsGateway(url=gateway_server.url, timeout=0.2).send(
            number="1", text="x", reference="r"
        )


def test_http_gateway_connection_refused_raises():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.

    with pytest.raises(SmsError, match="not reachable"):
        HttpSmsGateway(url=f"http://127.0.0.1:{port}/sms", timeout=2).send(
            number="1", text="x", reference="r"
        )


def test_http_gateway_without_url_raises():
    with pytest.raises(SmsError, match="PRM_SMS_HTTP_URL"):
        HttpSmsGateway(url="").send(number="1", text="x", reference="r")


def test_fake_gateway_keeps_messages_and_fails_when_told():
    gateway = FakeSmsGateway()

    assert gateway.send(number="13800138000", text="a", reference="r1") == "fake-1"
    gateway.failure = "gateway down"
    with pytest.raises(SmsError, match="gateway down"):
        gateway.send(number="13800138000", text="b", reference="r2")

    assert gateway.outbox == [
        {"id": "fake-1", "mobile": "13800138000", "text": "a", "reference": "r1"}
    ]


@pytest.mark.parametrize(
    ("_case", "backend", "expected"),
    [
        ("file log", "file", FileSmsGateway),
        ("http gateway", "http", HttpSmsGateway),
        ("test fake", "fake", FakeSmsGateway),
    ],
)
def test_sms_gateway_follows_the_setting(settings, tmp_path, _case, backend, expected):
    settings.PRM_SMS_BACKEND = backend
    settings.PRM_SMS_LOG_PATH = str(tmp_path / "sms.log")
    settings.PRM_SMS_HTTP_URL = "http://127.0.0.1:9/sms"

    assert isinstance(sms_gateway(), expected)


def test_sms_gateway_refuses_an_unknown_backend(settings):
    settings.PRM_SMS_BACKEND = "pigeon"

    with pytest.raises(ImproperlyConfigured):
        sms_gateway()


def test_fake_outbox_helper_shows_what_the_configured_fake_sent():
    sms_fake_reset()

    sms_gateway().send(number="13800138000", text="hello", reference="sms-1")

    assert sms_outbox() == [
        {"id": "fake-1", "mobile": "13800138000", "text": "hello", "reference": "sms-1"}
    ]
    sms_fake_reset()
    assert sms_outbox() == []
