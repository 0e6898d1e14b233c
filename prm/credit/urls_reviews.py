"""Pages of the credit concern ``reviews``."""

urlpatterns: list = []
