"""The monthly rebate settlement of a city (R4 commission management: calculation,
approval city → province, payment; rebate rule 5: settle on the 15th of the month after
the observation windows closed). ADR 0014.

Periods. A development record belongs to period ``P`` when the last day of its
observation window (``recommended_at`` + 2 calendar months, minus one second) falls in
``P`` (contract ``settlement-files.md``). The run on the 15th settles the windows that
closed last month: on 2026-04-15 the default period is 2026-03. A period can be settled
once it is over (``P`` before the current month).

Inputs (:func:`settlement_run_compute`). The run exports, into
``storage.run_dir(number, revision)/input/``, what the engine reads:

- ``records``: the city's recommendations (``Recommendation.org``) recommended from the
  first day of ``P−5`` to the end of ``P−1`` — the records whose window can end in ``P``
  (recommended in ``P−3`` … ``P−1``) plus the earlier ones the duplicate rule compares
  with (it looks back to the first day of the third month before the month of
  development). Every recommendation counts, whatever its status (a declined or never
  answered one has no ``confirmed_at`` and fails ``unconfirmed``);
- ``products``: every rebate version (``product_versions_for_export``);
- ``rebate_history``: the records paid by approved runs of any city (rule 4 is about the
  number and product, not the city), for the numbers of ``records``;
- ``paid_records``: the city's records paid by approved runs in the last 6 months and not
  clawed back yet (a later upheld complaint claws them back);
- the billing extracts ``usage_monthly``, ``product_changes``, ``billing`` and
  ``complaints``: the union of the store months ``P−5`` … ``P`` (rule "no same product in
  the 3 months before the month of development" reaches back to ``P−5``); ``subscribers``
  is a snapshot at settlement time: the one of the latest imported month up to ``P+1``
  (the freshest state that a later re-run of an old period cannot move past).
  Only the rows of the numbers in ``records`` and ``paid_records`` are exported: every
  rule joins on the number, so the result is the same and a city's input stays small;
- ``app_inputs.json``: what the app adds to the engine's statements (carried-in
  balances and adjustments), so that the input hashes cover it too.

The engine (:func:`prm.incentives.engine.settle_files`) writes ``out/``; the run adds
``out/promoters.parquet`` for the analysis pages. ``SettlementRun.artefact_dir`` is that
``out`` directory. Statements add, per promoter, the negative balance carried in from
their latest approved statement of the city (an earlier period) and the adjustments not
yet paid: ``net = gross + clawback + carried_in + adjustments``, ``payable = max(net,
0)``, ``carry_forward = min(net, 0)``.

Re-runs and idempotency (DESIGN: idempotency). Until it is submitted a run may be run
again: when the input files hash the same as those of the current revision (same rule
version), nothing is recomputed or rewritten ("no change"); otherwise the new result
becomes revision + 1, replaces the statements and ``changes`` says what moved. Older
revision directories are deleted once the new one is committed.

Approval (``SETTLEMENT_WORKFLOW``): the city's channel managers, then the province's.
Whoever started the run cannot approve it (four-eyes; the workflow engine already
excludes the submitter). A rejection or withdrawal returns the run to ``computed``. The
final approval locks the run for good: paid records, clawbacks and applied adjustments
are written, the billing month of the period is locked; corrections are adjustments in a
later run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.core import notifications
from prm.core.audit import audit_event_create
from prm.core.calendar import business_date
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import WorkflowInstance
from prm.core.scoping import path_in_scope
from prm.core.workflow import (
    workflow_approve,
    workflow_instance_for,
    workflow_reject,
    workflow_resubmit,
    workflow_submit,
)
from prm.incentives import storage
from prm.incentives.constants import (
    EVENT_RUN_APPROVED,
    EVENT_RUN_COMPUTED,
    EVENT_RUN_FAILED,
    EVENT_RUN_NOT_STARTED,
    SETTLEMENT_WORKFLOW,
)
from prm.incentives.engine import RULE_VERSION, TABLES, SettlementInputError, settle_files
from prm.incentives.models import (
    BillingMonth,
    Clawback,
    PaidRecord,
    Promoter,
    Recommendation,
    SettlementAdjustment,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.selectors_products import product_versions_for_export

logger = logging.getLogger(__name__)

START_PERMISSION = "incentives.start_settlementrun"
APPROVE_PERMISSION = "incentives.approve_settlementrun"
ADJUST_PERMISSION = "incentives.add_settlementadjustment"

# Sent to a city's channel managers when the monthly schedule could not start a run.

Status = SettlementRun.Status
ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
LOCKED_STATUSES = (Status.SUBMITTED, Status.APPROVED)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what DecimalField(14, 2) holds

# Months of billing extracts a run of period P needs: P−5 … P.
BILLING_MONTHS_BEFORE = 5
# The records exported: recommended from the first day of P−5 to the end of P−1.
RECORDS_MONTHS_BEFORE = 5
# Paid records that can still be clawed back in P (complaint within 6 months).
PAID_MONTHS_BEFORE = 6
# Rebate history the 6-month rule needs (records of P are recommended from P−3 on).
HISTORY_MONTHS_BEFORE = 10

ARTEFACT_FILES = (
    "verdicts.parquet",
    "clawbacks.parquet",
    "statements.parquet",
    "summary.json",
    "promoters.parquet",
)
APP_INPUTS_FILE = "app_inputs.json"
EXPORT_CHUNK = 50_000
DB_CHUNK = 2_000
CHANGED_PROMOTERS_SHOWN = 20

# Progress (percent at the end of each step); the engine fills 30 → 90.
_PROGRESS_EXPORT_START = 2
_PROGRESS_ENGINE_START = 30
_PROGRESS_ENGINE_END = 90
_PROGRESS_STATEMENTS = 94

_PERIOD_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


# --- Periods --------------------------------------------------------------------------------


def month_add(month: date, months: int) -> date:
    """The first day of the month ``months`` after (before, if negative) ``month``."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_parse(period: str) -> date:
    """``YYYY-MM`` → the first day of that month; a clear error otherwise."""
    match = _PERIOD_RE.fullmatch(str(period or "").strip())
    if not match or not 2000 <= int(match.group(1)) <= 2199:
        raise ApplicationError(
            "invalid_period",
            _("The period must be a month written YYYY-MM (e.g. 2026-03)."),
            details={"field": "period"},
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def period_text(month: date) -> str:
    return month.strftime("%Y-%m")


def settlement_period_default(today: date | None = None) -> str:
    """The period the run of ``today`` settles: the previous month.

    A record belongs to period P when the last day of its observation window falls in
    P, so on the 15th of a month (R4 rule 5) the windows that closed last month are
    settled: on 2026-04-15 the period is 2026-03.
    """
    today = today or business_date()
    return period_text(month_add(date(today.year, today.month, 1), -1))


def run_number(*, period: str, org: OrgUnit) -> str:
    return f"ST-{period}-{org.code}"


def billing_months_needed(month: date) -> list[date]:
    """The store months a run of period ``month`` reads: P−5 … P."""
    return [month_add(month, -offset) for offset in range(BILLING_MONTHS_BEFORE, -1, -1)]


def billing_months_missing(month: date) -> list[date]:
    """The needed store months that have not been imported."""
    needed = billing_months_needed(month)
    imported = set(
        BillingMonth.objects.filter(month__in=needed, imported_at__isnull=False).values_list(
            "month", flat=True
        )
    )
    return [m for m in needed if m not in imported]


def _month_start_aware(month: date) -> datetime:
    return timezone.make_aware(datetime.combine(month, time.min), timezone.get_default_timezone())


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0")).quantize(CENT)


# --- Permission and scope -----------------------------------------------------------------


def _require_permission(actor, permission: str) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_active
        or not actor.has_perm(permission)
    ):
        raise Forbidden()


