"""URLs: operator account requests (names under "accounts")."""

urlpatterns: list = []
