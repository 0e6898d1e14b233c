"""The one check that a number belongs to the operator (R4: promoters and recommended
subscribers must be the operator's subscribers)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from prm.core.exceptions import ApplicationError
from prm.core.validators import msisdn_normalise, validate_msisdn


def operator_msisdn_clean(value: str) -> str:
    """The normalised 11-digit number, or an ``ApplicationError`` (code ``msisdn_invalid``)
    when it is malformed, in no known segment, or in another operator's segment."""
    try:
        segment = validate_msisdn(value)
    except ValidationError as error:
        raise ApplicationError("msisdn_invalid", " ".join(error.messages)) from error
    if segment.operator != settings.PRM_OPERATOR:
        raise ApplicationError(
            "msisdn_other_operator",
            _("The number %(number)s is not one of our subscribers' numbers.")
            % {"number": msisdn_normalise(value)},
        )
    return msisdn_normalise(value)
