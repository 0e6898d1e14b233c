"""Call-centre seat synchronisation (R4: call-centre seats are synchronised from the
call-centre system; seed 004 12580 坐席资料同步).

The call-centre system is the source of truth for its agents: a seat in the feed is an
active call-centre-agent promoter of its city (path ``seat_feed``) without a separate
approval, with a work ID and a login like an approved registration; a seat that is
inactive or has left the feed disables its promoter and login.

:func:`seats_sync` validates every row first (number of the operator, city = the
synchronised org or in its subtree, no duplicate seat or number, no number of another
live promoter); one bad row rejects the whole feed, writes nothing and leaves a
``SeatSync`` row ``rejected`` listing the errors. A good feed is applied in one
transaction and leaves a ``succeeded`` row with the counts. The same feed run twice
changes nothing the second time (every count 0).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.scoping import path_in_scope
from prm.core.validators import msisdn_normalise
from prm.incentives.adapters.callcentre import (
    SeatFeed,
    SeatRecord,
    SeatSourceError,
    seats_fetch,
    seats_from_upload,
    seats_source_configured,
)
from prm.incentives.models import Promoter, SeatSync
from prm.incentives.numbers import operator_msisdn_clean
from prm.incentives.services.promoters import (
    promoter_login_open,
    promoter_password_send,
    promoter_status_set,
)

logger = logging.getLogger(__name__)

SYNC_PERMISSION = "incentives.sync_seats"
SEAT_STATUSES = ("active", "inactive")
SEAT_NUMBER_MAX_LENGTH = 20
NAME_MAX_LENGTH = 100
# Kinds of org a synchronisation may cover (a city, or a province/HQ with all its cities).
SYNC_ORG_KINDS = (OrgUnit.Kind.HQ, OrgUnit.Kind.PROVINCE, OrgUnit.Kind.CITY)


@dataclass(frozen=True)
class _Seat:
    """A validated row."""

    seat_number: str
    name: str
    msisdn: str
    is_active: bool
    city: OrgUnit


def _error(record: SeatRecord | None, field: str, message: str) -> dict:
    return {
        "row": record.row if record is not None else None,
        "seat_number": record.seat_number if record is not None else "",
        "field": field,
        "message": message,
    }


def _cities_of(org: OrgUnit) -> dict[str, OrgUnit]:
    """The active operator cities the synchronisation of ``org`` covers, by code."""
    cities = OrgUnit.objects.filter(
        kind=OrgUnit.Kind.CITY, is_active=True, path__startswith=org.path
    )
    return {city.code: city for city in cities}


def _seat_promoters(
    cities: dict[str, OrgUnit], *, lock: bool = False
) -> dict[tuple[int, str], Promoter]:
    """The live seat-feed promoters of the cities, by (city id, seat number); with
    ``lock``, their rows are locked for the transaction."""
    promoters = Promoter.objects.select_related("org", "user")
    if lock:
        promoters = promoters.select_for_update(of=("self",))
    promoters = promoters.filter(
        path=Promoter.Path.SEAT_FEED,
        org_id__in=[city.pk for city in cities.values()],
    ).exclude(status=Promoter.Status.REJECTED)
    return {(promoter.org_id, promoter.seat_number): promoter for promoter in promoters}


def _live_holders(records: list[SeatRecord]) -> dict[str, int]:
    """The live promoters (by number) holding the feed's numbers: one query per 500."""
    numbers = sorted({msisdn_normalise(record.msisdn) for record in records if record.msisdn})
    holders: dict[str, int] = {}
    for start in range(0, len(numbers), 500):
        holders.update(
            Promoter.objects.filter(msisdn__in=numbers[start : start + 500])
            .exclude(status=Promoter.Status.REJECTED)
            .values_list("msisdn", "pk")
        )
    return holders


