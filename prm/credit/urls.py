"""Credit pages; each concern keeps its own URL module (one namespace, ``credit``)."""

from prm.credit import (
    urls_evaluations,
    urls_exits,
    urls_rawdata,
    urls_resources,
    urls_reviews,
    urls_rules,
    urls_standing,
)

app_name = "credit"

urlpatterns = [
    *urls_rawdata.urlpatterns,
    *urls_rules.urlpatterns,
    *urls_evaluations.urlpatterns,
    *urls_standing.urlpatterns,
    *urls_resources.urlpatterns,
    *urls_reviews.urlpatterns,
    *urls_exits.urlpatterns,
]
