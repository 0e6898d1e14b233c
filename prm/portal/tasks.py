"""Celery tasks of the portal (scheduled in ``prm.celery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.portal.tasks.deadlines_check")
def deadlines_check() -> dict[str, int]:
    """Hourly: breach cases past their response deadline, inquiries coming due/overdue."""
    from prm.portal.services.cases import deadlines_check as check

    return check()
