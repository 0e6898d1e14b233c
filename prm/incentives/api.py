"""The incentives API (/api/v1/incentives/…), one sub-router per concern."""

from ninja import Router

from prm.incentives import (
    api_assist,
    api_billing,
    api_channels,
    api_products,
    api_promoters,
    api_recommendations,
    api_reports,
    api_settlement,
)

router = Router(tags=["incentives"])
router.add_router("", api_channels.router)
router.add_router("", api_promoters.router)
router.add_router("", api_products.router)
router.add_router("", api_recommendations.router)
router.add_router("", api_billing.router)
router.add_router("", api_assist.router)
router.add_router("", api_settlement.router)
router.add_router("", api_reports.router)
