"""Attachment pages (R0): download for users who may see the owner; a generic upload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from prm.core.attachments import (
    attachment_can_upload,
    attachment_create,
    attachment_get_for_download,
    attachment_owner_get,
    attachment_panel,
)
from prm.core.exceptions import ApplicationError, NotFound


@login_required
@require_GET
def attachment_download(request: HttpRequest, public_id) -> HttpResponse:
    """Stream the file as a download; 404 unless the user may see the owning object."""
    try:
        attachment = attachment_get_for_download(public_id=public_id, user=request.user)
        handle = attachment.file.open("rb")
    except (NotFound, FileNotFoundError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # Never let a browser sniff an uploaded file into HTML or script.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_POST
def attachment_upload(request: HttpRequest, owner_type: str, owner_id: str) -> HttpResponse:
    """Attach one uploaded file (field ``file``) to an owner the user may see and change."""
    try:
        owner = attachment_owner_get(owner_type=owner_type, owner_id=owner_id, user=request.user)
    except NotFound as exc:
        raise Http404 from exc
    if not attachment_can_upload(owner=owner, user=request.user):
        raise PermissionDenied
    purpose = request.POST.get("purpose", "")
    uploaded = request.FILES.get("file")
    error = None
    if uploaded is None:
        error = _("Choose a file to upload.")
    else:
        try:
            attachment_create(
                owner=owner, uploaded_file=uploaded, actor=request.user, purpose=purpose
            )
        except ApplicationError as exc:
            error = str(exc.message)
    if request.htmx:
        panel = attachment_panel(owner=owner, user=request.user, purpose=purpose)
        return render(
            request,
            "core/attachments/panel.html",
            {"attachment_panel": panel, "attachment_error": error},
            status=200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The file was attached."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    return redirect(target)
