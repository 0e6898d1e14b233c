"""API: workflow."""

from ninja import Router

router = Router(tags=["workflow"])
