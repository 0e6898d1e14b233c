"""``/tmf-api/``: the TM Forum-shaped API, its OpenAPI (``openapi.json``) and ``docs``."""

from django.urls import path

from prm.tmf.api import register_routers, tmf_api

register_routers()

urlpatterns = [path("", tmf_api.urls)]