def _require_in_scope(actor, org: OrgUnit) -> None:
    """Another city's run answers "not found", as if it did not exist."""
    if not path_in_scope(user=actor, path=org.path):
        raise NotFound()


def _locked_run(run_id: int) -> SettlementRun:
    return (
        SettlementRun.objects.select_for_update(of=("self",)).select_related("org").get(pk=run_id)
    )


def _refuse_locked(run: SettlementRun) -> None:
    if run.status == Status.APPROVED:
        raise ApplicationError(
            "run_approved",
            _(
                "The settlement %(number)s is approved and can no longer be changed; "
                "corrections are adjustments paid in a later run."
            )
            % {"number": run.number},
            status=409,
        )
    if run.status == Status.SUBMITTED:
        raise ApplicationError(
            "run_in_approval",
            _(
                "The settlement %(number)s is in approval and cannot be changed. Ask the "
                "approver to reject it first."
            )
            % {"number": run.number},
            status=409,
        )


def _audit(run: SettlementRun, *, actor, action: str, changes: dict) -> None:
    audit_event_create(
        actor=actor,
        action=f"settlement.{action}",
        target=run,
        changes=changes,
        actor_username="system" if actor is None else "",
        org_path=run.org.path,
    )


def run_url(run: SettlementRun) -> str:
    return reverse("incentives:run_detail", kwargs={"number": run.number})


def _city_users(run: SettlementRun, roles: Iterable[str]) -> list:
    users = []
    manager = get_user_model().objects
    for role in roles:
        users += list(manager.approvers_for(role_code=role, org_path=run.org.path))
    return users


def _notify(*, recipients, event: str, run: SettlementRun, **context) -> None:
    recipients = [user for user in recipients if user is not None and user.is_active]
    if not recipients:
        return
    notifications.notify(
        recipients=recipients,
        event=event,
        context={
            "number": run.number,
            "period": run.period,
            "city": run.org.name,
            **{key: str(value) for key, value in context.items()},
        },
        link=run_url(run),
    )


# --- Start ----------------------------------------------------------------------------------


def settlement_run_start(*, org: OrgUnit, period: str | None = None, actor=None) -> SettlementRun:
    """Queue the settlement of ``org`` (a city) for ``period`` (default: the previous
    month, see :func:`settlement_period_default`); a computed or failed run of that city
    and period is run again.

    ``actor`` is ``None`` for the monthly schedule; a user needs
    ``incentives.start_settlementrun`` and the city in their subtree (a channel manager
    of the city or above). Refused, with nothing written: a period not over yet, a run
    in approval or approved, a run being computed, a missing billing month (P−5 … P,
    listed). The computation runs as a Celery task after the commit (eagerly without a
    broker); the run's page shows its progress.

    Four-eyes: ``started_by`` is the last person who started the run; a re-run by the
    schedule keeps the previous starter.
    """
    if actor is not None:
        _require_permission(actor, START_PERMISSION)
        _require_in_scope(actor, org)
    if org.kind != OrgUnit.Kind.CITY or not org.is_active:
        raise ApplicationError(
            "not_a_city",
            _("Settlements are run per active city; %(org)s is not one.") % {"org": org.name},
            details={"field": "city"},
        )
    today = business_date()
    month = period_parse(period or settlement_period_default(today))
    period = period_text(month)
    if month >= date(today.year, today.month, 1):
        raise ApplicationError(
            "period_not_closed",
            _(
                "The period %(period)s is not over yet: it can be settled from the 1st of "
                "the following month."
            )
            % {"period": period},
            details={"field": "period"},
        )
    with transaction.atomic():
        run = (
            SettlementRun.objects.select_for_update(of=("self",))
            .select_related("org")
            .filter(period=period, org=org)
            .first()
        )
        if run is not None:
            _refuse_locked(run)
            if run.status in ACTIVE_STATUSES:
                raise ApplicationError(
                    "run_busy",
                    _("The settlement %(number)s is already being computed.")
                    % {"number": run.number},
                    status=409,
                )
        missing = billing_months_missing(month)
        if missing:
            raise ApplicationError(
                "billing_months_missing",
                _(
                    "The settlement of %(period)s needs the billing extracts of %(first)s to "
                    "%(last)s. Missing: %(missing)s. Import them first."
                )
                % {
                    "period": period,
                    "first": period_text(billing_months_needed(month)[0]),
                    "last": period,
                    "missing": ", ".join(period_text(m) for m in missing),
                },
                details={"missing": [period_text(m) for m in missing]},
            )
        now = timezone.now()
        if run is None:
            run = SettlementRun(number=run_number(period=period, org=org), period=period, org=org)
            old_status = ""
        else:
            old_status = run.transition_to(Status.QUEUED)
        run.started_by = actor if actor is not None else run.started_by
        run.started_at = now
        run.finished_at = None
        run.progress = 0
        run.stage = "queued"
        run.message = ""
        run.save()
        _audit(
            run,
            actor=actor,
            action="rerun" if old_status else "started",
            changes={"status": [old_status, run.status], "revision": run.revision},
        )
        transaction.on_commit(partial(_enqueue_compute, run.pk))
    return run


