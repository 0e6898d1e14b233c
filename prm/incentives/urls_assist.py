"""URLs: the call-centre assist (names under "incentives")."""

from django.urls import path

from prm.incentives import views_assist

urlpatterns: list = [
    path("assist/", views_assist.assist, name="assist"),
    path("assist/<str:msisdn>/sms/", views_assist.assist_sms, name="assist_sms"),
    path("assist/<str:msisdn>/recommend/", views_assist.assist_record, name="assist_recommend"),
]
