"""Table tests of the identifier validators on published examples (R0 validators).

Every "valid" example below was checked by computing its check character.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from prm.core.models import NumberSegment
from prm.core.validators import (
    imei_is_valid,
    msisdn_normalise,
    resident_id_is_valid,
    uscc_is_valid,
    validate_imei,
    validate_msisdn,
    validate_resident_id,
    validate_uscc,
)


@pytest.mark.parametrize(
    ("_case", "code", "expected"),
    [
        ("published example", "91350100M000100Y43", True),
        ("Beijing company", "91110000600037341L", True),
        ("Beijing company, letter check", "91110108551385082Q", True),
        ("wrong check character", "91350100M000100Y44", False),
        ("wrong check letter", "91110108551385082R", False),
        ("lowercase", "91110108551385082q", False),
        ("letter O not allowed", "91350100O000100Y43", False),
        ("letter I not allowed", "91350100I000100Y43", False),
        ("letter Z not allowed", "91350100Z000100Y43", False),
        ("letter S not allowed", "91350100S000100Y43", False),
        ("letter V not allowed", "91350100V000100Y43", False),
        ("17 characters", "91350100M000100Y4", False),
        ("19 characters", "91350100M000100Y433", False),
        ("division not digits", "913501A0M000100Y43", False),
        ("empty", "", False),
        ("spaces", "91350100M000100Y4 ", False),
    ],
)
def test_uscc(_case, code, expected):
    assert uscc_is_valid(code) is expected


def test_validate_uscc_raises_translated_error():
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc("91350100M000100Y44")

    assert excinfo.value.code == "uscc_invalid"
    assert "GB 32100-2015" in excinfo.value.messages[0]
    assert validate_uscc("91350100M000100Y43") is None


TODAY = datetime.date(2026, 1, 15)


@pytest.mark.parametrize(
    ("_case", "number", "expected"),
    [
        ("GB 11643 standard example, X check", "11010519491231002X", True),
        ("published example born 1880", "440524188001010014", True),
        ("born 1990", "110101199003074477", True),
        ("wrong check digit", "110101199003074478", False),
        ("X where a digit is due", "11010119900307663X", False),
        ("lowercase x", "11010519491231002x", False),
        ("February 30", "110101199002307718", False),
        ("month 13", "110101199013074470", False),
        ("born tomorrow", "110101202601160011", False),
        ("born today", "110101202601150016", True),
        ("15-digit old format", "110105491231002", False),
        ("letter inside", "1101051949123100AX", False),
    ],
)
def test_resident_id(_case, number, expected):
    assert resident_id_is_valid(number, today=TODAY) is expected


def test_validate_resident_id_refuses_future_birth_date():
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id("110101209901010017")

    assert excinfo.value.code == "resident_id_invalid"


@pytest.mark.parametrize(
    ("_case", "imei", "expected"),
    [
        ("Luhn example", "490154203237518", True),
        ("published handset", "356938035643809", True),
        ("check digit off by one", "490154203237519", False),
        ("check digit off by one (2)", "356938035643808", False),
        ("14 digits", "49015420323751", False),
        ("16 digits", "4901542032375180", False),
        ("letter", "49015420323751A", False),
        ("empty", "", False),
    ],
)
def test_imei(_case, imei, expected):
    assert imei_is_valid(imei) is expected


def test_validate_imei():
    with pytest.raises(ValidationError) as excinfo:
        validate_imei("490154203237519")

    assert excinfo.value.code == "imei_invalid"
    assert validate_imei("490154203237518") is None


@pytest.mark.parametrize(
    ("_case", "raw", "expected"),
    [
        ("plain", "13800138000", "13800138000"),
        ("+86 and spaces", "+86 138 0013 8000", "13800138000"),
        ("0086", "008613800138000", "13800138000"),
        ("dashes", "138-0013-8000", "13800138000"),
    ],
)
def test_msisdn_normalise(_case, raw, expected):
    assert msisdn_normalise(raw) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "number", "operator"),
    [
        ("China Mobile", "13800138000", "china_mobile"),
        ("China Unicom", "18612345678", "china_unicom"),
        ("China Telecom", "19912345678", "china_telecom"),
        ("China Broadnet", "19212345678", "china_broadnet"),
        ("normalised +86", "+86 13800138000", "china_mobile"),
        ("China Mobile 147", "14712345678", "china_mobile"),
    ],
)
def test_validate_msisdn_known_segments_with_the_shipped_fallback(_case, number, operator):
    assert NumberSegment.objects.count() == 0

    assert validate_msisdn(number).operator == operator


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "number", "code"),
    [
        ("unknown segment", "12345678901", "msisdn_unknown_segment"),
        ("10 digits", "1380013800", "msisdn_invalid"),
        ("12 digits", "138001380001", "msisdn_invalid"),
        ("not starting with 1", "23800138000", "msisdn_invalid"),
        ("letters", "1380013800a", "msisdn_invalid"),
        ("landline", "02012345678", "msisdn_invalid"),
    ],
)
def test_validate_msisdn_refuses(_case, number, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_msisdn(number)

    assert excinfo.value.code == code


@pytest.mark.django_db
def test_validate_msisdn_uses_the_table_once_it_is_loaded():
    # given a segment table that knows only 138
    NumberSegment.objects.create(prefix="138", operator="china_mobile")

    # then 138 validates and 186 (shipped, but not in the table) is unknown
    assert validate_msisdn("13800138000").operator == "china_mobile"
    with pytest.raises(ValidationError) as excinfo:
        validate_msisdn("18612345678")
    assert excinfo.value.code == "msisdn_unknown_segment"
