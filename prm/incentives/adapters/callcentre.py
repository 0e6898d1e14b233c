"""The call-centre (12580) seat feed (R4: call-centre seats are synchronised from the
call-centre system, seed 004 "12580平台和业务激励系统可进行坐席资料同步").

A feed is the list of the call-centre's seats, each with the fields of :data:`FIELDS`:
``seat_number``, ``name``, ``msisdn``, ``status`` (``active``/``inactive``) and
``city_code`` (the operator city org unit the seat belongs to). Where it comes from is
the *source*, by default ``PRM_CALLCENTRE_SEATS_SOURCE``:

- ``http://…`` or ``https://…``: a ``GET`` answered with a JSON list of seat objects;
  ``Authorization: Bearer <PRM_CALLCENTRE_SEATS_TOKEN>`` when a token is set, timeout
  ``PRM_CALLCENTRE_SEATS_TIMEOUT`` seconds (30 by default).
- ``fake``: the in-process feed of tests and the demo (:func:`seats_fake_set`).
- anything else: the path of a CSV file (UTF-8, header row with the field names) or of a
  JSON file (``.json``) the call-centre system drops.

``{city_code}`` in a source is replaced by the code of the org being synchronised, so one
setting can address one feed per city (``https://cc.example/seats?city={city_code}``,
``/data/seats/{city_code}.csv``).

The adapter only reads and parses: it never judges the rows (the service validates every
row before writing anything) and it raises :class:`SeatSourceError` when the feed cannot
be read at all. It waits on disks and networks, so it is never called inside a database
transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

FIELDS = ("seat_number", "name", "msisdn", "status", "city_code")
CITY_PLACEHOLDER = "{city_code}"
FAKE_SOURCE = "fake"
# A seat feed of a province is a few thousand rows; anything far larger is not a feed.
MAX_FEED_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 30


class SeatSourceError(Exception):
    """The feed could not be read or is not a list of seats; the text says why."""


@dataclass(frozen=True)
class SeatRecord:
    """One seat as the feed gives it (strings, not yet validated). ``row`` is the row's
    number in the feed: the line of a CSV file (the header is line 1), the 1-based
    position in a JSON list."""

    row: int
    seat_number: str
    name: str
    msisdn: str
    status: str
    city_code: str


@dataclass(frozen=True)
class SeatFeed:
    """A feed read from a source: a label safe to store (never the token), the SHA-256 of
    the bytes read (an empty feed from the fake hashes its JSON form) and the seats."""

    source: str
    sha256: str
    records: list[SeatRecord]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _record(row: int, values: dict) -> SeatRecord:
    return SeatRecord(row=row, **{name: _text(values.get(name)) for name in FIELDS})


def seats_parse_csv(content: bytes) -> list[SeatRecord]:
    """The seats of a CSV feed (UTF-8, optional BOM; a header row naming the fields;
    other columns are ignored)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeatSourceError("the seat file is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [_text(name).lower() for name in (reader.fieldnames or [])]
    missing = [name for name in FIELDS if name not in header]
    if missing:
        raise SeatSourceError(f"the seat file lacks the columns: {', '.join(missing)}")
    reader.fieldnames = header
    records = []
    for values in reader:
        if not any(_text(value) for key, value in values.items() if key is not None):
            continue  # a blank line
        records.append(_record(reader.line_num, values))
    return records


def seats_parse_json(content: bytes) -> list[SeatRecord]:
    """The seats of a JSON feed: a list of objects with the fields of :data:`FIELDS`."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SeatSourceError("the seat feed is not JSON") from exc
    if not isinstance(data, list):
        raise SeatSourceError("the seat feed is not a JSON list")
    records = []
    for position, values in enumerate(data, start=1):
        if not isinstance(values, dict):
            raise SeatSourceError(f"item {position} of the seat feed is not an object")
        records.append(_record(position, values))
    return records


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def seats_from_upload(*, name: str, content: bytes) -> SeatFeed:
    """A feed uploaded on the seat page: JSON when the name ends in ``.json``, else CSV."""
    if len(content) > MAX_FEED_BYTES:
        raise SeatSourceError("the seat file is too large")
    parse = seats_parse_json if name.lower().endswith(".json") else seats_parse_csv
    return SeatFeed(source=f"upload:{name}"[:300], sha256=_sha256(content), records=parse(content))


# ---- HTTP ----------------------------------------------------------------------------------


def _http_get(url: str, *, token: str, timeout: float) -> bytes:
    """The body of a ``GET`` of the call-centre's seat endpoint (the outside world)."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310  (scheme checked by the caller)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_FEED_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise SeatSourceError(f"the call-centre system answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SeatSourceError(f"the call-centre system is not reachable: {reason}") from exc
    if len(body) > MAX_FEED_BYTES:
        raise SeatSourceError("the seat feed is too large")
    return body


def _url_label(url: str) -> str:
    """The address to store: without any ``user:password@`` part."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))[:300]


def _is_http(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _timeout() -> float:
    return float(getattr(settings, "PRM_CALLCENTRE_SEATS_TIMEOUT", 0) or DEFAULT_TIMEOUT_SECONDS)


# ---- Fake ----------------------------------------------------------------------------------


class FakeSeatSource:
    """The in-process call-centre system of tests and the demo: a list of seat dicts."""

    def __init__(self) -> None:
        self.seats: list[dict] = []
        self.failure: str | None = None

    def read(self) -> bytes:
        if self.failure is not None:
            raise SeatSourceError(self.failure)
        return json.dumps(self.seats, ensure_ascii=False, sort_keys=True).encode("utf-8")


_fake = FakeSeatSource()


def seats_fake_set(seats: list[dict], *, failure: str | None = None) -> None:
    """Give the fake call-centre system its seats (or make every read fail)."""
    _fake.seats = [dict(seat) for seat in seats]
    _fake.failure = failure


def seats_fake_reset() -> None:
    seats_fake_set([])


# ---- Entry point ---------------------------------------------------------------------------


def seats_source_configured() -> str:
    return (getattr(settings, "PRM_CALLCENTRE_SEATS_SOURCE", "") or "").strip()


def seats_fetch(*, source: str, city_code: str = "") -> SeatFeed:
    """Read the feed at ``source`` (see the module docstring); ``{city_code}`` in it is
    replaced by ``city_code``."""
    source = (source or "").strip().replace(CITY_PLACEHOLDER, city_code)
    if not source:
        raise SeatSourceError("no seat source is configured")
    if source == FAKE_SOURCE:
        content = _fake.read()
        return SeatFeed(
            source=FAKE_SOURCE, sha256=_sha256(content), records=seats_parse_json(content)
        )
    if _is_http(source):
        token = getattr(settings, "PRM_CALLCENTRE_SEATS_TOKEN", "") or ""
        content = _http_get(source, token=token, timeout=_timeout())
        return SeatFeed(
            source=_url_label(source), sha256=_sha256(content), records=seats_parse_json(content)
        )
    path = Path(source)
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise SeatSourceError("the seat file is too large")
        content = path.read_bytes()
    except OSError as exc:
        raise SeatSourceError(f"cannot read the seat file {path}: {exc.strerror or exc}") from exc
    parse = seats_parse_json if path.suffix.lower() == ".json" else seats_parse_csv
    return SeatFeed(source=str(path)[:300], sha256=_sha256(content), records=parse(content))
