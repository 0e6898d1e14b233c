"""URLs: imports (names under the "core" namespace)."""

urlpatterns: list = []
