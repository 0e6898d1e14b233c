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
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


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
    _lock = threading.Lock()

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def send(self, *, number: str, text: str, reference: str) -> str:
        message_id = f"file-{uuid.uuid4().hex}"
        line = json.dumps(
            {
                "id": message_id,
                "at": timezone.now().isoformat(),
                "mobile": number,
                "text": text,
                "reference": reference,
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode, flushed to disk before we say "sent".
            with self._lock, open(self.path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
                log.flush()
                os.fsync(log.fileno())
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
        payload = json.dumps(
            {"mobile": number, "text": text, "reference": reference}, ensure_ascii=False
        ).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")  # noqa: S310  (scheme checked above)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                body = response.read(65536)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
            raise SmsError(f"gateway answered HTTP {exc.code}: {detail}".strip()) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsError(f"gateway not reachable: {reason}") from exc
        if not 200 <= status < 300:
            raise SmsError(f"gateway answered HTTP {status}")
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
