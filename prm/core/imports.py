"""Import and export of master data from xlsx/csv files (R0 import/export).

The rules (R0, DESIGN "long work", STYLE 13):

- Every row is validated before anything is written. If any row fails, nothing is
  written: the job is *rejected* and keeps row errors ``[{row, column, value, message}]``;
  an error report (the original columns plus an "errors" column) is built on the fly from
  the stored file and those errors.
- If every row is valid, all rows are written in ONE transaction. Any exception while
  writing rolls everything back and the job *fails* with a message; a failed job can be
  retried.
- Imports are idempotent: rows are upserted by their natural key and values are compared
  before updating, so importing the same file twice changes nothing the second time.
- The file type is decided by the content (an xlsx is a zip holding ``xl/workbook.xml``;
  a csv must decode as text: UTF-8, with or without BOM, else GB18030), never by the name.
- Long work runs in the background (Celery task :func:`import_job_run`; eager when no
  broker is configured) and updates the job's progress every ``PROGRESS_EVERY`` rows.

Each importable kind is an :class:`ImportSpec` registered with
:func:`import_spec_register`. Apps declare theirs in an ``imports`` module (found by
autodiscovery, so ``core`` imports no domain app). The region and number-segment specs
live here.
"""

from __future__ import annotations

import csv
import datetime
import functools
import hashlib
import io
import logging
import re
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import CalendarDay, ImportJob, NumberSegment, Region
from prm.core.scoping import scope_by_path

logger = logging.getLogger(__name__)

FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
PROGRESS_EVERY = 200  # rows between two progress updates of a running job
ERRORS_HEADERS = ("errors", "error", "错误", "错误信息")  # ignored on import
# Characters that make a spreadsheet treat a csv cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --- Specs ------------------------------------------------------------------------------


class RowError(Exception):
    """Raised by a spec for one row: ``{column key: message}``."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Column:
    """One column of an import file.

    The header is accepted as the key, as the translated header in any site language, or
    as one of the ``aliases`` (Chinese names, so Chinese files work before the catalogue
    is complete). ``parser`` turns a non-empty cell into a value or raises
    ``ValidationError``; empty cells stay ``""``.
    """

    key: str
    header: Any
    required: bool = False
    parser: Callable[[str], Any] | None = None
    aliases: tuple[str, ...] = ()

    def accepted_headers(self) -> set[str]:
        names = {self.key, self.key.replace("_", " "), *self.aliases}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                names.add(str(self.header))
        return {header_normalise(name) for name in names}


def header_normalise(header: str) -> str:
    return re.sub(r"\s+", "", str(header or "")).rstrip("*＊").casefold()


class ImportSpec:
    """What one importable kind looks like and how it is written.

    Subclasses set ``kind``, ``label``, ``columns``, ``permission`` and ``key_columns``
    (the natural key, used to find duplicates inside a file) and implement
    :meth:`write` and :meth:`export_rows`; :meth:`prepare` preloads what
    :meth:`clean` needs (so validation does not query per row).
    """

    kind: str = ""
    label: Any = ""
    columns: tuple[Column, ...] = ()
    permission: str = ""
    key_columns: tuple[str, ...] = ()
    forbidden_headers: tuple[str, ...] = ()
    # When set, only users whose own org unit is of one of these kinds may import.
    org_kinds: tuple[str, ...] | None = None

    def user_may_import(self, user) -> bool:
        if not getattr(user, "is_authenticated", False) or not user.has_perm(self.permission):
            return False
        return self.org_kinds is None or user.org.kind in self.org_kinds

    def prepare(self, *, actor, rows: list[dict[str, str]]) -> dict[str, Any]:
        """Lookups for :meth:`clean`, built once from all raw rows of the file."""
        return {}

    def parse_row(self, row: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
        """Parse and check one row; raises :class:`RowError` with every field error."""
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for column in self.columns:
            raw = row.get(column.key, "")
            if raw == "":
                if column.required:
                    errors[column.key] = _("This value is required.")
                values[column.key] = ""
                continue
            try:
                values[column.key] = column.parser(raw) if column.parser else raw
            except ValidationError as exc:
                errors[column.key] = " ".join(str(message) for message in exc.messages)
        if errors:
            raise RowError(errors)
        return self.clean(values, context)

    def clean(self, values: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Checks across fields and against the database; raises :class:`RowError`."""
        return values

    def write(self, rows: list[dict[str, Any]], *, actor) -> tuple[int, int]:
        """Upsert the validated rows; returns (created, updated). Runs in the caller's
        transaction; raising anything rolls the whole import back."""
        raise NotImplementedError

    def export_rows(self, *, user) -> Iterable[dict[str, str]]:
        """The rows the user may see, as ``{column key: text}`` (the import format)."""
        raise NotImplementedError


