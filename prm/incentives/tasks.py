"""Celery tasks of the settlement runs (R4 rule 5; scheduled in ``prm.celery``).

Without a broker (``PRM_BROKER_URL`` unset) they run eagerly in the calling process.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.incentives.tasks.settlement_run_compute_task")
def settlement_run_compute_task(run_id: int) -> str:
    """Compute one queued settlement run (a redelivered task leaves it as it is)."""
    from prm.incentives.services.settlement import settlement_run_compute

    return settlement_run_compute(run_id=run_id).status


@shared_task(name="prm.incentives.tasks.settlement_runs_monthly")
def settlement_runs_monthly() -> dict[str, int]:
    """On the 15th at 02:00: start every active city's run of the previous period; tell
    the city's channel managers when billing months are missing."""
    from prm.incentives.services.settlement import settlement_runs_monthly as run_monthly

    return run_monthly()
