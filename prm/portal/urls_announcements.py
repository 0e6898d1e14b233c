"""URLs: announcements, public notices, knowledge base (names under "portal")."""

from django.urls import path

from prm.portal import views_announcements as views

urlpatterns: list = [
    path("announcements/", views.announcement_list, name="announcement_list"),
    path("announcements/new/", views.announcement_create_view, name="announcement_create"),
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement_detail"),
    path("announcements/<int:pk>/edit/", views.announcement_edit, name="announcement_edit"),
    path(
        "announcements/<int:pk>/publish/",
        views.announcement_publish_view,
        name="announcement_publish",
    ),
    path(
        "announcements/<int:pk>/withdraw/",
        views.announcement_withdraw_view,
        name="announcement_withdraw",
    ),
    path(
        "announcements/<int:pk>/attachments/",
        views.announcement_attachment,
        name="announcement_attachment",
    ),
    path(
        "announcements/<int:pk>/acknowledge/",
        views.announcement_acknowledge_view,
        name="announcement_acknowledge",
    ),
    path("announcements/<int:pk>/reply/", views.announcement_reply, name="announcement_reply"),
    path(
        "announcements/<int:pk>/statistics/",
        views.announcement_statistics_view,
        name="announcement_statistics",
    ),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/new/", views.notice_create, name="notice_create"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("knowledge/", views.knowledge_list, name="knowledge_list"),
    path("knowledge/new/", views.knowledge_create, name="knowledge_create"),
    path("knowledge/<int:pk>/", views.knowledge_detail, name="knowledge_detail"),
    path("knowledge/<int:pk>/edit/", views.knowledge_edit, name="knowledge_edit"),
    path("knowledge/<int:pk>/submit/", views.knowledge_submit, name="knowledge_submit"),
    path("knowledge/<int:pk>/recall/", views.knowledge_recall, name="knowledge_recall"),
    path("knowledge/<int:pk>/approve/", views.knowledge_approve, name="knowledge_approve"),
    path("knowledge/<int:pk>/reject/", views.knowledge_reject, name="knowledge_reject"),
    path("knowledge/<int:pk>/archive/", views.knowledge_archive, name="knowledge_archive"),
    path(
        "knowledge/<int:pk>/attachments/",
        views.knowledge_attachment,
        name="knowledge_attachment",
    ),
]