def seats_validate(*, records: list[SeatRecord], org: OrgUnit) -> tuple[list[_Seat], list[dict]]:
    """Every row checked; the good seats and the errors (``row``, ``seat_number``,
    ``field``, ``message``)."""
    cities = _cities_of(org)
    existing = _seat_promoters(cities)
    live_holders = _live_holders(records)
    seats: list[_Seat] = []
    errors: list[dict] = []
    seen_seats: dict[tuple[str, str], int] = {}
    seen_numbers: dict[str, int] = {}
    for record in records:
        row_errors = []
        seat_number = record.seat_number
        if not seat_number:
            row_errors.append(_error(record, "seat_number", _("The seat number is missing.")))
        elif len(seat_number) > SEAT_NUMBER_MAX_LENGTH:
            row_errors.append(
                _error(
                    record,
                    "seat_number",
                    _("The seat number has at most %(n)d characters.")
                    % {"n": SEAT_NUMBER_MAX_LENGTH},
                )
            )
        if not record.name:
            row_errors.append(_error(record, "name", _("The name is missing.")))
        elif len(record.name) > NAME_MAX_LENGTH:
            row_errors.append(
                _error(
                    record,
                    "name",
                    _("The name has at most %(n)d characters.") % {"n": NAME_MAX_LENGTH},
                )
            )
        status = record.status.lower()
        if status not in SEAT_STATUSES:
            row_errors.append(
                _error(
                    record,
                    "status",
                    _("The status “%(value)s” is neither active nor inactive.")
                    % {"value": record.status},
                )
            )
        msisdn = ""
        try:
            msisdn = operator_msisdn_clean(record.msisdn)
        except ApplicationError as exc:
            row_errors.append(_error(record, "msisdn", str(exc.message)))
        city = cities.get(record.city_code)
        if city is None:
            known = OrgUnit.objects.filter(code=record.city_code, kind=OrgUnit.Kind.CITY).exists()
            row_errors.append(
                _error(
                    record,
                    "city_code",
                    _("The city %(code)s is not %(org)s or one of its cities.")
                    % {"code": record.city_code, "org": org.name}
                    if known
                    else _("There is no city with the code “%(code)s”.")
                    % {"code": record.city_code},
                )
            )
        if city is not None and seat_number:
            key = (city.code, seat_number)
            if key in seen_seats:
                row_errors.append(
                    _error(
                        record,
                        "seat_number",
                        _("The seat %(seat)s of %(city)s is also on row %(row)s.")
                        % {"seat": seat_number, "city": city.code, "row": seen_seats[key]},
                    )
                )
            else:
                seen_seats[key] = record.row
        if msisdn and status == "active":
            if msisdn in seen_numbers:
                row_errors.append(
                    _error(
                        record,
                        "msisdn",
                        _("The number %(number)s is also on row %(row)s.")
                        % {"number": msisdn, "row": seen_numbers[msisdn]},
                    )
                )
            else:
                seen_numbers[msisdn] = record.row
            own = existing.get((city.pk, seat_number)) if city is not None else None
            holder = live_holders.get(msisdn)
            if holder is not None and (own is None or holder != own.pk):
                row_errors.append(
                    _error(
                        record,
                        "msisdn",
                        _("The number %(number)s is registered to another promoter.")
                        % {"number": msisdn},
                    )
                )
        if row_errors:
            errors.extend(row_errors)
            continue
        seats.append(
            _Seat(
                seat_number=seat_number,
                name=record.name,
                msisdn=msisdn,
                is_active=status == "active",
                city=city,
            )
        )
    return seats, errors


def _require(*, actor, org: OrgUnit) -> None:
    if org.kind not in SYNC_ORG_KINDS:
        raise ApplicationError(
            "seat_org_invalid",
            _("Seats are synchronised for a city, or a province with its cities."),
            details={"field": "org"},
        )
    if actor is None:
        return  # the scheduler
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden()
    if not actor.has_perm(SYNC_PERMISSION):
        raise Forbidden()
    if not path_in_scope(user=actor, path=org.path):
        raise NotFound()


def _audit(*, actor, sync: SeatSync, org: OrgUnit) -> None:
    audit_event_create(
        actor=actor,
        action=f"seat_sync.{sync.status}",
        target=sync,
        changes={
            "source": sync.source,
            "sha256": sync.sha256,
            "created": sync.created_count,
            "updated": sync.updated_count,
            "disabled": sync.disabled_count,
            "errors": len(sync.errors),
        },
        actor_username="" if actor is not None else "system",
        org_path=org.path,
    )


@transaction.atomic
def _rejected(*, actor, org: OrgUnit, source: str, sha256: str, errors: list[dict]) -> SeatSync:
    sync = SeatSync.objects.create(
        source=source[:300],
        sha256=sha256,
        status=SeatSync.Status.REJECTED,
        errors=errors,
        actor=actor,
        org=org,
    )
    _audit(actor=actor, sync=sync, org=org)
    return sync


def _seat_audit(*, actor, promoter: Promoter, action: str, changes: dict) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=promoter,
        changes=changes,
        actor_username="" if actor is not None else "system",
        org_path=promoter.org.path,
    )


