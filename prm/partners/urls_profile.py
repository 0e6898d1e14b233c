"""URLs: the registry, "My company", history, change requests, qualifications
(names under "partners"). ``partner_key`` is registered in ``setup_profile``: a partner
code (upper-case letters and a dash) or an application's id, never a lower-case word,
so these routes do not capture the other concerns' paths."""

from django.urls import path

from prm.partners import views_profile

urlpatterns: list = [
    path("", views_profile.partner_list, name="partner_list"),
    path("export/", views_profile.partner_export, name="partner_export"),
    path("my-company/", views_profile.my_profile, name="my_profile"),
    path("my-company/history/", views_profile.my_history, name="my_history"),
    path(
        "my-company/qualifications/new/",
        views_profile.qualification_create,
        name="qualification_create",
    ),
    path(
        "my-company/qualifications/<int:pk>/renew/",
        views_profile.qualification_renew,
        name="qualification_renew",
    ),
    path("change-requests/", views_profile.change_request_list, name="change_request_list"),
    path("change-requests/new/", views_profile.change_request_create, name="change_request_create"),
    path(
        "change-requests/<str:number>/",
        views_profile.change_request_detail,
        name="change_request_detail",
    ),
    path("<partner_key:key>/", views_profile.partner_detail, name="partner_detail"),
    path("<partner_key:key>/history/", views_profile.partner_history, name="partner_history"),
]
