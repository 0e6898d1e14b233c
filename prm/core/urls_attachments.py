"""URLs: attachments (names under the "core" namespace)."""

urlpatterns: list = []