def settlement_run_rerun(*, run: SettlementRun, actor) -> SettlementRun:
    """Run a computed or failed run again (retry) — the same checks as a start."""
    return settlement_run_start(org=run.org, period=run.period, actor=actor)


def _enqueue_compute(run_id: int) -> None:
    from prm.incentives.tasks import settlement_run_compute_task

    settlement_run_compute_task.delay(run_id)


# --- Compute --------------------------------------------------------------------------------


def _progress_set(run_id: int, stage: str, percent: int) -> None:
    SettlementRun.objects.filter(pk=run_id).update(
        stage=stage[:60], progress=max(0, min(100, int(percent))), updated_at=timezone.now()
    )


def settlement_run_compute(*, run_id: int) -> SettlementRun:
    """Compute a queued run (the Celery task calls this): export the inputs, run the
    engine, keep the artefacts, write the statements. A run that is not queued (already
    computed, or a redelivered task) is left as it is. Any failure leaves the previous
    result as it was and marks the run failed with the reason; it can be run again."""
    with transaction.atomic():
        run = (
            SettlementRun.objects.select_for_update(of=("self",))
            .select_related("org", "started_by")
            .get(pk=run_id)
        )
        if run.status != Status.QUEUED:
            return run
        run.transition_to(Status.RUNNING)
        run.stage = "export"
        run.progress = _PROGRESS_EXPORT_START
        run.save(update_fields=["status", "stage", "progress", "updated_at"])
    starter = run.started_by
    language = getattr(starter, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            return _compute(run)
        except Exception as exc:
            logger.exception("Settlement run %s failed", run.number)
            if isinstance(exc, SettlementInputError):
                message = _("The settlement input is not valid: %(error)s") % {"error": str(exc)}
            elif isinstance(exc, ApplicationError):
                message = str(exc.message)
            else:
                message = _(
                    "The settlement failed unexpectedly (%(error)s). The previous result, if "
                    "any, is unchanged."
                ) % {"error": f"{exc.__class__.__name__}: {str(exc)[:300]}"}
            return _fail(run.pk, message)


def _fail(run_id: int, message: str) -> SettlementRun:
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status not in ACTIVE_STATUSES:
            return run
        old = run.transition_to(Status.FAILED)
        run.finished_at = timezone.now()
        run.stage = "failed"
        run.message = message
        run.save(update_fields=["status", "finished_at", "stage", "message", "updated_at"])
        _audit(run, actor=None, action="failed", changes={"status": [old, run.status]})
        _notify(
            recipients=[run.started_by, *_city_users(run, ["channel_manager"])],
            event=EVENT_RUN_FAILED,
            run=run,
            message=message,
        )
    return run


def _compute(run: SettlementRun) -> SettlementRun:
    month = period_parse(run.period)
    revision = run.revision + 1
    base = storage.run_dir(number=run.number, revision=revision)
    shutil.rmtree(base, ignore_errors=True)  # the leftover of an interrupted attempt
    input_dir, out_dir = base / "input", base / "out"
    input_dir.mkdir(parents=True)
    try:
        app_inputs = _inputs_export(run=run, month=month, input_dir=input_dir)
        hashes = _hashes(input_dir)
        current = Path(run.artefact_dir) if run.artefact_dir else None
        if (
            run.revision
            and run.input_sha256 == hashes
            and run.rule_version == RULE_VERSION
            and current is not None
            and all((current / name).is_file() for name in ARTEFACT_FILES)
        ):
            shutil.rmtree(base, ignore_errors=True)
            return _finish_unchanged(run.pk)

        def engine_progress(stage: str, fraction: float) -> None:
            span = _PROGRESS_ENGINE_END - _PROGRESS_ENGINE_START
            _progress_set(run.pk, stage, _PROGRESS_ENGINE_START + span * fraction)

        _progress_set(run.pk, "engine", _PROGRESS_ENGINE_START)
        summary = settle_files(
            run.period,
            input_dir,
            out_dir,
            memory_limit=settings.PRM_SETTLEMENT_MEMORY_LIMIT,
            threads=settings.PRM_SETTLEMENT_THREADS or None,
            progress=engine_progress,
        )
        _progress_set(run.pk, "statements", _PROGRESS_STATEMENTS)
        statements = _statements_build(out_dir=out_dir, app_inputs=app_inputs)
        _promoters_write(out_dir / "promoters.parquet", [row["promoter_id"] for row in statements])
        artefacts = {name: _sha256(out_dir / name) for name in ARTEFACT_FILES}
        return _finish_computed(
            run.pk,
            revision=revision,
            out_dir=out_dir,
            hashes=hashes,
            artefacts=artefacts,
            summary=summary,
            statements=statements,
            app_inputs=app_inputs,
        )
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _hashes(directory: Path) -> dict[str, str]:
    return {path.name: _sha256(path) for path in sorted(directory.iterdir()) if path.is_file()}


def _duckdb() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET TimeZone = {_literal(settings.TIME_ZONE)}")
    con.execute(f"SET memory_limit = {_literal(settings.PRM_SETTLEMENT_MEMORY_LIMIT)}")
    if settings.PRM_SETTLEMENT_THREADS:
        con.execute(f"SET threads = {int(settings.PRM_SETTLEMENT_THREADS)}")
    return con


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


# Input export -------------------------------------------------------------------------------

_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
_MONEY = pa.decimal128(14, 2)

RECORDS_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("promoter_id", pa.int64()),
        ("msisdn", pa.string()),
        ("product_code", pa.string()),
        ("recommended_at", pa.timestamp("us")),
        ("confirmed_at", pa.timestamp("us")),
    ]
)
PRODUCTS_SCHEMA = pa.schema(
    [
        ("product_code", pa.string()),
        ("monthly_fee", _MONEY),
        ("rebate", _MONEY),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),
    ]
)
HISTORY_SCHEMA = pa.schema(
    [("msisdn", pa.string()), ("product_code", pa.string()), ("recommended_at", pa.timestamp("us"))]
)
PAID_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("promoter_id", pa.int64()),
        ("msisdn", pa.string()),
        ("product_code", pa.string()),
        ("recommended_at", pa.timestamp("us")),
        ("amount", _MONEY),
    ]
)
PROMOTERS_SCHEMA = pa.schema(
    [
        ("promoter_id", pa.int64()),
        ("work_id", pa.string()),
        ("name", pa.string()),
        ("channel_id", pa.int64()),
        ("channel_code", pa.string()),
        ("channel_name", pa.string()),
        ("city_id", pa.int64()),
        ("city_name", pa.string()),
    ]
)


