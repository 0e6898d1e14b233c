"""Incentive pages; each concern keeps its own URL module (one namespace, ``incentives``)."""

from prm.incentives import (
    urls_assist,
    urls_billing,
    urls_channels,
    urls_products,
    urls_promoters,
    urls_recommendations,
    urls_reports,
    urls_settlement,
)

app_name = "incentives"

urlpatterns = [
    *urls_channels.urlpatterns,
    *urls_promoters.urlpatterns,
    *urls_products.urlpatterns,
    *urls_recommendations.urlpatterns,
    *urls_billing.urlpatterns,
    *urls_assist.urlpatterns,
    *urls_settlement.urlpatterns,
    *urls_reports.urlpatterns,
]
