"""URLs: audit (names under the "core" namespace)."""

urlpatterns: list = []
