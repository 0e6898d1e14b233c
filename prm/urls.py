from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from prm.api import api, register_routers
from prm.core import views as core_views

register_routers()

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Before Django's own: also remembers the choice on the user and for a year.
    path("i18n/setlang/", core_views.language_set, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("prm.accounts.urls")),
    path("console/", include("prm.accounts.urls_console")),
    path("partners/", include("prm.partners.urls")),
    path("portal/", include("prm.portal.urls")),
    path("incentives/", include("prm.incentives.urls")),
    path("credit/", include("prm.credit.urls")),
    path("tmf-api/", include("prm.tmf.urls")),
    path("", include("prm.core.urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
]
