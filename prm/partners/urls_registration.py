"""URLs: partner self-registration (names under "partners", mounted at /partners/)."""

from django.urls import path

from prm.partners import views_registration

urlpatterns: list = [
    path("register/", views_registration.register, name="register"),
    path("registration/", views_registration.application, name="application"),
    path("registration/edit/", views_registration.application_edit, name="application_edit"),
    path(
        "registration/documents/<int:requirement_id>/",
        views_registration.application_document_upload,
        name="application_document_add",
    ),
    path(
        "registration/documents/<int:qualification_id>/remove/",
        views_registration.application_document_delete,
        name="application_document_remove",
    ),
    path("registration/submit/", views_registration.application_send, name="application_submit"),
    path(
        "registration-status/",
        views_registration.registration_status,
        name="registration_status",
    ),
]
