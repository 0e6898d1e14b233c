"""Pages of the credit concern ``rules``."""

urlpatterns: list = []