@transaction.atomic
def _apply(*, actor, org: OrgUnit, feed: SeatFeed, seats: list[_Seat]) -> SeatSync:
    cities = _cities_of(org)
    # The rows this run may change are locked: a staff edit waits for the run.
    existing = _seat_promoters(cities, lock=True)
    created = updated = disabled = 0
    now = timezone.now()
    feed_keys = {(seat.city.pk, seat.seat_number) for seat in seats}
    for seat in seats:
        key = (seat.city.pk, seat.seat_number)
        promoter = existing.get(key)
        if not seat.is_active:
            if promoter is not None and promoter.status == Promoter.Status.ACTIVE:
                promoter_status_set(
                    promoter=promoter,
                    actor=actor,
                    status=Promoter.Status.DISABLED,
                    action="promoter.seat_disabled",
                    reason=_("The seat is inactive in the call-centre system."),
                )
                disabled += 1
            continue
        if promoter is None:
            promoter = Promoter(
                name=seat.name,
                msisdn=seat.msisdn,
                kind=Promoter.Kind.CALL_CENTRE_AGENT,
                path=Promoter.Path.SEAT_FEED,
                status=Promoter.Status.ACTIVE,
                org=seat.city,
                seat_number=seat.seat_number,
                decided_at=now,
            )
            password = promoter_login_open(promoter=promoter, actor=actor)
            promoter.save()
            _seat_audit(
                actor=actor,
                promoter=promoter,
                action="promoter.seat_created",
                changes={
                    "status": Promoter.Status.ACTIVE,
                    "path": Promoter.Path.SEAT_FEED,
                    "seat_number": seat.seat_number,
                    "city": seat.city.code,
                    "work_id": promoter.work_id,
                    "login": promoter.user.username,
                },
            )
            promoter_password_send(promoter=promoter, password=password)
            created += 1
            continue
        changes = {}
        if promoter.name != seat.name:
            changes["name"] = [promoter.name, seat.name]
            promoter.name = seat.name
        if promoter.msisdn != seat.msisdn:
            changes["msisdn"] = [promoter.msisdn, seat.msisdn]
            promoter.msisdn = seat.msisdn
        if changes:
            promoter.save(update_fields=["name", "msisdn", "updated_at"])
            _seat_audit(
                actor=actor, promoter=promoter, action="promoter.seat_updated", changes=changes
            )
        changed = bool(changes)
        if promoter.status == Promoter.Status.DISABLED:
            promoter_status_set(
                promoter=promoter,
                actor=actor,
                status=Promoter.Status.ACTIVE,
                action="promoter.seat_enabled",
            )
            changed = True
        updated += int(changed)
    for key, promoter in existing.items():
        if key in feed_keys or promoter.status != Promoter.Status.ACTIVE:
            continue
        promoter_status_set(
            promoter=promoter,
            actor=actor,
            status=Promoter.Status.DISABLED,
            action="promoter.seat_disabled",
            reason=_("The seat is no longer in the call-centre system."),
        )
        disabled += 1
    sync = SeatSync.objects.create(
        source=feed.source[:300],
        sha256=feed.sha256,
        status=SeatSync.Status.SUCCEEDED,
        created_count=created,
        updated_count=updated,
        disabled_count=disabled,
        actor=actor,
        org=org,
    )
    _audit(actor=actor, sync=sync, org=org)
    return sync


def seats_sync(
    *,
    actor,
    org: OrgUnit,
    source: str | None = None,
    upload: tuple[str, bytes] | None = None,
) -> SeatSync:
    """Synchronise the call-centre seats of ``org`` (a city, or a province/HQ with all
    its cities) from ``source`` (default ``PRM_CALLCENTRE_SEATS_SOURCE``) or from an
    uploaded file ``(name, content)``.

    ``actor`` is the user running it (``incentives.sync_seats``, ``org`` in their scope)
    or ``None`` for the scheduler. Returns the ``SeatSync`` record: ``rejected`` (nothing
    written, errors listed) or ``succeeded`` (counts). Raises ``ApplicationError`` only
    when no source is configured or the caller may not synchronise ``org``.
    """
    _require(actor=actor, org=org)
    source = (source if source is not None else seats_source_configured()).strip()
    if upload is None and not source:
        raise ApplicationError(
            "seat_source_missing",
            _("No call-centre seat source is configured: upload a seat file."),
            details={"field": "upload"},
        )
    # Read the feed outside any transaction: it may wait on a disk or the network.
    try:
        if upload is not None:
            feed = seats_from_upload(name=upload[0], content=upload[1])
        else:
            feed = seats_fetch(source=source, city_code=org.code)
    except SeatSourceError as exc:
        label = f"upload:{upload[0]}" if upload is not None else source
        logger.warning("seat feed %s for %s not readable: %s", label, org.code, exc)
        return _rejected(
            actor=actor,
            org=org,
            source=label,
            sha256="",
            errors=[
                _error(
                    None,
                    "source",
                    _("The seat feed could not be read: %(reason)s") % {"reason": str(exc)},
                )
            ],
        )
    seats, errors = seats_validate(records=feed.records, org=org)
    if errors:
        return _rejected(
            actor=actor, org=org, source=feed.source, sha256=feed.sha256, errors=errors
        )
    return _apply(actor=actor, org=org, feed=feed, seats=seats)


def seats_sync_all() -> list[SeatSync]:
    """The scheduled synchronisation (daily), when ``PRM_CALLCENTRE_SEATS_SOURCE`` is set.

    A source naming ``{city_code}`` is one feed per city: each active operator city is
    synchronised from its own feed. Any other source is one feed for the whole operator:
    it is synchronised once for each top of the operator tree (the HQ), covering every
    city, so that a row of one city is never judged against another city's run.
    """
    source = seats_source_configured()
    if not source:
        return []
    if "{city_code}" in source:
        orgs = OrgUnit.objects.filter(kind=OrgUnit.Kind.CITY, is_active=True)
    else:
        orgs = OrgUnit.objects.filter(kind__in=SYNC_ORG_KINDS, parent__isnull=True, is_active=True)
    results = []
    for org in orgs.order_by("path"):
        try:
            results.append(seats_sync(actor=None, org=org, source=source))
        except ApplicationError as exc:  # one org's failure does not stop the others
            logger.warning("seat synchronisation of %s refused: %s", org.code, exc)
    return results
