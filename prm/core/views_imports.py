"""Import and export pages (R0 import/export).

An upload becomes a background job (``prm.core.imports``); its page polls the progress
partial through htmx every second while the job is queued or running, then reloads to
show the outcome: counts, the row errors and the error report, or the failure and a
retry button. Jobs are scoped to the importer's org subtree (404 outside it); importing
a kind needs that kind's permission (403).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.imports import (
    FORMATS,
    ExportFile,
    export_rows,
    import_error_report,
    import_job_create,
    import_job_get,
    import_job_list,
    import_job_retry,
    import_spec_get,
    import_specs_for,
    import_template,
)
from prm.core.models import ImportJob

RECENT_JOBS = 50
ERRORS_SHOWN = 500  # rows of the error table on the page; the report holds them all


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


def _refuse(exc: ApplicationError):
    if isinstance(exc, NotFound) or exc.status == 404:
        raise Http404 from exc
    if exc.status == 403:
        raise PermissionDenied from exc
    raise exc


def _job(request: HttpRequest, public_id) -> ImportJob:
    try:
        return import_job_get(user=request.user, public_id=public_id)
    except ApplicationError as exc:
        _refuse(exc)
        raise


def _download(file: ExportFile) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    specs = import_specs_for(request.user)
    if not specs and not request.user.has_perm("core.view_importjob"):
        raise PermissionDenied
    jobs = list(import_job_list(user=request.user)[:RECENT_JOBS])
    for job in jobs:
        spec = import_spec_get(job.kind)
        job.kind_label = spec.label if spec else job.kind
    return render(
        request, "core/imports/list.html", {"specs": specs, "jobs": jobs, "formats": FORMATS}
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_create(request: HttpRequest, kind: str) -> HttpResponse:
    spec = import_spec_get(kind)
    if spec is None:
        raise Http404
    if not spec.user_may_import(request.user):
        raise PermissionDenied
    template_format = request.GET.get("template")
    if template_format:
        if template_format not in FORMATS:
            raise Http404
        return _download(import_template(kind=kind, user=request.user, fmt=template_format))
    status = 200
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_job_create(
                    kind=kind, uploaded_file=form.cleaned_data["file"], actor=request.user
                )
            except ApplicationError as exc:
                if exc.status in (403, 404):
                    _refuse(exc)
                form.add_error("file", str(exc.message))
            else:
                return redirect("core:import_detail", public_id=job.public_id)
        status = 400
    return render(
        request,
        "core/imports/create.html",
        {"spec": spec, "form": form, "formats": FORMATS},
        status=status,
    )


def _job_context(request: HttpRequest, job: ImportJob) -> dict:
    spec = import_spec_get(job.kind)
    return {
        "job": job,
        "spec": spec,
        "label": spec.label if spec else job.kind,
        "is_active": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "may_retry": (
            job.status == ImportJob.Status.FAILED
            and spec is not None
            and spec.user_may_import(request.user)
        ),
        "formats": FORMATS,
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, public_id) -> HttpResponse:
    job = _job(request, public_id)
    context = _job_context(request, job)
    context["errors"] = job.errors[:ERRORS_SHOWN]
    context["errors_hidden"] = max(0, len(job.errors) - ERRORS_SHOWN)
    return render(request, "core/imports/detail.html", context)


@login_required
@require_GET
def import_progress(request: HttpRequest, public_id) -> HttpResponse:
    """The progress bar alone (htmx). Once the job is done the page reloads itself."""
    job = _job(request, public_id)
    context = _job_context(request, job)
    response = render(request, "core/imports/_progress.html", context)
    if request.htmx and not context["is_active"]:
        response["HX-Refresh"] = "true"
    patch_cache_control(response, no_store=True)
    return response


@login_required
@require_GET
def import_errors(request: HttpRequest, public_id, fmt: str) -> HttpResponse:
    job = _job(request, public_id)
    try:
        return _download(import_error_report(job=job, fmt=fmt))
    except ApplicationError as exc:
        _refuse(exc)
        raise


@login_required
@require_POST
def import_retry(request: HttpRequest, public_id) -> HttpResponse:
    job = _job(request, public_id)
    try:
        import_job_retry(job=job, actor=request.user)
    except ApplicationError as exc:
        if exc.status in (403, 404):
            _refuse(exc)
        messages.error(request, str(exc.message))
    return redirect("core:import_detail", public_id=job.public_id)


@login_required
@require_GET
def export(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    try:
        return _download(export_rows(kind=kind, user=request.user, fmt=fmt))
    except ApplicationError as exc:
        _refuse(exc)
        raise