def _local_naive(values: list) -> pa.Array:
    """Aware datetimes → naive local timestamps (settings.TIME_ZONE), vectorised."""
    instants = pa.array(values, type=_UTC_TIMESTAMP)
    return pc.local_timestamp(instants.cast(pa.timestamp("us", tz=settings.TIME_ZONE)))


def _batch(schema: pa.Schema, columns: list[list]) -> pa.RecordBatch:
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_timestamp(field.type):
            arrays.append(_local_naive(values))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _parquet_write(path: Path, schema: pa.Schema, rows: Iterable[tuple]) -> int:
    """Stream ``rows`` (tuples in schema order; timestamps aware) to a Parquet file in
    batches: a million records never sit in Python at once. The rows come from Django's
    cursor on this thread, so pyarrow writes them (DuckDB would pull them from its own
    threads)."""
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        columns: list[list] = [[] for _ in schema]
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            if len(columns[0]) >= EXPORT_CHUNK:
                writer.write_batch(_batch(schema, columns))
                count += len(columns[0])
                columns = [[] for _ in schema]
        if columns[0] or count == 0:
            writer.write_batch(_batch(schema, columns))
            count += len(columns[0])
    return count


def _records_queryset(*, org: OrgUnit, month: date):
    return Recommendation.objects.filter(
        org=org,
        recommended_at__gte=_month_start_aware(month_add(month, -RECORDS_MONTHS_BEFORE)),
        recommended_at__lt=_month_start_aware(month),
    )


