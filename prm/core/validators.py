"""Validators of Chinese business identifiers (R0 foundation).

Each identifier has a pure predicate (``*_is_valid``) and a Django validator
(``validate_*``) that raises ``ValidationError`` with a translated message and a stable
code, so forms, model fields, the API and the import framework refuse the same values
with the same words.

- USCC (统一社会信用代码), GB 32100-2015: 18 characters from ``0-9A-HJ-NPQRTUWXY``
  (no I, O, S, V, Z), the 3rd–8th characters an administrative division code, the 18th a
  check character (weighted sum mod 31).
- Resident identity number (公民身份号码), GB 11643-1999: 17 digits + a check character
  (ISO 7064 MOD 11-2, ``X`` for 10), with a valid birth date that is not in the future.
- Mainland mobile number (MSISDN): 11 digits starting with 1, whose segment (号段) is
  known; the operator comes from the number-segment table (``prm.core.reference``).
- IMEI: 15 digits whose last digit is the Luhn check digit.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK_CHARS = "10X98765432"

_USCC_RE = re.compile(rf"^[{USCC_CHARSET}]{{18}}$")
_RESIDENT_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_MSISDN_RE = re.compile(r"^1[0-9]{10}$")
_IMEI_RE = re.compile(r"^[0-9]{15}$")


# --- USCC (GB 32100-2015) -------------------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """The check character of the first 17 characters of a USCC (GB 32100-2015 §5)."""
    total = sum(
        USCC_CHARSET.index(char) * weight
        for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    """Whether ``code`` is a well-formed unified social credit code. Upper case only."""
    if not isinstance(code, str) or not _USCC_RE.match(code):
        return False
    if not code[2:8].isdigit():  # the registering authority's administrative division
        return False
    return uscc_check_char(code[:17]) == code[17]


def validate_uscc(value: str) -> None:
    if not uscc_is_valid(value):
        raise ValidationError(
            _("Enter a valid unified social credit code (18 characters, GB 32100-2015)."),
            code="uscc_invalid",
            params={"value": value},
        )


# --- Resident identity number (GB 11643-1999) ----------------------------------------


def resident_id_check_char(first17: str) -> str:
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, RESIDENT_ID_WEIGHTS, strict=True)
    )
    return RESIDENT_ID_CHECK_CHARS[total % 11]


def resident_id_birth_date(number: str) -> datetime.date | None:
    """The birth date coded in characters 7–14, or None when it is not a real date."""
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def resident_id_is_valid(number: str, *, today: datetime.date | None = None) -> bool:
    """Whether ``number`` is a valid 18-character resident identity number: check
    character right, birth date a real date and not after ``today``."""
    if not isinstance(number, str) or not _RESIDENT_ID_RE.match(number):
        return False
    birth = resident_id_birth_date(number)
    if birth is None or birth > (today or timezone.localdate()):
        return False
    return resident_id_check_char(number[:17]) == number[17]


def validate_resident_id(value: str) -> None:
    if not resident_id_is_valid(value):
        raise ValidationError(
            _("Enter a valid resident identity number (18 characters, GB 11643)."),
            code="resident_id_invalid",
            params={"value": value},
        )


# --- Mainland mobile numbers ----------------------------------------------------------


def msisdn_normalise(value: str) -> str:
    """The bare 11-digit form: spaces and dashes removed, a ``+86``/``0086`` prefix
    dropped. Does not validate."""
    number = re.sub(r"[\s\-]", "", str(value or ""))
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    return number


def msisdn_is_well_formed(number: str) -> bool:
    return bool(_MSISDN_RE.match(number))


def validate_msisdn(value: str):
    """Refuse anything but a mainland mobile number of a known segment.

    Returns the segment information (operator, province, city) of the normalised
    number, so callers that need the operator do not look it up twice.
    """
    from prm.core.reference import msisdn_lookup

    number = msisdn_normalise(value)
    if not msisdn_is_well_formed(number):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 1."),
            code="msisdn_invalid",
            params={"value": value},
        )
    segment = msisdn_lookup(number)
    if segment is None:
        raise ValidationError(
            _("The number %(value)s is not in a known mobile number segment."),
            code="msisdn_unknown_segment",
            params={"value": number},
        )
    return segment


# --- IMEI -----------------------------------------------------------------------------


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def imei_is_valid(imei: str) -> bool:
    """Whether ``imei`` is 15 digits with a correct Luhn check digit."""
    return isinstance(imei, str) and bool(_IMEI_RE.match(imei)) and luhn_is_valid(imei)


def validate_imei(value: str) -> None:
    if not imei_is_valid(value):
        raise ValidationError(
            _("Enter a valid IMEI (15 digits with a correct check digit)."),
            code="imei_invalid",
            params={"value": value},
        )
