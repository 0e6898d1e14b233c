"""Password policy beyond Django's validators (R0: password policy)."""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """At least three of: lower-case letters, upper-case letters, digits, symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def classes(self, password: str) -> int:
        return sum(
            [
                any(c in string.ascii_lowercase for c in password),
                any(c in string.ascii_uppercase for c in password),
                any(c in string.digits for c in password),
                any(not c.isalnum() for c in password),
            ]
        )

    def validate(self, password: str, user=None) -> None:  # noqa: ARG002
        if self.classes(password) < self.min_classes:
            raise ValidationError(
                _(
                    "The password must contain at least %(n)d of: lower-case letters, "
                    "upper-case letters, digits, symbols."
                )
                % {"n": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _(
            "Use at least %(n)d of: lower-case letters, upper-case letters, digits, symbols."
        ) % {"n": self.min_classes}
