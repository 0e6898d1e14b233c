"""Authentication backend: Django's model backend with argon2 hashes, role groups as
permission sets, and the lockout rule applied before the password is checked."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class RoleBackend(ModelBackend):
    """Permissions come from the user's roles (each role owns a group)."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not user.is_locked()
