"""The SMS gateway interface (R0 notifications) and its adapters.

``PRM_SMS_BACKEND`` picks the adapter:

- ``file`` (default): appends one JSON line per message to ``PRM_SMS_LOG_PATH``; an
  operator without a gateway contract can read it, and it is what the demo uses.
- ``http``: posts ``{"mobile", "text", "reference"}`` as JSON to ``PRM_SMS_HTTP_URL`` with
  ``Authorization: Bearer <PRM_SMS_HTTP_TOKEN>`` and reads the gateway's message id from
  the JSON answer ``{"id": ...}``.
- ``fake``: an in-process outbox for tests (``sms_outbox()``), which can be told to fail.

Every adapter either hands the message on and returns the gateway's id, or raises
``SmsError``: none pretends to have sent what it did not.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from prm.core.outbound import OutboundError, json_line_append, json_post


class SmsError(Exception):
    """The gateway did not accept the message; the text says why (kept on the row)."""


class SmsGateway(Protocol):
    name: str

    def send(self, *, number: str, text: str, reference: str) -> str:
        """Hand one message to the gateway; return its message id or raise ``SmsError``."""
        ...


class FileSmsGateway:
    """Appends each message as one JSON line to an append-only log file."""

    name = "file"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def send(self, *, number: str, text: str, reference: str) -> str:
        message_id = f"file-{uuid.uuid4().hex}"
        record = {
            "id": message_id,
            "at": timezone.now().isoformat(),
            "mobile": number,
            "text": text,
            "reference": reference,
        }
        try:
            json_line_append(self.path, record)
        except OSError as exc:
            raise SmsError(f"cannot write the SMS log {self.path}: {exc}") from exc
        return message_id


class HttpSmsGateway:
    """Posts each message to an HTTP gateway as JSON with a bearer token."""

    name = "http"

    def __init__(self, *, url: str, token: str = "", timeout: float = 10) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, *, number: str, text: str, reference: str) -> str:
        if not self.url.lower().startswith(("http://", "https://")):
            raise SmsError("PRM_SMS_HTTP_URL is not set to an http(s) URL.")
        payload = {"mobile": number, "text": text, "reference": reference}
        try:
            body = json_post(url=self.url, payload=payload, token=self.token, timeout=self.timeout)
        except OutboundError as exc:
            if exc.status is None:
                raise SmsError(f"gateway not reachable: {exc.detail}") from exc
            raise SmsError(f"gateway answered HTTP {exc.status}: {exc.detail}".strip()) from exc
        try:
            message_id = json.loads(body.decode("utf-8"))["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SmsError("gateway answer has no message id") from exc
        if message_id in (None, ""):
            raise SmsError("gateway answer has no message id")
        return str(message_id)


class FakeSmsGateway:
    """In-process gateway for tests: keeps what it was given, or fails when told to."""

    name = "fake"

    def __init__(self) -> None:
        self.outbox: list[dict[str, str]] = []
        self.failure: str | None = None

    def send(self, *, number: str, text: str, reference: str) -> str:
        if self.failure is not None:
            raise SmsError(self.failure)
        message_id = f"fake-{len(self.outbox) + 1}"
        self.outbox.append(
            {"id": message_id, "mobile": number, "text": text, "reference": reference}
        )
        return message_id


_fake_gateway = FakeSmsGateway()


def sms_outbox() -> list[dict[str, str]]:
    """What the fake gateway has accepted (``PRM_SMS_BACKEND = "fake"``)."""
    return _fake_gateway.outbox


def sms_fake_reset(*, failure: str | None = None) -> None:
    """Empty the fake outbox; with ``failure``, every later send raises ``SmsError(failure)``."""
    _fake_gateway.outbox.clear()
    _fake_gateway.failure = failure


def sms_gateway() -> SmsGateway:
    """The gateway chosen by ``PRM_SMS_BACKEND``."""
    backend = settings.PRM_SMS_BACKEND
    if backend == "file":
        return FileSmsGateway(settings.PRM_SMS_LOG_PATH)
    if backend == "http":
        return HttpSmsGateway(
            url=settings.PRM_SMS_HTTP_URL,
            token=settings.PRM_SMS_HTTP_TOKEN,
            timeout=settings.PRM_SMS_HTTP_TIMEOUT,
        )
    if backend == "fake":
        return _fake_gateway
    raise ImproperlyConfigured("PRM_SMS_BACKEND must be file, http or fake.")
