"""The Celery app. With no ``PRM_BROKER_URL`` tasks run eagerly in the calling process."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings")

app = Celery("prm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (Celery beat). Business calendars live in prm.core.calendar.
app.conf.beat_schedule = {
    "workflow-reminders-and-escalation": {
        "task": "prm.core.tasks.workflow_deadlines_check",
        "schedule": crontab(minute="*/15"),
    },
    "partner-qualification-expiry": {
        "task": "prm.partners.tasks.qualifications_check",
        "schedule": crontab(hour=7, minute=0),
    },
    "partner-agreement-terms": {
        "task": "prm.partners.tasks.agreements_check",
        "schedule": crontab(hour=7, minute=10),
    },
    "portal-deadlines": {
        "task": "prm.portal.tasks.deadlines_check",
        "schedule": crontab(minute=5),
    },
    # R4 rule 5: settle on the 15th the period whose observation windows closed last month.
    "incentives-monthly-settlement": {
        "task": "prm.incentives.tasks.settlement_runs_monthly",
        "schedule": crontab(day_of_month=15, hour=2, minute=0),
    },
    "incentives-seat-sync": {
        "task": "prm.incentives.tasks_promoters.seats_sync_all",
        "schedule": crontab(hour=3, minute=30),
    },
    "incentives-recommendation-orders-retry": {
        "task": "prm.incentives.tasks_recommendations.recommendation_orders_retry",
        "schedule": crontab(minute=20),
    },
}