_specs: dict[str, ImportSpec] = {}


def import_spec_register(spec: ImportSpec | type[ImportSpec]) -> ImportSpec | type[ImportSpec]:
    """Register a spec (usable as a class decorator)."""
    instance = spec() if isinstance(spec, type) else spec
    _specs[instance.kind] = instance
    return spec


@functools.cache
def _discover() -> None:
    autodiscover_modules("imports")


def import_specs() -> list[ImportSpec]:
    _discover()
    return sorted(_specs.values(), key=lambda spec: spec.kind)


def import_spec_get(kind: str) -> ImportSpec | None:
    _discover()
    return _specs.get(kind)


def import_specs_for(user) -> list[ImportSpec]:
    """The kinds the user may import (and export)."""
    return [spec for spec in import_specs() if spec.user_may_import(user)]


# --- Parsers shared by specs ------------------------------------------------------------


def regex_parser(pattern: str, message: Any) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def parse(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValidationError(message)
        return value

    return parse


def length_parser(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValidationError(_("At most %(max)s characters.") % {"max": max_length})
        return value

    return parse


def choice_parser(choices, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    """Accept a choice by its value, its label in any site language, or an alias."""

    @functools.cache
    def accepted() -> dict[str, str]:
        mapping = {header_normalise(key): value for key, value in (aliases or {}).items()}
        for value, label in choices.choices:
            mapping[header_normalise(value)] = value
            for language, _name in settings.LANGUAGES:
                with translation.override(language):
                    mapping[header_normalise(str(label))] = value
        return mapping

    def parse(value: str) -> str:
        found = accepted().get(header_normalise(value))
        if found is None:
            raise ValidationError(
                _("Unknown value “%(value)s”; use one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(choices.values)}
            )
        return found

    return parse


# --- Reading and writing tables ---------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the file, cells)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def import_file_format(data: bytes, *, name: str) -> str:
    """``"xlsx"`` or ``"csv"`` by content; refuses other files and a name that lies."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in FORMATS:
        raise ApplicationError("import_file_type", gettext("Upload an .xlsx or .csv file."))
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                detected = "xlsx" if "xl/workbook.xml" in archive.namelist() else ""
        except zipfile.BadZipFile:
            detected = ""
    else:
        detected = "csv" if _decode_text(data) is not None else ""
    if detected != extension:
        raise ApplicationError(
            "import_file_type",
            gettext("The file is not a valid %(format)s file.") % {"format": extension},
        )
    return detected


def _decode_text(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _CONTROL_CHARS.search(text) else text
    return None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _csv_cell_text(value: str) -> str:
    # Undo the quote that csv export puts before formula-like cells.
    if value.startswith("'") and value[1:2] and value[1:2] in _FORMULA_START:
        return value[1:].strip()
    return value.strip()


def table_read(data: bytes, fmt: str, *, max_rows: int | None = None) -> Table:
    """Read the first sheet (xlsx) or the text (csv): headers and non-blank rows."""
    if fmt == "xlsx":
        lines = _xlsx_lines(data)
    else:
        text = _decode_text(data)
        if text is None:
            raise ApplicationError(
                "import_file_unreadable", gettext("The file could not be read as text.")
            )
        lines = ([_csv_cell_text(cell) for cell in line] for line in csv.reader(io.StringIO(text)))
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(lines, start=1):
            if not any(cells):
                continue
            if headers is None:  # the first non-blank row
                headers = cells
                continue
            rows.append((number, cells))
            if max_rows is not None and len(rows) > max_rows:
                raise ApplicationError(
                    "import_too_many_rows",
                    gettext("The file has more than %(max)s rows; split it into smaller files.")
                    % {"max": max_rows},
                )
    except (csv.Error, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ApplicationError(
            "import_file_unreadable", gettext("The file could not be read.")
        ) from exc
    if not headers or not any(headers):
        raise ApplicationError("import_file_empty", gettext("The file has no header row."))
    return Table(headers=headers, rows=rows)


def _xlsx_lines(data: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds on a bad file)
        raise ApplicationError(
            "import_file_unreadable", gettext("The file could not be read.")
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        # Some generators write a wrong <dimension>; read every cell that is there.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(min_row=1, values_only=True):
            yield [_cell_text(value) for value in values]
    finally:
        workbook.close()


def table_write(headers: list[str], rows: Iterable[list[str]], fmt: str) -> bytes:
    """An xlsx (every cell text, never a formula) or a UTF-8 csv with BOM (for Excel)."""
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()

        def text_cell(value: Any):
            cell = WriteOnlyCell(sheet, value=str(value if value is not None else ""))
            cell.data_type = "s"
            return cell

        sheet.append([text_cell(header) for header in headers])
        for row in rows:
            sheet.append([text_cell(value) for value in row])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    buffer_text = io.StringIO()
    writer = csv.writer(buffer_text, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(
            [
                f"'{value}" if str(value).startswith(_FORMULA_START) else value
                for value in ("" if value is None else str(value) for value in row)
            ]
        )
    return ("\ufeff" + buffer_text.getvalue()).encode("utf-8")


# --- Validation (shared by the job and the reference loader) ---------------------------


@dataclass
class Validation:
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def _header_map(spec: ImportSpec, headers: list[str]) -> tuple[dict[int, str], list[dict]]:
    lookup: dict[str, Column] = {}
    for column in spec.columns:
        for name in column.accepted_headers():
            lookup[name] = column
    forbidden = {header_normalise(name) for name in spec.forbidden_headers}
    ignored = {header_normalise(name) for name in ERRORS_HEADERS} | {
        header_normalise(gettext("Errors"))
    }
    index_to_key: dict[int, str] = {}
    errors: list[dict] = []
    for index, header in enumerate(headers):
        normalised = header_normalise(header)
        if not normalised or normalised in ignored:
            continue
        if normalised in forbidden:
            errors.append(_error(1, header, header, gettext("This column may not be imported.")))
            continue
        column = lookup.get(normalised)
        if column is None:
            continue
        if column.key in index_to_key.values():
            errors.append(_error(1, header, header, gettext("This column appears twice.")))
            continue
        index_to_key[index] = column.key
    for column in spec.columns:
        if column.required and column.key not in index_to_key.values():
            errors.append(
                _error(1, str(column.header), "", gettext("This required column is missing."))
            )
    return index_to_key, errors


def _error(row: int, column: str, value: str, message: Any) -> dict[str, Any]:
    return {"row": row, "column": str(column), "value": str(value), "message": str(message)}


def import_table_validate(
    *,
    spec: ImportSpec,
    table: Table,
    actor,
    progress: Callable[[int], None] | None = None,
) -> Validation:
    """Parse every row; collect every error (header, field, duplicate key)."""
    index_to_key, errors = _header_map(spec, table.headers)
    if errors:
        return Validation(rows=[], errors=errors)
    header_of = {key: table.headers[index] for index, key in index_to_key.items()}
    raw_rows = [
        {key: (cells[index] if index < len(cells) else "") for index, key in index_to_key.items()}
        for _number, cells in table.rows
    ]
    context = spec.prepare(actor=actor, rows=raw_rows)
    parsed: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for position, ((number, _cells), raw) in enumerate(zip(table.rows, raw_rows, strict=True)):
        try:
            values = spec.parse_row(raw, context)
        except RowError as exc:
            for key, message in exc.errors.items():
                column = header_of.get(key) or str(_column(spec, key).header)
                errors.append(_error(number, column, raw.get(key, ""), message))
        else:
            natural_key = tuple(values[key] for key in spec.key_columns)
            if natural_key in seen:
                key = spec.key_columns[0]
                errors.append(
                    _error(
                        number,
                        header_of.get(key, key),
                        raw.get(key, ""),
                        gettext("Duplicate of row %(row)s.") % {"row": seen[natural_key]},
                    )
                )
            else:
                seen[natural_key] = number
                parsed.append(values)
        if progress is not None and (position + 1) % PROGRESS_EVERY == 0:
            progress(position + 1)
    return Validation(rows=parsed, errors=errors)


def _column(spec: ImportSpec, key: str) -> Column:
    return next(column for column in spec.columns if column.key == key)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    errors: list[dict[str, Any]]


def import_file_apply(*, spec: ImportSpec, data: bytes, fmt: str, actor) -> ImportResult:
    """Validate and write a file synchronously (the reference loader; small files).

    All or nothing, exactly like a job: with any error nothing is written.
    """
    table = table_read(data, fmt, max_rows=settings.PRM_IMPORT_MAX_ROWS)
    validation = import_table_validate(spec=spec, table=table, actor=actor)
    if validation.errors:
        return ImportResult(created=0, updated=0, errors=validation.errors)
    with transaction.atomic():
        created, updated = spec.write(validation.rows, actor=actor)
    return ImportResult(created=created, updated=updated, errors=[])


# --- Jobs -------------------------------------------------------------------------------


def import_job_list(*, user) -> QuerySet[ImportJob]:
    """Jobs started in the user's org subtree, of kinds the user may import (all kinds
    with ``core.view_importjob``)."""
    jobs = scope_by_path(
        ImportJob.objects.select_related("actor"), user=user, path_field="actor_org_path"
    )
    if not user.has_perm("core.view_importjob"):
        jobs = jobs.filter(kind__in=[spec.kind for spec in import_specs_for(user)])
    return jobs


def import_job_get(*, user, public_id: uuid.UUID | str) -> ImportJob:
    """A job in the user's scope (NotFound otherwise), which the user may see (Forbidden)."""
    job = (
        scope_by_path(
            ImportJob.objects.select_related("actor"), user=user, path_field="actor_org_path"
        )
        .filter(public_id=public_id)
        .first()
    )
    if job is None:
        raise NotFound()
    spec = import_spec_get(job.kind)
    if not user.has_perm("core.view_importjob") and not (spec and spec.user_may_import(user)):
        raise Forbidden()
    return job


def _spec_for_import(*, kind: str, actor) -> ImportSpec:
    spec = import_spec_get(kind)
    if spec is None:
        raise NotFound()
    if not spec.user_may_import(actor):
        raise Forbidden()
    return spec


def import_job_create(*, kind: str, uploaded_file, actor) -> ImportJob:
    """Store an uploaded file as a queued job and start it after the commit."""
    spec = _spec_for_import(kind=kind, actor=actor)
    data = uploaded_file.read()
    if not data:
        raise ApplicationError("import_file_empty", gettext("The file is empty."))
    if len(data) > settings.PRM_ATTACHMENT_MAX_BYTES:
        raise ApplicationError(
            "import_file_too_large",
            gettext("The file is larger than %(size)s MB.")
            % {"size": settings.PRM_ATTACHMENT_MAX_BYTES // (1024 * 1024)},
        )
    fmt = import_file_format(data, name=uploaded_file.name or "")
    with transaction.atomic():
        job = ImportJob(
            kind=spec.kind,
            original_name=(uploaded_file.name or "")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            actor=actor,
            actor_org_path=actor.org.path,
        )
        # The stored name never uses the uploader's file name: it is not trusted.
        job.source.save(f"{job.public_id}.{fmt}", ContentFile(data), save=False)
        job.save()
        audit_event_create(
            actor=actor,
            action="import_job.created",
            target=job,
            changes={"kind": spec.kind, "file": job.original_name, "sha256": job.sha256},
        )
        transaction.on_commit(functools.partial(import_job_run.delay, job.pk))
    return job


@transaction.atomic
def import_job_retry(*, job: ImportJob, actor) -> ImportJob:
    """Queue a failed job again (a rejected job needs a corrected file instead)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _spec_for_import(kind=job.kind, actor=actor)
    old = job.transition_to(ImportJob.Status.QUEUED)
    job.processed_rows = job.error_count = job.created_count = job.updated_count = 0
    job.errors = []
    job.message = ""
    job.finished_at = None
    job.save()
    audit_event_create(
        actor=actor, action="import_job.retried", target=job, changes={"status": [old, job.status]}
    )
    transaction.on_commit(functools.partial(import_job_run.delay, job.pk))
    return job


def _job_format(job: ImportJob) -> str:
    return job.source.name.rsplit(".", 1)[-1].lower()


def _job_data(job: ImportJob) -> bytes:
    with job.source.open("rb") as handle:
        return handle.read()


def _job_finish(job_id: int, status: str, **fields: Any) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    old = job.transition_to(status)
    for name, value in fields.items():
        setattr(job, name, value)
    job.finished_at = timezone.now()
    job.save()
    audit_event_create(
        actor=job.actor,
        action=f"import_job.{status}",
        target=job,
        changes={
            "status": [old, status],
            "created": job.created_count,
            "updated": job.updated_count,
            "errors": job.error_count,
        },
    )
    return job


@shared_task(name="prm.core.imports.import_job_run")
def import_job_run(job_id: int) -> None:
    """Celery entry point: run one queued import job."""
    import_job_execute(job_id=job_id)


def import_job_execute(*, job_id: int) -> ImportJob:
    """Validate every row, then write all rows in one transaction or none.

    Runs in the importing user's language so the stored messages read right. A job
    that is not queued (already run, or redelivered) is left as it is.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("actor").get(pk=job_id)
        if job.status != ImportJob.Status.QUEUED:
            return job
        job.transition_to(ImportJob.Status.RUNNING)
        job.save(update_fields=["status", "updated_at"])
    with translation.override(job.actor.language or settings.LANGUAGE_CODE):
        try:
            return _job_process(job)
        except Exception as exc:
            logger.exception("Import job %s failed", job.pk)
            message = (
                exc.message
                if isinstance(exc, ApplicationError)
                else gettext("The import failed unexpectedly (%(error)s). Nothing was written.")
                % {"error": exc.__class__.__name__}
            )
            with transaction.atomic():
                return _job_finish(job.pk, ImportJob.Status.FAILED, message=str(message))


def _job_process(job: ImportJob) -> ImportJob:
    spec = import_spec_get(job.kind)
    if spec is None:
        raise ApplicationError("import_kind_unknown", gettext("This kind of import is unknown."))
    try:
        table = table_read(_job_data(job), _job_format(job), max_rows=settings.PRM_IMPORT_MAX_ROWS)
    except ApplicationError as exc:
        with transaction.atomic():
            return _job_finish(job.pk, ImportJob.Status.REJECTED, message=str(exc.message))
    total = len(table.rows)
    ImportJob.objects.filter(pk=job.pk).update(total_rows=total, processed_rows=0)

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done)

    validation = import_table_validate(spec=spec, table=table, actor=job.actor, progress=progress)
    if validation.errors:
        with transaction.atomic():
            return _job_finish(
                job.pk,
                ImportJob.Status.REJECTED,
                processed_rows=total,
                errors=validation.errors,
                error_count=len(validation.errors),
                message=ngettext(
                    "%(count)s error found; nothing was imported. Correct the file and "
                    "upload it again.",
                    "%(count)s errors found; nothing was imported. Correct the file and "
                    "upload it again.",
                    len(validation.errors),
                )
                % {"count": len(validation.errors)},
            )
    try:
        with transaction.atomic():
            created, updated = spec.write(validation.rows, actor=job.actor)
            return _job_finish(
                job.pk,
                ImportJob.Status.SUCCEEDED,
                processed_rows=total,
                created_count=created,
                updated_count=updated,
                message=gettext("%(created)s created, %(updated)s updated.")
                % {"created": created, "updated": updated},
            )
    except ApplicationError:
        raise
    except Exception as exc:
        raise ApplicationError(
            "import_write_failed",
            gettext("The rows could not be written (%(error)s). Nothing was imported.")
            % {"error": str(exc)[:300] or exc.__class__.__name__},
        ) from exc


def import_error_report(*, job: ImportJob, fmt: str) -> ExportFile:
    """The uploaded rows with an "errors" column, built from the stored file."""
    if fmt not in FORMATS or not job.errors:
        raise NotFound()
    try:
        data = _job_data(job)
    except FileNotFoundError as exc:
        raise NotFound() from exc
    table = table_read(data, _job_format(job))
    messages: dict[int, list[str]] = defaultdict(list)
    for error in job.errors:
        messages[error["row"]].append(f"{error['column']}: {error['message']}")
    width = len(table.headers)
    rows = [
        [*cells[:width], *[""] * (width - len(cells)), "; ".join(messages.get(number, []))]
        for number, cells in table.rows
    ]
    return ExportFile(
        content=table_write([*table.headers, gettext("Errors")], rows, fmt),
        content_type=CONTENT_TYPES[fmt],
        filename=f"{job.kind}-errors-{job.public_id}.{fmt}",
    )


# --- Export and templates ---------------------------------------------------------------


def export_rows(*, kind: str, user, fmt: str) -> ExportFile:
    """The rows of ``kind`` the user may see, in the import format (xlsx or csv)."""
    spec = _spec_for_import(kind=kind, actor=user)
    if fmt not in FORMATS:
        raise NotFound()
    headers = [str(column.header) for column in spec.columns]
    rows = (
        [row.get(column.key, "") for column in spec.columns] for row in spec.export_rows(user=user)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(
        content=table_write(headers, rows, fmt),
        content_type=CONTENT_TYPES[fmt],
        filename=f"{kind}-{stamp}.{fmt}",
    )


def import_template(*, kind: str, user, fmt: str) -> ExportFile:
    """An empty file with the headers of ``kind``."""
    spec = _spec_for_import(kind=kind, actor=user)
    if fmt not in FORMATS:
        raise NotFound()
    headers = [str(column.header) for column in spec.columns]
    return ExportFile(
        content=table_write(headers, [], fmt),
        content_type=CONTENT_TYPES[fmt],
        filename=f"{kind}-template.{fmt}",
    )


# --- Reference data specs ---------------------------------------------------------------

_REGION_CODE = regex_parser(r"[0-9]{6}", _("A region code is 6 digits (GB/T 2260)."))
_LEVEL_ORDER = {Region.Level.PROVINCE: 0, Region.Level.CITY: 1, Region.Level.COUNTY: 2}
_PARENT_LEVELS = {
    Region.Level.PROVINCE: set(),
    Region.Level.CITY: {Region.Level.PROVINCE},
    # Districts of the municipalities (Beijing …) sit directly under the province level.
    Region.Level.COUNTY: {Region.Level.CITY, Region.Level.PROVINCE},
}
# Reference data is shared by the whole operator: only HQ and province staff change it.
_REFERENCE_ORG_KINDS = ("hq", "province")


def _audit_summary(*, actor, action: str, target_type: str, created: list, updated: list):
    audit_event_create(
        actor=actor,
        action=action,
        target_type=target_type,
        changes={"created": created[:1000], "updated": updated[:1000]},
        actor_username="system" if actor is None else "",
    )


@import_spec_register
class RegionImport(ImportSpec):
    """Administrative regions (GB/T 2260): province, city, county, upserted by code."""

    kind = "regions"
    label = _("Regions")
    permission = "core.change_region"
    org_kinds = _REFERENCE_ORG_KINDS
    key_columns = ("code",)
    columns = (
        Column("code", _("Code"), required=True, parser=_REGION_CODE, aliases=("代码", "编码")),
        Column("name", _("Name"), required=True, parser=length_parser(100), aliases=("名称",)),
        Column("name_en", _("English name"), parser=length_parser(100), aliases=("英文名称",)),
        Column(
            "level",
            _("Level"),
            required=True,
            parser=choice_parser(
                Region.Level,
                {
                    "省": "province",
                    "省级": "province",
                    "市": "city",
                    "地市": "city",
                    "区县": "county",
                    "县": "county",
                    "区": "county",
                },
            ),
            aliases=("级别", "层级"),
        ),
        Column("parent_code", _("Parent code"), parser=_REGION_CODE, aliases=("上级代码",)),
    )

    def prepare(self, *, actor, rows):
        levels = dict(Region.objects.values_list("code", "level"))
        parse_level = self.columns[3].parser
        for row in rows:
            try:
                levels[row.get("code", "")] = parse_level(row.get("level", ""))
            except ValidationError:
                continue
        return {"levels": levels}

    def clean(self, values, context):
        level = values["level"]
        parent_code = values["parent_code"]
        if level == Region.Level.PROVINCE:
            if parent_code:
                raise RowError({"parent_code": _("A province has no parent.")})
            return values
        if not parent_code:
            raise RowError({"parent_code": _("This value is required.")})
        parent_level = context["levels"].get(parent_code)
        if parent_level is None:
            raise RowError(
                {"parent_code": _("No region with code %(code)s.") % {"code": parent_code}}
            )
        if parent_level not in _PARENT_LEVELS[level]:
            raise RowError(
                {
                    "parent_code": _("A %(level)s cannot be placed under a %(parent)s.")
                    % {
                        "level": Region.Level(level).label,
                        "parent": Region.Level(parent_level).label,
                    }
                }
            )
        return values

    def write(self, rows, *, actor):
        by_code = {region.code: region for region in Region.objects.select_for_update()}
        created: list[str] = []
        updated: list[str] = []
        for row in sorted(rows, key=lambda row: _LEVEL_ORDER[row["level"]]):
            parent = by_code[row["parent_code"]] if row["parent_code"] else None
            wanted = {
                "name": row["name"],
                "name_en": row["name_en"],
                "level": row["level"],
                "parent_id": parent.pk if parent else None,
            }
            region = by_code.get(row["code"])
            if region is None:
                by_code[row["code"]] = Region.objects.create(code=row["code"], **wanted)
                created.append(row["code"])
                continue
            changed = [name for name, value in wanted.items() if getattr(region, name) != value]
            if changed:
                for name in changed:
                    setattr(region, name, wanted[name])
                region.save(update_fields=[*changed, "updated_at"])
                updated.append(row["code"])
        if created or updated:
            _audit_summary(
                actor=actor,
                action="region.imported",
                target_type="core.region",
                created=created,
                updated=updated,
            )
        return len(created), len(updated)

    def export_rows(self, *, user):
        for region in Region.objects.select_related("parent").order_by("code"):
            yield {
                "code": region.code,
                "name": region.name,
                "name_en": region.name_en,
                "level": region.level,
                "parent_code": region.parent.code if region.parent else "",
            }


@import_spec_register
class NumberSegmentImport(ImportSpec):
    """Mobile number segments: prefix (3–7 digits) → operator, province, city."""

    kind = "number_segments"
    label = _("Number segments")
    permission = "core.change_numbersegment"
    org_kinds = _REFERENCE_ORG_KINDS
    key_columns = ("prefix",)
    columns = (
        Column(
            "prefix",
            _("Prefix"),
            required=True,
            parser=regex_parser(r"1[0-9]{2,6}", _("A prefix is 3 to 7 digits starting with 1.")),
            aliases=("号段", "前缀"),
        ),
        Column(
            "operator",
            _("Operator"),
            required=True,
            parser=choice_parser(
                NumberSegment.Operator,
                {
                    "中国移动": "china_mobile",
                    "移动": "china_mobile",
                    "中国联通": "china_unicom",
                    "联通": "china_unicom",
                    "中国电信": "china_telecom",
                    "电信": "china_telecom",
                    "中国广电": "china_broadnet",
                    "广电": "china_broadnet",
                },
            ),
            aliases=("运营商",),
        ),
        Column("province_code", _("Province code"), parser=_REGION_CODE, aliases=("省份代码",)),
        Column("city_code", _("City code"), parser=_REGION_CODE, aliases=("地市代码", "城市代码")),
    )

    def prepare(self, *, actor, rows):
        return {
            "regions": {
                code: (level, parent_code or "")
                for code, level, parent_code in Region.objects.values_list(
                    "code", "level", "parent__code"
                )
            }
        }

    def clean(self, values, context):
        regions = context["regions"]
        province_code, city_code = values["province_code"], values["city_code"]
        errors = {}
        if city_code:
            level, parent_code = regions.get(city_code, ("", ""))
            if level != Region.Level.CITY:
                errors["city_code"] = _("No city with code %(code)s.") % {"code": city_code}
            elif province_code and parent_code != province_code:
                errors["city_code"] = _("This city is not in the given province.")
            else:
                values["province_code"] = province_code = parent_code
        if province_code and regions.get(province_code, ("",))[0] != Region.Level.PROVINCE:
            errors["province_code"] = _("No province with code %(code)s.") % {"code": province_code}
        if errors:
            raise RowError(errors)
        return values

    def write(self, rows, *, actor):
        region_ids = dict(Region.objects.values_list("code", "pk"))
        existing = {
            segment.prefix: segment for segment in NumberSegment.objects.select_for_update()
        }
        now = timezone.now()
        to_create: list[NumberSegment] = []
        to_update: list[NumberSegment] = []
        for row in rows:
            wanted = {
                "operator": row["operator"],
                "province_id": region_ids.get(row["province_code"]),
                "city_id": region_ids.get(row["city_code"]),
            }
            segment = existing.get(row["prefix"])
            if segment is None:
                to_create.append(NumberSegment(prefix=row["prefix"], **wanted))
            elif any(getattr(segment, name) != value for name, value in wanted.items()):
                for name, value in wanted.items():
                    setattr(segment, name, value)
                segment.updated_at = now
                to_update.append(segment)
        NumberSegment.objects.bulk_create(to_create, batch_size=1000)
        NumberSegment.objects.bulk_update(
            to_update, ["operator", "province", "city", "updated_at"], batch_size=1000
        )
        if to_create or to_update:
            _audit_summary(
                actor=actor,
                action="number_segment.imported",
                target_type="core.numbersegment",
                created=[segment.prefix for segment in to_create],
                updated=[segment.prefix for segment in to_update],
            )
        return len(to_create), len(to_update)

    def export_rows(self, *, user):
        for segment in NumberSegment.objects.select_related("province", "city").order_by("prefix"):
            yield {
                "prefix": segment.prefix,
                "operator": segment.operator,
                "province_code": segment.province.code if segment.province else "",
                "city_code": segment.city.code if segment.city else "",
            }


def _date_parser(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ValidationError(_("Give the date as YYYY-MM-DD.")) from None


_WORKING_DAY_WORDS = {
    "1": True, "yes": True, "y": True, "true": True, "是": True, "上班": True, "工作日": True,
    "0": False, "no": False, "n": False, "false": False, "否": False, "休息": False,
    "休息日": False, "节假日": False,
}  # fmt: skip


def _working_day_parser(value: str) -> bool:
    found = _WORKING_DAY_WORDS.get(value.strip().casefold())
    if found is None:
        raise ValidationError(_("Use 1 (working day) or 0 (day off)."))
    return found


@import_spec_register
class CalendarDayImport(ImportSpec):
    """The work calendar's exceptions: public holidays on weekdays and weekend days
    worked in exchange (调休), upserted by date (R0 reference data)."""

    kind = "calendar_days"
    label = _("Work calendar")
    permission = "core.change_calendarday"
    org_kinds = _REFERENCE_ORG_KINDS
    key_columns = ("date",)
    columns = (
        Column("date", _("Date"), required=True, parser=_date_parser, aliases=("日期",)),
        Column(
            "is_working_day",
            _("Working day"),
            required=True,
            parser=_working_day_parser,
            aliases=("是否工作日", "上班"),
        ),
        Column("name", _("Name"), parser=length_parser(100), aliases=("名称", "节日")),
    )

    def write(self, rows, *, actor):
        existing = {day.date: day for day in CalendarDay.objects.select_for_update()}
        created: list[str] = []
        updated: list[str] = []
        for row in rows:
            day = existing.get(row["date"])
            if day is None:
                CalendarDay.objects.create(
                    date=row["date"], is_working_day=row["is_working_day"], name=row["name"]
                )
                created.append(str(row["date"]))
            elif (day.is_working_day, day.name) != (row["is_working_day"], row["name"]):
                day.is_working_day, day.name = row["is_working_day"], row["name"]
                day.save(update_fields=["is_working_day", "name", "updated_at"])
                updated.append(str(row["date"]))
        if created or updated:
            _audit_summary(
                actor=actor,
                action="calendar_day.imported",
                target_type="core.calendarday",
                created=created,
                updated=updated,
            )
        return len(created), len(updated)

    def export_rows(self, *, user):
        for day in CalendarDay.objects.order_by("date"):
            yield {
                "date": day.date.isoformat(),
                "is_working_day": "1" if day.is_working_day else "0",
                "name": day.name,
            }
