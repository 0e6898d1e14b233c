"""Celery tasks of the partners app (scheduled in ``prm.celery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="prm.partners.tasks.qualifications_check")
def qualifications_check() -> dict[str, int]:
    """Daily: expiry reminders (30/7 days by default) and suspension on expiry."""
    from prm.partners.services.profile import qualifications_check as check

    return check()


@shared_task(name="prm.partners.tasks.agreements_check")
def agreements_check() -> dict[str, int]:
    """Daily: renewal reminders, active → expiring → terminated at the end of term."""
    from prm.partners.services.agreements import agreements_check as check

    return check()
