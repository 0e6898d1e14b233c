"""URLs: workflow (names under the "core" namespace)."""

from django.urls import path

from prm.core import views_workflow

urlpatterns: list = [
    path("approvals/", views_workflow.workflow_tasks, name="workflow_tasks"),
    path(
        "approvals/<int:instance_id>/<str:action>/",
        views_workflow.workflow_act,
        name="workflow_act",
    ),
]
