"""URLs: the product catalogue and rebate versions (names under "incentives")."""

from django.urls import path

from prm.incentives import views_products as views

VERSION = "products/<str:code>/versions/<str:effective_from>"

urlpatterns: list = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<str:code>/", views.product_detail, name="product_detail"),
    path("products/<str:code>/edit/", views.product_edit, name="product_edit"),
    path("products/<str:code>/versions/new/", views.rebate_version_add, name="rebate_version_add"),
    path(f"{VERSION}/edit/", views.rebate_version_edit, name="rebate_version_edit"),
    path(f"{VERSION}/delete/", views.rebate_version_delete, name="rebate_version_delete"),
]
