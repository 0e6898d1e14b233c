"""API of the credit concern ``standing`` (/api/v1/credit/…)."""

from ninja import Router

router = Router(tags=["credit"])