def _inputs_export(*, run: SettlementRun, month: date, input_dir: Path) -> dict:
    """Write the engine's input files (see the module docstring) and ``app_inputs.json``;
    return the app inputs (carried-in balances and adjustments by promoter)."""
    records = _records_queryset(org=run.org, month=month)
    _parquet_write(
        input_dir / "records.parquet",
        RECORDS_SCHEMA,
        records.order_by("pk")
        .values_list(
            "pk", "promoter_id", "msisdn", "product__code", "recommended_at", "confirmed_at"
        )
        .iterator(chunk_size=DB_CHUNK),
    )
    _progress_set(run.pk, "export", 10)
    _parquet_write(
        input_dir / "products.parquet",
        PRODUCTS_SCHEMA,
        (
            (
                row["product_code"],
                row["monthly_fee"],
                row["rebate"],
                row["effective_from"],
                row["effective_to"],
            )
            for row in product_versions_for_export()
        ),
    )
    paid = PaidRecord.objects.filter(run__status=Status.APPROVED)
    _parquet_write(
        input_dir / "rebate_history.parquet",
        HISTORY_SCHEMA,
        paid.filter(
            recommendation__recommended_at__gte=_month_start_aware(
                month_add(month, -HISTORY_MONTHS_BEFORE)
            ),
            recommendation__msisdn__in=records.values("msisdn"),
        )
        .order_by("recommendation_id")
        .values_list(
            "recommendation__msisdn",
            "recommendation__product__code",
            "recommendation__recommended_at",
        )
        .iterator(chunk_size=DB_CHUNK),
    )
    _parquet_write(
        input_dir / "paid_records.parquet",
        PAID_SCHEMA,
        paid.filter(
            recommendation__org=run.org,
            recommendation__recommended_at__gte=_month_start_aware(
                month_add(month, -PAID_MONTHS_BEFORE)
            ),
            clawback__isnull=True,
        )
        .order_by("recommendation_id")
        .values_list(
            "recommendation_id",
            "recommendation__promoter_id",
            "recommendation__msisdn",
            "recommendation__product__code",
            "recommendation__recommended_at",
            "amount",
        )
        .iterator(chunk_size=DB_CHUNK),
    )
    _progress_set(run.pk, "export", 15)
    _billing_export(run=run, month=month, input_dir=input_dir)
    app_inputs = _app_inputs(run=run, month=month)
    (input_dir / APP_INPUTS_FILE).write_text(
        json.dumps(
            {
                "carried_in": [[pid, str(amount)] for pid, amount in app_inputs["carried_in"]],
                "adjustments": [
                    [pk, pid, str(amount)] for pk, pid, amount in app_inputs["adjustments"]
                ],
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return app_inputs


def _subscribers_month(month: date) -> date | None:
    """The latest imported month up to P+1 whose store holds a subscribers snapshot."""
    candidates = BillingMonth.objects.filter(
        month__lte=month_add(month, 1), imported_at__isnull=False
    ).order_by("-month")
    for candidate in candidates.values_list("month", flat=True)[:3]:
        if (storage.billing_month_dir(candidate) / "subscribers.parquet").is_file():
            return candidate
    return None


def _billing_export(*, run: SettlementRun, month: date, input_dir: Path) -> None:
    """The billing tables from the store (DuckDB COPY, only the rows of the numbers the
    run's records and paid records hold; ordered, so the same store gives the same bytes).
    """
    months = billing_months_needed(month)
    snapshot = _subscribers_month(month)
    con = _duckdb()
    try:
        con.execute(
            "CREATE TEMP TABLE keys AS SELECT DISTINCT CAST(msisdn AS BIGINT) AS m FROM ("
            f"SELECT msisdn FROM read_parquet({_literal(input_dir / 'records.parquet')}) "
            "UNION ALL "
            f"SELECT msisdn FROM read_parquet({_literal(input_dir / 'paid_records.parquet')}))"
        )
        for index, table in enumerate(storage.BILLING_TABLES):
            if table == "subscribers":
                chosen = [snapshot] if snapshot is not None else []
            else:
                chosen = months
            files = [
                storage.billing_month_dir(m) / f"{table}.parquet"
                for m in chosen
                if (storage.billing_month_dir(m) / f"{table}.parquet").is_file()
            ]
            if not files:
                continue  # an absent optional table is empty; a required one fails the engine
            columns = ", ".join(f'"{name}"' for name in TABLES[table].column_names)
            sources = "[" + ", ".join(_literal(path) for path in files) + "]"
            con.execute(
                f"COPY (SELECT {columns} FROM read_parquet({sources}, union_by_name = true) "
                "WHERE CAST(msisdn AS BIGINT) IN (SELECT m FROM keys) ORDER BY ALL) "
                f"TO {_literal(input_dir / f'{table}.parquet')} (FORMAT parquet)"
            )
            _progress_set(run.pk, "export", 15 + (index + 1) * 12 // len(storage.BILLING_TABLES))
    finally:
        con.close()


def _app_inputs(*, run: SettlementRun, month: date) -> dict:
    """What the app adds to the engine's figures, per promoter (ordered, for hashing):

    - ``carried_in``: the negative ``carry_forward`` of the promoter's latest approved
      statement of this city for an earlier period;
    - ``adjustments``: the adjustments of the city's promoters not paid yet.
    """
    approved = SettlementStatement.objects.filter(
        run__org=run.org, run__status=Status.APPROVED, run__period__lt=run.period
    )
    latest = approved.filter(promoter_id=OuterRef("promoter_id")).order_by("-run__period", "-pk")
    carried = (
        approved.filter(carry_forward__lt=0, pk=Subquery(latest.values("pk")[:1]))
        .order_by("promoter_id")
        .values_list("promoter_id", "carry_forward")
    )
    adjustments = (
        SettlementAdjustment.objects.filter(promoter__org=run.org, applied_run__isnull=True)
        .order_by("pk")
        .values_list("pk", "promoter_id", "amount")
    )
    return {
        "carried_in": [(pid, _money(amount)) for pid, amount in carried],
        "adjustments": [(pk, pid, _money(amount)) for pk, pid, amount in adjustments],
    }


def _statements_build(*, out_dir: Path, app_inputs: dict) -> list[dict]:
    """The engine's statements plus carried-in balances and adjustments, per promoter."""
    con = _duckdb()
    try:
        rows = con.execute(
            "SELECT promoter_id, records, qualified, gross_amount, clawback_amount FROM "
            f"read_parquet({_literal(out_dir / 'statements.parquet')}) ORDER BY promoter_id"
        ).fetchall()
    finally:
        con.close()
    by_promoter: dict[int, dict] = {}

    def entry(promoter_id: int) -> dict:
        return by_promoter.setdefault(
            int(promoter_id),
            {
                "promoter_id": int(promoter_id),
                "records": 0,
                "qualified": 0,
                "gross_amount": ZERO,
                "clawback_amount": ZERO,
                "carried_in": ZERO,
                "adjustment_amount": ZERO,
            },
        )

    for promoter_id, records, qualified, gross, clawback in rows:
        item = entry(promoter_id)
        item.update(
            records=int(records),
            qualified=int(qualified),
            gross_amount=_money(gross),
            clawback_amount=_money(clawback),
        )
    for promoter_id, amount in app_inputs["carried_in"]:
        entry(promoter_id)["carried_in"] += amount
    for _pk, promoter_id, amount in app_inputs["adjustments"]:
        entry(promoter_id)["adjustment_amount"] += amount
    statements = []
    for promoter_id in sorted(by_promoter):
        item = by_promoter[promoter_id]
        net = (
            item["gross_amount"]
            + item["clawback_amount"]
            + item["carried_in"]
            + item["adjustment_amount"]
        )
        item["net_amount"] = net
        item["payable_amount"] = max(net, ZERO)
        item["carry_forward"] = min(net, ZERO)
        statements.append(item)
    return statements


def _chunks(items: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _promoters_write(path: Path, promoter_ids: list[int]) -> None:
    """``promoters.parquet`` of the analysis pages: the run's promoters with their channel
    and city as they are now."""

    def rows():
        for chunk in _chunks(sorted(set(promoter_ids))):
            yield from (
                Promoter.objects.filter(pk__in=chunk)
                .order_by("pk")
                .values_list(
                    "pk",
                    "work_id",
                    "name",
                    "channel_id",
                    "channel__code",
                    "channel__name",
                    "org_id",
                    "org__name",
                )
            )

    _parquet_write(path, PROMOTERS_SCHEMA, rows())


def _statement_payables(run_id: int) -> dict[int, Decimal]:
    return dict(
        SettlementStatement.objects.filter(run_id=run_id).values_list(
            "promoter_id", "payable_amount"
        )
    )


def _changes(
    *,
    run: SettlementRun,
    revision: int,
    out_dir: Path,
    summary: dict,
    statements: list[dict],
    payable: Decimal,
) -> dict:
    """What changed from the previous revision: totals, verdicts, promoters' payables."""
    if not run.revision:
        return {}
    old_verdicts = Path(run.artefact_dir) / "verdicts.parquet" if run.artefact_dir else None
    verdicts_changed = None
    if old_verdicts is not None and old_verdicts.is_file():
        con = _duckdb()
        try:
            verdicts_changed = con.execute(
                f"SELECT count(*) FROM read_parquet({_literal(old_verdicts)}) o "
                f"FULL OUTER JOIN read_parquet({_literal(out_dir / 'verdicts.parquet')}) n "
                "ON o.record_id = n.record_id "
                "WHERE o.record_id IS NULL OR n.record_id IS NULL "
                "OR o.qualified <> n.qualified OR o.reasons <> n.reasons OR o.amount <> n.amount"
            ).fetchone()[0]
        finally:
            con.close()
    old_payables = _statement_payables(run.pk)
    new_payables = {row["promoter_id"]: row["payable_amount"] for row in statements}
    changed = sorted(
        promoter_id
        for promoter_id in set(old_payables) | set(new_payables)
        if old_payables.get(promoter_id, ZERO) != new_payables.get(promoter_id, ZERO)
    )
    shown = {
        pk: (work_id, name)
        for pk, work_id, name in Promoter.objects.filter(
            pk__in=changed[:CHANGED_PROMOTERS_SHOWN]
        ).values_list("pk", "work_id", "name")
    }
    new_gross = _money(summary["gross_amount"])

    def pair(old, new) -> dict:
        return {"old": str(old), "new": str(new), "delta": str(new - old)}

    return {
        "from_revision": run.revision,
        "to_revision": revision,
        "records": pair(run.records, int(summary["records"])),
        "qualified": pair(run.qualified, int(summary["qualified"])),
        "gross_amount": pair(run.gross_amount, new_gross),
        "payable_amount": pair(run.payable_amount, payable),
        "verdicts_changed": verdicts_changed,
        "promoters_payable_changed": len(changed),
        "promoters": [
            {
                "promoter_id": pk,
                "work_id": shown.get(pk, ("", ""))[0] or "",
                "name": shown.get(pk, ("", ""))[1],
                "old": str(old_payables.get(pk, ZERO)),
                "new": str(new_payables.get(pk, ZERO)),
            }
            for pk in changed[:CHANGED_PROMOTERS_SHOWN]
        ],
    }


def _finish_computed(
    run_id: int,
    *,
    revision: int,
    out_dir: Path,
    hashes: dict,
    artefacts: dict,
    summary: dict,
    statements: list[dict],
    app_inputs: dict,
) -> SettlementRun:
    adjustment_total = sum((row["adjustment_amount"] for row in statements), ZERO)
    payable_total = sum((row["payable_amount"] for row in statements), ZERO)
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status != Status.RUNNING:
            raise ApplicationError(
                "run_changed", _("The run was changed while it was computed; run it again.")
            )
        changes = _changes(
            run=run,
            revision=revision,
            out_dir=out_dir,
            summary=summary,
            statements=statements,
            payable=payable_total,
        )
        SettlementStatement.objects.filter(run=run).delete()
        SettlementStatement.objects.bulk_create(
            [SettlementStatement(run=run, **row) for row in statements], batch_size=500
        )
        old = run.transition_to(Status.COMPUTED)
        old_revision = run.revision
        run.revision = revision
        run.finished_at = timezone.now()
        run.progress = 100
        run.stage = "done"
        run.message = ""
        run.artefact_dir = str(out_dir)
        run.artefacts = artefacts
        run.input_sha256 = hashes
        run.rule_version = str(summary.get("rule_version") or RULE_VERSION)
        run.summary = {
            **summary,
            "app": {
                "statements": len(statements),
                "carried_in_amount": str(sum((r["carried_in"] for r in statements), ZERO)),
                "adjustment_amount": str(adjustment_total),
                "adjustment_ids": [pk for pk, _pid, _amount in app_inputs["adjustments"]],
                "net_amount": str(sum((r["net_amount"] for r in statements), ZERO)),
                "payable_amount": str(payable_total),
                "carry_forward_amount": str(sum((r["carry_forward"] for r in statements), ZERO)),
            },
        }
        run.changes = changes
        run.records = int(summary["records"])
        run.qualified = int(summary["qualified"])
        run.gross_amount = _money(summary["gross_amount"])
        run.clawback_amount = _money(summary["clawback_amount"])
        run.adjustment_amount = adjustment_total
        run.payable_amount = payable_total
        run.save()
        _audit(
            run,
            actor=None,
            action="computed",
            changes={
                "status": [old, run.status],
                "revision": [old_revision, revision],
                "records": run.records,
                "qualified": run.qualified,
                "payable_amount": str(payable_total),
                "input_sha256": hashes,
            },
        )
        _notify(
            recipients=[run.started_by, *_city_users(run, ["channel_manager"])],
            event=EVENT_RUN_COMPUTED,
            run=run,
            records=run.records,
            qualified=run.qualified,
            payable=run.payable_amount,
        )
        transaction.on_commit(partial(_revisions_prune, run.number, revision))
    return run


def _finish_unchanged(run_id: int) -> SettlementRun:
    """The inputs hash the same as the current revision's: the result stands."""
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status != Status.RUNNING:
            return run
        old = run.transition_to(Status.COMPUTED)
        run.finished_at = timezone.now()
        run.progress = 100
        run.stage = "done"
        run.message = _(
            "No change: the inputs are the same as those of revision %(revision)s, whose "
            "result stands."
        ) % {"revision": run.revision}
        run.changes = {
            "from_revision": run.revision,
            "to_revision": run.revision,
            "no_change": True,
        }
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "progress",
                "stage",
                "message",
                "changes",
                "updated_at",
            ]
        )
        _audit(
            run,
            actor=None,
            action="unchanged",
            changes={"status": [old, run.status], "revision": run.revision},
        )
    return run


def _revisions_prune(number: str, keep: int) -> None:
    """Delete the run's revision directories other than ``keep`` (after the commit)."""
    root = storage.run_dir(number=number, revision=keep).parent
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.is_dir() and child.name != f"r{keep}" and re.fullmatch(r"r[0-9]+", child.name):
            shutil.rmtree(child, ignore_errors=True)


# --- Approval -------------------------------------------------------------------------------


def _workflow_instance(run: SettlementRun) -> WorkflowInstance | None:
    return workflow_instance_for(target=run, definition_code=SETTLEMENT_WORKFLOW)


@transaction.atomic
def settlement_run_submit(*, run: SettlementRun, actor) -> SettlementRun:
    """Send a computed run to approval: the city's channel managers, then the province's.
    A run returned by a rejection (or withdrawn) goes again as a new round; only its first
    submitter may send it again (workflow engine)."""
    _require_permission(actor, START_PERMISSION)
    _require_in_scope(actor, run.org)
    run = _locked_run(run.pk)
    _refuse_locked(run)
    if run.status != Status.COMPUTED:
        raise ApplicationError(
            "run_not_computed",
            _("Only a computed settlement can be submitted (this one is %(status)s).")
            % {"status": run.get_status_display()},
            status=409,
        )
    instance = _workflow_instance(run)
    if instance is None:
        workflow_submit(target=run, definition_code=SETTLEMENT_WORKFLOW, actor=actor, org=run.org)
    elif instance.status in (WorkflowInstance.Status.REJECTED, WorkflowInstance.Status.WITHDRAWN):
        workflow_resubmit(instance_id=instance.pk, actor=actor)
    else:  # pragma: no cover - the run's status says it is not in approval
        raise ApplicationError(
            "already_submitted", _("This settlement has already been submitted."), status=409
        )
    run.refresh_from_db()
    return run


def _instance_in_progress(run: SettlementRun) -> WorkflowInstance:
    instance = _workflow_instance(run)
    if instance is None or instance.status != WorkflowInstance.Status.IN_PROGRESS:
        raise ApplicationError(
            "not_in_approval",
            _("The settlement %(number)s is not awaiting approval.") % {"number": run.number},
            status=409,
        )
    return instance


def settlement_run_approve(*, run: SettlementRun, actor, comment: str = "") -> SettlementRun:
    """Approve the actor's step (API and pages call this or the workflow engine's page)."""
    _require_permission(actor, APPROVE_PERMISSION)
    _require_in_scope(actor, run.org)
    workflow_approve(instance_id=_instance_in_progress(run).pk, actor=actor, comment=comment)
    run.refresh_from_db()
    return run


def settlement_run_reject(*, run: SettlementRun, actor, reason: str) -> SettlementRun:
    """Reject the run (a reason is required): it returns to ``computed``."""
    _require_permission(actor, APPROVE_PERMISSION)
    _require_in_scope(actor, run.org)
    workflow_reject(instance_id=_instance_in_progress(run).pk, actor=actor, reason=reason)
    run.refresh_from_db()
    return run


def _target_run(instance: WorkflowInstance) -> SettlementRun:
    return _locked_run(int(instance.target_id))


def settlement_on_submitted(*, instance, actor) -> None:
    run = _target_run(instance)
    if run.status != Status.COMPUTED:
        raise ApplicationError(
            "run_not_computed",
            _("Only a computed settlement can be submitted (this one is %(status)s).")
            % {"status": run.get_status_display()},
            status=409,
        )
    if actor is None or not actor.has_perm(START_PERMISSION):
        raise Forbidden()
    old = run.transition_to(Status.SUBMITTED)
    run.save(update_fields=["status", "updated_at"])
    _audit(
        run,
        actor=actor,
        action="submitted",
        changes={"status": [old, run.status], "round": instance.round},
    )


def _back_to_computed(instance, actor, action: str) -> None:
    run = _target_run(instance)
    if run.status != Status.SUBMITTED:
        return
    old = run.transition_to(Status.COMPUTED)
    run.save(update_fields=["status", "updated_at"])
    _audit(run, actor=actor, action=action, changes={"status": [old, run.status]})


def settlement_on_rejected(*, instance, actor) -> None:
    _back_to_computed(instance, actor, "rejected")


def settlement_on_withdrawn(*, instance, actor) -> None:
    _back_to_computed(instance, actor, "withdrawn")


def settlement_before_approve(*, instance, actor, step) -> None:
    """Refuse an approval by the run's starter (four-eyes), by a user without
    ``approve_settlementrun``, or of a run whose inputs went stale (see
    :func:`_stale_reason`)."""
    run = _target_run(instance)
    if actor is None or not actor.has_perm(APPROVE_PERMISSION):
        raise Forbidden()
    if run.started_by_id is not None and run.started_by_id == actor.pk:
        raise ApplicationError(
            "four_eyes",
            _("You started this settlement run, so someone else must approve it."),
            status=403,
        )
    if run.status != Status.SUBMITTED:
        raise ApplicationError(
            "not_in_approval",
            _("The settlement %(number)s is not awaiting approval.") % {"number": run.number},
            status=409,
        )
    stale = _stale_reason(run)
    if stale:
        raise ApplicationError("run_stale", stale, status=409)


def _stale_reason(run: SettlementRun) -> str:
    """Why the run's inputs no longer hold (it must be rejected and run again), or "".

    Since the run was computed, an earlier period of the city was approved (its paid
    records, clawbacks and carried balance are missing here), or an adjustment it
    includes was paid by another run.
    """
    earlier = (
        SettlementRun.objects.filter(
            org=run.org,
            status=Status.APPROVED,
            period__lt=run.period,
            approved_at__gt=run.finished_at,
        )
        .order_by("period")
        .first()
    )
    if earlier is not None:
        return _(
            "The settlement %(other)s was approved after this run was computed; reject this "
            "run and run it again so that it takes it into account."
        ) % {"other": earlier.number}
    ids = (run.summary.get("app") or {}).get("adjustment_ids") or []
    paid = SettlementAdjustment.objects.filter(pk__in=ids, applied_run__isnull=False)
    paid = paid.exclude(applied_run=run).first()
    if paid is not None:
        return _(
            "An adjustment this run includes was already paid in %(other)s; reject this run "
            "and run it again."
        ) % {"other": paid.applied_run.number}
    return ""


def _verify_artefacts(run: SettlementRun) -> Path:
    directory = Path(run.artefact_dir)
    for name in ("verdicts.parquet", "clawbacks.parquet"):
        path = directory / name
        if not path.is_file() or _sha256(path) != run.artefacts.get(name):
            raise ApplicationError(
                "artefacts_changed",
                _(
                    "The result file %(name)s of %(number)s is missing or was changed since "
                    "it was computed; reject the run and run it again."
                )
                % {"name": name, "number": run.number},
                status=409,
            )
    return directory


def settlement_on_approved(*, instance, actor) -> None:
    """The final approval: lock the run, write its paid records and clawbacks, mark its
    adjustments paid, lock the billing month of the period, tell the city."""
    run = _target_run(instance)
    directory = _verify_artefacts(run)
    stale = _stale_reason(run)
    if stale:
        raise ApplicationError("run_stale", stale, status=409)
    now = timezone.now()
    old = run.transition_to(Status.APPROVED)
    run.approved_at = now
    run.save(update_fields=["status", "approved_at", "updated_at"])
    paid_count = _paid_records_create(run, directory)
    clawback_count = _clawbacks_create(run, directory)
    ids = (run.summary.get("app") or {}).get("adjustment_ids") or []
    applied = SettlementAdjustment.objects.filter(pk__in=ids, applied_run__isnull=True).update(
        applied_run=run, updated_at=now
    )
    month = period_parse(run.period)
    BillingMonth.objects.filter(month=month, locked_at__isnull=True).update(
        locked_at=now, locked_by_run=run, updated_at=now
    )
    _audit(
        run,
        actor=actor,
        action="approved",
        changes={
            "status": [old, run.status],
            "paid_records": paid_count,
            "clawbacks": clawback_count,
            "adjustments": applied,
            "billing_month_locked": run.period,
            "payable_amount": str(run.payable_amount),
        },
    )
    _notify(
        recipients=[
            run.started_by,
            instance.submitted_by,
            *_city_users(run, ["channel_manager", "finance"]),
        ],
        event=EVENT_RUN_APPROVED,
        run=run,
        payable=run.payable_amount,
        promoters=SettlementStatement.objects.filter(run=run, payable_amount__gt=0).count(),
    )


def _paid_records_create(run: SettlementRun, directory: Path) -> int:
    """One PaidRecord per qualified verdict, streamed from ``verdicts.parquet``."""
    con = _duckdb()
    count = 0
    try:
        cursor = con.execute(
            "SELECT record_id, amount FROM "
            f"read_parquet({_literal(directory / 'verdicts.parquet')}) "
            "WHERE qualified ORDER BY record_id"
        )
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                break
            PaidRecord.objects.bulk_create(
                [
                    PaidRecord(recommendation_id=int(record_id), run=run, amount=_money(amount))
                    for record_id, amount in rows
                ],
                batch_size=1000,
            )
            count += len(rows)
    finally:
        con.close()
    return count


def _clawbacks_create(run: SettlementRun, directory: Path) -> int:
    con = _duckdb()
    try:
        rows = con.execute(
            "SELECT record_id, complained_at, amount FROM "
            f"read_parquet({_literal(directory / 'clawbacks.parquet')}) "
            "WHERE amount < 0 ORDER BY record_id"
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return 0
    paid: dict[int, tuple[int, bool]] = {}
    for chunk in _chunks([int(row[0]) for row in rows]):
        for recommendation_id, pk, has_clawback in PaidRecord.objects.filter(
            recommendation_id__in=chunk
        ).values_list("recommendation_id", "pk", "clawback"):
            paid[recommendation_id] = (pk, has_clawback is not None)
    tz = timezone.get_default_timezone()
    clawbacks = []
    for record_id, complained_at, amount in rows:
        found = paid.get(int(record_id))
        if found is None or found[1]:
            raise ApplicationError(
                "run_stale",
                _(
                    "The paid record %(record)s clawed back by this run is unknown or was "
                    "already clawed back; reject this run and run it again."
                )
                % {"record": record_id},
                status=409,
            )
        clawbacks.append(
            Clawback(
                paid_record_id=found[0],
                run=run,
                complained_at=timezone.make_aware(complained_at, tz),
                amount=_money(amount),
            )
        )
    Clawback.objects.bulk_create(clawbacks, batch_size=1000)
    return len(clawbacks)


# --- Adjustments ----------------------------------------------------------------------------


@transaction.atomic
def settlement_adjustment_create(
    *, actor, promoter: Promoter, amount: Decimal, reason: str, corrects_run: SettlementRun
) -> SettlementAdjustment:
    """A correction of an approved settlement for one promoter (R4: an approved
    settlement is never edited), paid — or taken back, when negative — in the next run
    of the promoter's city that is computed and approved."""
    _require_permission(actor, ADJUST_PERMISSION)
    _require_in_scope(actor, promoter.org)
    try:
        amount = Decimal(str(amount))
    except Exception as exc:  # noqa: BLE001 - any unparsable input is the same refusal
        raise ApplicationError(
            "invalid_amount", _("Enter an amount in yuan."), details={"field": "amount"}
        ) from exc
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) > MAX_AMOUNT:
        raise ApplicationError(
            "invalid_amount",
            _("Enter an amount in yuan with at most 2 decimal places."),
            details={"field": "amount"},
        )
    if amount == 0:
        raise ApplicationError(
            "amount_zero",
            _(
                "An adjustment cannot be zero: enter a positive amount (paid) or a negative "
                "one (taken back)."
            ),
            details={"field": "amount"},
        )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "reason_required", _("Give the reason for the adjustment."), details={"field": "reason"}
        )
    if corrects_run is None or corrects_run.status != Status.APPROVED:
        raise ApplicationError(
            "run_not_approved",
            _("An adjustment corrects an approved settlement: choose one."),
            details={"field": "corrects_run"},
        )
    if corrects_run.org_id != promoter.org_id:
        raise ApplicationError(
            "run_other_city",
            _("The settlement corrected must be one of the promoter's city (%(city)s).")
            % {"city": promoter.org.name},
            details={"field": "corrects_run"},
        )
    adjustment = SettlementAdjustment.objects.create(
        promoter=promoter,
        amount=amount.quantize(CENT),
        reason=reason,
        corrects_run=corrects_run,
        created_by=actor,
    )
    audit_event_create(
        actor=actor,
        action="settlement.adjustment_created",
        target=adjustment,
        changes={
            "promoter": promoter.pk,
            "amount": str(adjustment.amount),
            "reason": reason,
            "corrects_run": corrects_run.number,
        },
    )
    return adjustment


# --- The monthly schedule -------------------------------------------------------------------


def settlement_runs_monthly(*, today: date | None = None) -> dict[str, int]:
    """On the 15th (Celery beat): start each active city's run of the previous period,
    unless it is being computed, in approval or approved; when billing months are
    missing, tell the city's channel managers which."""
    today = today or business_date()
    period = settlement_period_default(today)
    counts = {"started": 0, "skipped": 0, "not_started": 0}
    for city in OrgUnit.objects.filter(kind=OrgUnit.Kind.CITY, is_active=True).order_by("path"):
        existing = SettlementRun.objects.filter(org=city, period=period).first()
        if existing is not None and existing.status in (*LOCKED_STATUSES, *ACTIVE_STATUSES):
            counts["skipped"] += 1
            continue
        try:
            settlement_run_start(org=city, period=period, actor=None)
        except ApplicationError as exc:
            counts["not_started"] += 1
            managers = get_user_model().objects.approvers_for(
                role_code="channel_manager", org_path=city.path
            )
            if managers:
                with transaction.atomic():
                    notifications.notify(
                        recipients=list(managers),
                        event=EVENT_RUN_NOT_STARTED,
                        context={"period": period, "city": city.name, "reason": str(exc.message)},
                        link=reverse("incentives:run_list"),
                    )
            logger.warning("Settlement of %s for %s not started: %s", city.code, period, exc)
        else:
            counts["started"] += 1
    return counts
