"""URLs of the introduction review, expert pool and introduction sources (spliced into
the ``partners`` namespace at /partners/)."""

from django.urls import path

from prm.partners import views_review

urlpatterns: list = [
    path("reviews/", views_review.review_queue, name="review_queue"),
    path("reviews/mine/", views_review.my_reviews, name="my_reviews"),
    path(
        "reviews/mine/conflicts/",
        views_review.my_conflict_declare,
        name="my_conflict_declare",
    ),
    path("reviews/panels/<int:panel_id>/", views_review.review_panel, name="review_panel"),
    path("reviews/<int:partner_id>/", views_review.review_detail, name="review_detail"),
    path("reviews/<int:partner_id>/open/", views_review.review_open, name="review_open"),
    path("reviews/<int:partner_id>/approve/", views_review.review_approve, name="review_approve"),
    path("reviews/<int:partner_id>/reject/", views_review.review_reject, name="review_reject"),
    path(
        "reviews/<int:partner_id>/panel/",
        views_review.review_panel_draw,
        name="review_panel_draw",
    ),
    path("experts/", views_review.expert_list_view, name="expert_list"),
    path("experts/new/", views_review.expert_create_view, name="expert_create"),
    path("experts/<int:expert_id>/", views_review.expert_edit_view, name="expert_edit"),
    path(
        "experts/<int:expert_id>/conflicts/",
        views_review.expert_conflict_add,
        name="expert_conflict_add",
    ),
    path(
        "experts/<int:expert_id>/conflicts/<int:conflict_id>/delete/",
        views_review.expert_conflict_delete,
        name="expert_conflict_delete",
    ),
    path("recommendations/", views_review.recommend, name="recommend"),
    path("reports/sources/", views_review.source_report, name="source_report"),
]
