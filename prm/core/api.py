"""Core API: notifications, workflow tasks, audit log."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["core"])
