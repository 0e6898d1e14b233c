"""Reference data reads (R0): administrative regions and mobile number segments.

Reference data is the same for everyone (it is not org-scoped); who may *change* it is
decided by permissions (``core.change_region``, ``core.change_numbersegment``). The
shipped defaults live in ``prm/core/data/`` and are loaded by ``prm reference_load``.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from django.db.models import QuerySet
from django.db.models.functions import Length

from prm.core.models import NumberSegment, Region

DATA_DIR = Path(__file__).resolve().parent / "data"
REGIONS_CSV = DATA_DIR / "regions.csv"
NUMBER_SEGMENTS_CSV = DATA_DIR / "number_segments.csv"

SEGMENT_MIN_DIGITS = 3
SEGMENT_MAX_DIGITS = 7


@dataclass(frozen=True)
class SegmentInfo:
    """What a mobile number's segment says: operator and, for 7-digit segments, where
    the number was issued."""

    prefix: str
    operator: str
    province_code: str = ""
    province_name: str = ""
    city_code: str = ""
    city_name: str = ""

    @property
    def operator_label(self) -> str:
        return str(NumberSegment.Operator(self.operator).label)


def region_list(*, level: str | None = None, parent_code: str | None = None) -> QuerySet[Region]:
    regions = Region.objects.select_related("parent")
    if level:
        regions = regions.filter(level=level)
    if parent_code:
        regions = regions.filter(parent__code=parent_code)
    return regions


def region_get(*, code: str) -> Region | None:
    return Region.objects.select_related("parent").filter(code=code).first()


def number_segment_list(*, operator: str | None = None) -> QuerySet[NumberSegment]:
    segments = NumberSegment.objects.select_related("province", "city")
    if operator:
        segments = segments.filter(operator=operator)
    return segments


@functools.cache
def shipped_segments() -> dict[str, SegmentInfo]:
    """The segments shipped in ``number_segments.csv``, by prefix (read once)."""
    with NUMBER_SEGMENTS_CSV.open(encoding="utf-8", newline="") as handle:
        return {
            row["prefix"]: SegmentInfo(
                prefix=row["prefix"],
                operator=row["operator"],
                province_code=row["province_code"],
                city_code=row["city_code"],
            )
            for row in csv.DictReader(handle)
        }


def _candidate_prefixes(number: str) -> list[str]:
    return [number[:length] for length in range(SEGMENT_MAX_DIGITS, SEGMENT_MIN_DIGITS - 1, -1)]


def msisdn_lookup(number: str) -> SegmentInfo | None:
    """The segment of an 11-digit number by longest prefix (7 digits before 3), or None.

    When the segment table is empty (a fresh install before ``prm reference_load``) the
    shipped list is used so that mobile numbers validate out of the box.
    """
    candidates = _candidate_prefixes(number)
    segment = (
        NumberSegment.objects.select_related("province", "city")
        .filter(prefix__in=candidates)
        .order_by(Length("prefix").desc())
        .first()
    )
    if segment is not None:
        return SegmentInfo(
            prefix=segment.prefix,
            operator=segment.operator,
            province_code=segment.province.code if segment.province else "",
            province_name=segment.province.name if segment.province else "",
            city_code=segment.city.code if segment.city else "",
            city_name=segment.city.name if segment.city else "",
        )
    if NumberSegment.objects.exists():
        return None
    shipped = shipped_segments()
    return next((shipped[prefix] for prefix in candidates if prefix in shipped), None)
