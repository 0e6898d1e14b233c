"""URLs: channels, outlets, the channel hierarchy and development targets (names under
"incentives"; the app is mounted at ``/incentives/``)."""

from django.urls import path

from prm.incentives import views_channels as views

urlpatterns: list = [
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<str:code>/", views.channel_detail, name="channel_detail"),
    path("channels/<str:code>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<str:code>/deactivate/", views.channel_deactivate, name="channel_deactivate"),
    path("channels/<str:code>/activate/", views.channel_activate, name="channel_activate"),
    path("channels/<str:code>/hierarchy/", views.channel_hierarchy, name="channel_hierarchy"),
    path("channels/<str:code>/outlets/new/", views.outlet_create, name="outlet_create"),
    path("outlets/<str:code>/edit/", views.outlet_edit, name="outlet_edit"),
    path("outlets/<str:code>/deactivate/", views.outlet_deactivate, name="outlet_deactivate"),
    path("outlets/<str:code>/activate/", views.outlet_activate, name="outlet_activate"),
    path("targets/", views.target_list, name="target_list"),
    path("targets/set/", views.target_set, name="target_set"),
]
