"""The plumbing every file/HTTP adapter to an outside system shares (SMS gateway,
billing orders, …): append one JSON line durably to a spool, and POST JSON with a bearer
token. Adapters turn ``OutboundError`` into their own error with their own wording."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

_spool_lock = threading.Lock()


class OutboundError(Exception):
    """The outside system could not be reached or answered with an HTTP error.

    ``status`` is the HTTP status when there was an answer (else ``None``); ``detail`` the
    start of its body or the transport error.
    """

    def __init__(self, *, status: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def json_line_append(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line and fsync it before returning (raises OSError):
    once this returns, the line survives a crash."""
    line = json.dumps(record, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _spool_lock, open(path, "a", encoding="utf-8") as spool:
        spool.write(line + "\n")
        spool.flush()
        os.fsync(spool.fileno())


def json_post(*, url: str, payload: dict[str, Any], token: str, timeout: float) -> bytes:
    """POST ``payload`` as JSON (bearer ``token`` if set) and return the answer's body
    (at most 64 KiB) for a 2xx answer; otherwise raise ``OutboundError``. The caller checks
    that ``url`` is http(s)."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310  (callers check the scheme)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        raise OutboundError(status=exc.code, detail=detail) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise OutboundError(status=None, detail=str(getattr(exc, "reason", exc))) from exc
    if not 200 <= status < 300:
        raise OutboundError(status=status, detail="")
    return body
