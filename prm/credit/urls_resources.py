"""Pages of the credit concern ``resources``."""

urlpatterns: list = []
