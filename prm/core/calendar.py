"""Business calendars in one place (DESIGN: time): working days and deadlines.

Monday–Friday are working days unless a :class:`~prm.core.models.CalendarDay` says
otherwise (public holidays, and weekend days worked in exchange, 调休). Operators load
the State Council's yearly schedule through the calendar import or the admin.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from prm.core.models import CalendarDay


def _exceptions(start: date, end: date) -> dict[date, bool]:
    return dict(
        CalendarDay.objects.filter(date__gte=start, date__lte=end).values_list(
            "date", "is_working_day"
        )
    )


def is_working_day(day: date) -> bool:
    exception = _exceptions(day, day).get(day)
    if exception is not None:
        return exception
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted).

    ``add_working_days(friday, 1)`` is the next Monday (without holidays).
    """
    if days < 0:
        raise ValueError("days must not be negative")
    # Look ahead generously: holidays never exceed a few weeks in a row.
    exceptions = _exceptions(start, start + timedelta(days=days * 3 + 30))
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        working = exceptions.get(current, current.weekday() < 5)
        if working:
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; 0 when end <= start."""
    if end <= start:
        return 0
    exceptions = _exceptions(start, end)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if exceptions.get(current, current.weekday() < 5):
            count += 1
    return count


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in the current time zone (a deadline "by day X")."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def business_date(moment: datetime | None = None) -> date:
    """The business date of ``moment`` (default now) in ``settings.TIME_ZONE``
    (Asia/Shanghai by default), whatever time zone is active."""
    return timezone.localdate(moment or timezone.now(), timezone.get_default_timezone())
