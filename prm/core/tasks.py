"""Celery tasks of the shared kernel (scheduled in ``prm.celery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.core.tasks.workflow_deadlines_check")
def workflow_deadlines_check() -> dict[str, int]:
    """Every 15 minutes: remind approvers of tasks coming due, escalate overdue ones."""
    from prm.core.workflow import workflow_deadlines_check as check

    return check()
