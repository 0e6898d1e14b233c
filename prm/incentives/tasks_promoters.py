"""Celery task of the promoter concern (scheduled in ``prm.celery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.incentives.tasks_promoters.seats_sync_all")
def seats_sync_all() -> list[dict]:
    """Daily: synchronise the call-centre seats when ``PRM_CALLCENTRE_SEATS_SOURCE`` is
    set (per city when the source names ``{city_code}``, else once for the operator)."""
    from prm.incentives.services.seats import seats_sync_all as run

    return [
        {
            "org": sync.org.code,
            "status": sync.status,
            "created": sync.created_count,
            "updated": sync.updated_count,
            "disabled": sync.disabled_count,
            "errors": len(sync.errors),
        }
        for sync in run()
    ]
