"""Pages of the credit concern ``evaluations``."""

urlpatterns: list = []
