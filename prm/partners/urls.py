"""Partner pages; each concern keeps its own URL module (one namespace, ``partners``)."""

from prm.partners import urls_agreements, urls_profile, urls_registration, urls_review

app_name = "partners"

urlpatterns = [
    *urls_registration.urlpatterns,
    *urls_review.urlpatterns,
    *urls_profile.urlpatterns,
    *urls_agreements.urlpatterns,
]
