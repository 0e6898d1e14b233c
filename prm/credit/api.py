"""The credit API (/api/v1/credit/…), one sub-router per concern."""

from ninja import Router

from prm.credit import (
    api_evaluations,
    api_exits,
    api_rawdata,
    api_resources,
    api_reviews,
    api_rules,
    api_standing,
)

router = Router(tags=["credit"])
router.add_router("", api_rawdata.router)
router.add_router("", api_rules.router)
router.add_router("", api_evaluations.router)
router.add_router("", api_standing.router)
router.add_router("", api_resources.router)
router.add_router("", api_reviews.router)
router.add_router("", api_exits.router)
