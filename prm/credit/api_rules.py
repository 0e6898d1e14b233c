"""API of the credit concern ``rules`` (/api/v1/credit/…)."""

from ninja import Router

router = Router(tags=["credit"])
