"""The one way a service refuses an action."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule refused an action.

    ``code`` is stable (clients and tests match on it); ``message`` is translated
    (pass a ``gettext`` string); ``details`` carries structured context such as the
    field errors of a form or the rows of an import. ``status`` is the HTTP status the
    API answers with: 400 by default, 403 forbidden, 404 not found, 409 conflict.
    """

    def __init__(
        self,
        code: str,
        message: Any,
        *,
        details: dict[str, Any] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ApplicationError):
    def __init__(self, message: Any = None) -> None:
        from django.utils.translation import gettext

        super().__init__("not_found", message or gettext("Not found."), status=404)


class Forbidden(ApplicationError):
    def __init__(self, message: Any = None) -> None:
        from django.utils.translation import gettext

        super().__init__(
            "forbidden", message or gettext("You do not have permission to do this."), status=403
        )
