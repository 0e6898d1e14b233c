"""The work calendar: working days with holidays and shifted working days (调休)."""

from datetime import date

import pytest

from prm.core.calendar import add_working_days, is_working_day, working_days_between
from prm.core.models import CalendarDay
from prm.core.tests.spreadsheets import csv_bytes, run_import

# 2026-05-01 is a Friday.
FRIDAY = date(2026, 5, 1)


@pytest.mark.parametrize(
    ("_case", "start", "days", "expected"),
    [
        ("monday plus 5 is next monday", date(2026, 4, 27), 5, date(2026, 5, 4)),
        ("friday plus 1 is monday", FRIDAY, 1, date(2026, 5, 4)),
        ("friday plus 5 is next friday", FRIDAY, 5, date(2026, 5, 8)),
        ("saturday plus 1 is monday", date(2026, 5, 2), 1, date(2026, 5, 4)),
        ("zero days is the same day", FRIDAY, 0, FRIDAY),
    ],
)
def test_add_working_days_without_holidays(db, _case, start, days, expected):
    assert add_working_days(start, days) == expected


def test_holidays_are_skipped_and_shifted_saturdays_count(db):
    # Labour Day: Mon 4 and Tue 5 May off; Saturday 9 May worked instead.
    CalendarDay.objects.create(date=date(2026, 5, 4), is_working_day=False, name="劳动节")
    CalendarDay.objects.create(date=date(2026, 5, 5), is_working_day=False, name="劳动节")
    CalendarDay.objects.create(date=date(2026, 5, 9), is_working_day=True, name="调休")

    assert is_working_day(date(2026, 5, 4)) is False
    assert is_working_day(date(2026, 5, 9)) is True
    assert is_working_day(date(2026, 5, 10)) is False
    # Fri 1 May + 5 working days: Wed 6, Thu 7, Fri 8, Sat 9 (shifted), Mon 11.
    assert add_working_days(FRIDAY, 5) == date(2026, 5, 11)
    assert working_days_between(FRIDAY, date(2026, 5, 11)) == 5
    assert working_days_between(date(2026, 5, 11), FRIDAY) == 0


def test_negative_days_are_refused(db):
    with pytest.raises(ValueError):
        add_working_days(FRIDAY, -1)


@pytest.fixture
def reference_admin(orgs, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_user(org=orgs.province, roles=("system_admin",))


def test_the_calendar_is_imported_and_a_bad_row_writes_nothing(
    reference_admin, django_capture_on_commit_callbacks
):
    bad = [["日期", "是否工作日", "名称"], ["2026-10-01", "否", "国庆节"], ["2026-13-01", "0", ""]]
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="calendar_days",
        name="calendar.csv",
        data=csv_bytes(bad),
        actor=reference_admin,
    )
    assert job.status == "rejected"
    assert CalendarDay.objects.count() == 0

    good = [
        ["日期", "是否工作日", "名称"],
        ["2026-10-01", "否", "国庆节"],
        ["2026-10-10", "是", ""],
    ]
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="calendar_days",
        name="calendar.csv",
        data=csv_bytes(good),
        actor=reference_admin,
    )
    assert (job.status, job.created_count) == ("succeeded", 2)
    assert list(CalendarDay.objects.values_list("date", "is_working_day")) == [
        (date(2026, 10, 1), False),
        (date(2026, 10, 10), True),
    ]
