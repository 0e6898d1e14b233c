"""Portal pages; each concern keeps its own URL module (one namespace, ``portal``)."""

from prm.portal import urls_announcements, urls_cases

app_name = "portal"

urlpatterns = [*urls_announcements.urlpatterns, *urls_cases.urlpatterns]
