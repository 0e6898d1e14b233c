"""The audit log pages (R0 4A: audit): search, and a CSV export that is itself audited.

Readers see the events of actors in their org subtree (``audit_event_list``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from prm.core.audit import audit_event_create, audit_event_list
from prm.core.forms_audit import AuditFilterForm

AUDIT_PAGE_SIZE = 50
CSV_HEADER = (
    "time",
    "actor",
    "actor_org_path",
    "ip_address",
    "action",
    "object_type",
    "object_id",
    "object",
    "changes",
    "user_agent",
)
# A cell starting with one of these would run as a formula in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def change_rows(changes) -> list[tuple[str, object, object, bool]]:
    """``(field, old, new, is_change)`` rows of an event's changes for display."""
    if not isinstance(changes, dict):
        return [("", changes, None, False)]
    rows = []
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            rows.append((field, value[0], value[1], True))
        else:
            rows.append((field, value, None, False))
    return rows


@login_required
@permission_required("core.view_auditevent", raise_exception=True)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = audit_event_list(user=request.user, filters=form.filters())
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.change_rows = change_rows(event.changes)
    params = request.GET.copy()
    params.pop("page", None)
    context = {"form": form, "page": page, "query": params.urlencode()}
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, "core/audit/_audit_table.html", context)
    return render(request, "core/audit/audit_list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_rows(events) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte-order mark so that spreadsheet programs read UTF-8 Chinese
    yield writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(timezone.localtime(event.created_at).isoformat()),
                _cell(event.actor_username),
                _cell(event.org_path),
                _cell(event.ip_address),
                _cell(event.action),
                _cell(event.target_type),
                _cell(event.target_id),
                _cell(event.target_repr),
                _cell(json.dumps(event.changes, ensure_ascii=False, sort_keys=True)),
                _cell(event.user_agent),
            ]
        )


@login_required
@permission_required("core.export_auditevent", raise_exception=True)
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the events matching the filters as CSV; the export is recorded first."""
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    audit_event_create(
        actor=request.user,
        action="audit.exported",
        changes={"filters": {key: value for key, value in filters.items() if value}},
    )
    events = audit_event_list(user=request.user, filters=filters)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
