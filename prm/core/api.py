"""Core API, one router module per concern."""

from __future__ import annotations

from ninja import Router

from prm.core import api_audit, api_notifications, api_workflow

router = Router(tags=["core"])
router.add_router("/audit-events", api_audit.router)
router.add_router("/notifications", api_notifications.router)
router.add_router("/workflow", api_workflow.router)
