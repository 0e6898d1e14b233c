"""API of the credit concern ``evaluations`` (/api/v1/credit/…)."""

from ninja import Router

router = Router(tags=["credit"])
