"""Incentive pages; each concern keeps its own URL module (one namespace, ``incentives``)."""

from prm.incentives import (
    urls_channels,
    urls_promoters,
    urls_products,
    urls_recommendations,
    urls_billing,
    urls_settlement,
    urls_reports,
)

app_name = "incentives"

urlpatterns = [
    *urls_channels.urlpatterns,
    *urls_promoters.urlpatterns,
    *urls_products.urlpatterns,
    *urls_recommendations.urlpatterns,
    *urls_billing.urlpatterns,
    *urls_settlement.urlpatterns,
    *urls_reports.urlpatterns,
]
