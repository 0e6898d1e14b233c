"""API: recommendations (/api/v1/incentives/…)."""

from ninja import Router

router = Router(tags=["incentives"])
