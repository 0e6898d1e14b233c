"""API: the billing-extract store (/api/v1/incentives/billing/…), R4.

Months are addressed as ``YYYY-MM``. Reading needs ``view_billingmonth`` (or the import
permission; token scope ``incentives.read``); uploading a month needs
``import_billing`` as staff of a province or a city (scope ``incentives.write``). An
upload answers 202 with the queued import; ``GET /billing/imports/{id}`` follows it.
Imports outside the caller's org subtree are 404.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from prm.api import ErrorOut, require_permission
from prm.core.exceptions import NotFound
from prm.incentives.models import BillingImport, BillingMonth
from prm.incentives.selectors_billing import (
    billing_import_get,
    billing_import_may,
    billing_may_view,
    billing_month_get,
    billing_months_visible,
)
from prm.incentives.services.billing import billing_import_create

router = Router()

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


class MonthOut(Schema):
    month: str = Field(description="YYYY-MM")
    revision: int
    imported_at: datetime | None
    locked_at: datetime | None
    files: dict[str, dict[str, Any]] = Field(description="table → {sha256, rows, name}")


class ImportOut(Schema):
    id: int
    month: str
    status: str
    progress: int
    message: str
    files: dict[str, dict[str, Any]]
    replaced_files: dict[str, dict[str, Any]]
    imported_by: str | None
    created_at: datetime
    finished_at: datetime | None


def _month_out(month: BillingMonth) -> dict:
    return {
        "month": month.month.strftime("%Y-%m"),
        "revision": month.revision,
        "imported_at": month.imported_at,
        "locked_at": month.locked_at,
        "files": month.files or {},
    }


def _import_out(job: BillingImport) -> dict:
    return {
        "id": job.pk,
        "month": job.month.strftime("%Y-%m"),
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "files": job.files or {},
        "replaced_files": job.replaced_files or {},
        "imported_by": job.actor.username if job.actor else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _require_read(request: HttpRequest) -> None:
    require_permission(request, "incentives.view_billingmonth", scope=READ_SCOPE)
    if not billing_may_view(request.user):
        raise PermissionDenied


def _month_of(value: str) -> date:
    match = _MONTH.fullmatch(value)
    if not match:
        raise NotFound()
    return date(int(match.group(1)), int(match.group(2)), 1)


@router.get(
    "/billing/months",
    response={200: list[MonthOut], **ERRORS},
    summary="Imported billing months (newest first)",
)
def month_list(request):
    _require_read(request)
    return [_month_out(month) for month in billing_months_visible(user=request.user)]


@router.get(
    "/billing/months/{month}",
    response={200: MonthOut, **ERRORS},
    summary="One billing month: revision, lock, files with SHA-256",
)
def month_detail(request, month: str):
    _require_read(request)
    return _month_out(billing_month_get(user=request.user, month=_month_of(month)))


@router.post(
    "/billing/imports",
    response={202: ImportOut, **ERRORS},
    summary="Upload a month's extracts (csv/parquet files or one zip); queued import",
)
def import_create(request, month: Form[str], files: File[list[UploadedFile]]):
    require_permission(request, "incentives.import_billing", scope=WRITE_SCOPE)
    if not billing_import_may(request.user):
        raise PermissionDenied
    job = billing_import_create(actor=request.user, month=month, uploads=files)
    return Status(202, _import_out(billing_import_get(user=request.user, import_id=job.pk)))


@router.get(
    "/billing/imports/{import_id}",
    response={200: ImportOut, **ERRORS},
    summary="One billing import: status, progress, the error (file, row, column)",
)
def import_detail(request, import_id: int):
    _require_read(request)
    return _import_out(billing_import_get(user=request.user, import_id=import_id))
