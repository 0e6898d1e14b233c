"""URLs: promoters (names under "incentives")."""

from django.urls import path

from prm.incentives import views_promoters as views

urlpatterns = [
    path("promoters/", views.promoter_list, name="promoter_list"),
    path("promoters/register/", views.promoter_register_internet, name="promoter_register"),
    path(
        "promoters/register/intranet/",
        views.promoter_register_intranet,
        name="promoter_register_intranet",
    ),
    path(
        "promoters/register/options/",
        views.promoter_register_options,
        name="promoter_register_options",
    ),
    path("promoters/register/done/", views.promoter_register_done, name="promoter_register_done"),
    path("promoters/seats/", views.seat_sync_list, name="seat_sync_list"),
    path("promoters/seats/<int:pk>/", views.seat_sync_detail, name="seat_sync_detail"),
    path("promoters/<uuid:public_id>/", views.promoter_detail, name="promoter_detail"),
    path("promoters/<uuid:public_id>/edit/", views.promoter_edit, name="promoter_edit"),
    path(
        "promoters/<uuid:public_id>/disable/",
        views.promoter_disable_view,
        name="promoter_disable",
    ),
    path("promoters/<uuid:public_id>/enable/", views.promoter_enable_view, name="promoter_enable"),
]
