"""Pages of the credit concern ``rawdata``."""

urlpatterns: list = []
