"""Celery tasks of the TMF event hubs."""

from __future__ import annotations

from celery import shared_task

# Seconds before retry n (0-based): 10 s, 20 s, 40 s … at most an hour.
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 3600


def retry_delay(retries: int) -> int:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**retries)


@shared_task(bind=True, name="prm.tmf.tasks.event_delivery_send", max_retries=None)
def event_delivery_send(self, delivery_id: int) -> str:
    """Deliver one hub event; retried with exponential backoff while it is pending.

    ``event_delivery_attempt`` counts the attempts and marks the delivery ``failed``
    after ``PRM_TMF_DELIVERY_ATTEMPTS``, which ends the retries (so a dead listener never
    raises into the process that published the event).
    """
    from prm.tmf.hub import event_delivery_attempt

    status = event_delivery_attempt(delivery_id=delivery_id)
    if status != "pending":
        return status
    # A worker raises Retry (the task is re-queued with the countdown). Run eagerly (no
    # broker: development, tests) Celery re-runs the task at once when it *returns* the
    # Retry; raising it would propagate into the caller instead.
    return self.retry(countdown=retry_delay(self.request.retries), throw=not self.request.is_eager)
