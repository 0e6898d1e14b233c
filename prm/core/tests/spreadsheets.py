"""Building import files in tests (xlsx with openpyxl, csv in a chosen encoding) and
running an import job the way the upload page does."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from prm.core.imports import import_job_create
from prm.core.models import ImportJob


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], *, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_rows(data: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [
        ["" if value is None else str(value) for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def run_import(capture, *, kind: str, name: str, data: bytes, actor) -> ImportJob:
    """Create the job and run it as the commit would (``capture`` is pytest-django's
    ``django_capture_on_commit_callbacks``); returns the job reloaded."""
    with capture(execute=True):
        job = import_job_create(kind=kind, uploaded_file=upload(name, data), actor=actor)
    job.refresh_from_db()
    return job
