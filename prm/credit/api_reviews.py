"""API of the credit concern ``reviews`` (/api/v1/credit/…)."""

from ninja import Router

router = Router(tags=["credit"])
