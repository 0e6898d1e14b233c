"""Celery tasks of recommendations (imported by ``setup_recommendations`` so that the
worker registers them; scheduled in ``prm.celery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.incentives.tasks_recommendations.recommendation_orders_retry")
def recommendation_orders_retry() -> dict[str, int]:
    """Hourly: hand over again the orders billing refused and the confirmed recommendations
    whose hand-over never ran."""
    from prm.incentives.services.recommendations import recommendation_orders_retry as retry

    return retry()
