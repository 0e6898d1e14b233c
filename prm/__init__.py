"""PRM: partner-operations platform for mobile operators."""

from prm.celery import app as celery_app

__all__ = ["celery_app"]
__version__ = "0.1.0"
