"""Celery task of the billing import (registered by ``setup_billing`` at app ready; eager
when no broker is configured)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.incentives.tasks_billing.billing_import_run")
def billing_import_run(import_id: int) -> str:
    """Run one queued billing import; returns its final status."""
    from prm.incentives.services.billing import billing_import_execute

    return billing_import_execute(import_id=import_id).status
