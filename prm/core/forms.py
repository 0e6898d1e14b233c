"""Form plumbing shared by every app's views."""

from __future__ import annotations

from django import forms

from prm.core.exceptions import ApplicationError


def form_add_application_error(form: forms.BaseForm, error: ApplicationError) -> None:
    """Show a service's refusal on the form: on the field it names in
    ``details["field"]`` when the form has that field, otherwise above the form."""
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, str(error.message))
