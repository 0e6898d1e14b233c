"""URLs: breach investigations and inquiries (names under the "portal" namespace)."""

from django.urls import path

from prm.portal import views_cases

urlpatterns: list = [
    path("cases/", views_cases.case_list, name="case_list"),
    path("cases/new/", views_cases.case_create, name="case_create"),
    path("cases/<str:number>/", views_cases.case_detail, name="case_detail"),
    path("cases/<str:number>/respond/", views_cases.case_respond, name="case_respond"),
    path("cases/<str:number>/decide/", views_cases.case_decide, name="case_decide"),
    path("inquiries/", views_cases.inquiry_list, name="inquiry_list"),
    path("inquiries/new/", views_cases.inquiry_new, name="inquiry_create"),
    path("inquiries/<str:number>/", views_cases.inquiry_detail, name="inquiry_detail"),
    path(
        "inquiries/<str:number>/answer/",
        views_cases.inquiry_answer_view,
        name="inquiry_answer",
    ),
    path(
        "inquiries/<str:number>/reopen/",
        views_cases.inquiry_reopen_view,
        name="inquiry_reopen",
    ),
    path("inquiries/<str:number>/close/", views_cases.inquiry_close_view, name="inquiry_close"),
]
