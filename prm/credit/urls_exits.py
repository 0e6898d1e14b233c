"""Pages of the credit concern ``exits``."""

urlpatterns: list = []
