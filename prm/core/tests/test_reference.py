"""Reference data: the shipped files, `prm reference_load`, and number-segment lookup."""

import io

import pytest
from django.core.management import call_command
from django.utils import translation

from prm.core.models import AuditEvent, NumberSegment, Region
from prm.core.reference import msisdn_lookup, region_list, shipped_segments

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = io.StringIO()
    call_command("reference_load", stdout=out)
    return out.getvalue()


def test_reference_load_loads_the_shipped_files():
    output = _load()

    assert output == ("regions: 62 created, 0 updated\nnumber_segments: 56 created, 0 updated\n")
    assert region_list(level="province").count() == 34
    assert region_list(level="city", parent_code="440000").count() == 21
    assert region_list(level="county").count() == 7
    assert Region.objects.get(code="440106").parent.code == "440100"
    assert NumberSegment.objects.filter(prefix__regex=r"^[0-9]{3}$").count() == 49
    assert NumberSegment.objects.get(prefix="192").operator == "china_broadnet"


def test_reference_load_twice_changes_nothing():
    _load()
    events = AuditEvent.objects.count()
    stamps = list(Region.objects.order_by("code").values_list("code", "updated_at"))

    output = _load()

    assert output == "regions: 0 created, 0 updated\nnumber_segments: 0 created, 0 updated\n"
    assert AuditEvent.objects.count() == events
    assert list(Region.objects.order_by("code").values_list("code", "updated_at")) == stamps


def test_reference_load_restores_a_changed_row():
    _load()
    Region.objects.filter(code="440300").update(name="改名")

    output = _load()

    assert output == "regions: 0 created, 1 updated\nnumber_segments: 0 created, 0 updated\n"
    assert Region.objects.get(code="440300").name == "深圳市"


def test_lookup_prefers_the_longest_prefix():
    _load()

    segment = msisdn_lookup("13802401234")

    assert (segment.prefix, segment.operator) == ("1380240", "china_mobile")
    assert (segment.province_code, segment.city_code) == ("440000", "440100")
    assert (segment.province_name, segment.city_name) == ("广东省", "广州市")
    with translation.override("en"):
        assert segment.operator_label == "China Mobile"


def test_lookup_falls_back_to_the_three_digit_segment():
    _load()

    segment = msisdn_lookup("13812345678")

    assert (segment.prefix, segment.operator, segment.city_code) == ("138", "china_mobile", "")


def test_lookup_unknown_segment():
    _load()

    assert msisdn_lookup("12345678901") is None


def test_lookup_without_a_table_uses_the_shipped_list():
    assert NumberSegment.objects.count() == 0

    segment = msisdn_lookup("18612345678")

    assert (segment.prefix, segment.operator) == ("186", "china_unicom")
    assert len(shipped_segments()) == 56
