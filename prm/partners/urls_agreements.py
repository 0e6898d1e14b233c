"""URLs: agreements, business codes, exits and the blacklist (names under "partners")."""

from django.urls import path

from prm.partners import views_agreements as views

urlpatterns: list = [
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/new/", views.agreement_create, name="agreement_create"),
    path("agreements/<str:number>/", views.agreement_detail, name="agreement_detail"),
    path("agreements/<str:number>/edit/", views.agreement_edit, name="agreement_edit"),
    path("agreements/<str:number>/submit/", views.agreement_submit_view, name="agreement_submit"),
    path(
        "agreements/<str:number>/terminate/",
        views.agreement_terminate_view,
        name="agreement_terminate",
    ),
    path("agreements/<str:number>/renew/", views.agreement_renew_view, name="agreement_renew"),
    path("business-codes/", views.code_list, name="code_list"),
    path("business-codes/new/", views.code_assign, name="code_assign"),
    path("business-codes/<str:code>/release/", views.code_release, name="code_release"),
    path("exits/", views.exit_list, name="exit_list"),
    path("exits/apply/", views.exit_apply, name="exit_apply"),
    path("exits/new/", views.exit_start, name="exit_start"),
    path("exits/<str:number>/", views.exit_detail, name="exit_detail"),
    path("blacklist/", views.blacklist, name="blacklist"),
    path("blacklist/<str:uscc>/remove/", views.blacklist_remove, name="blacklist_remove"),
]
