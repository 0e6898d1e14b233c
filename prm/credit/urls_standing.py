"""Pages of the credit concern ``standing``."""

urlpatterns: list = []
