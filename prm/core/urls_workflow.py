"""URLs: workflow (names under the "core" namespace)."""

urlpatterns: list = []
