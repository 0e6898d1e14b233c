"""Public document numbers: ``<prefix>-<year>-<6 digits>`` (STYLE 9: never expose ids)."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone


def document_number_next(
    *, model: type[models.Model], prefix: str, on: date | None = None, field: str = "number"
) -> str:
    """The next free number of the year for ``model`` (call inside the transaction that
    creates the row). The year's rows are locked; two first numbers of a year created at
    the same moment collide on the field's unique constraint instead of duplicating."""
    head = f"{prefix}-{(on or timezone.localdate()).year}-"
    last = (
        model.objects.select_for_update()
        .filter(**{f"{field}__startswith": head})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    return f"{head}{(int(last.rsplit('-', 1)[1]) + 1 if last else 1):06d}"
