"""Coverage dates: waiting period, twelve months, leap days, month ends, renewals."""

from __future__ import annotations

from datetime import date

import pytest

from activation.coverage import age_on, anniversary, coverage_for, status_on


@pytest.mark.parametrize(("activated", "starts", "ends"), [
    (date(2026, 11, 22), date(2026, 12, 7), date(2027, 12, 6)),
    (date(2027, 2, 14), date(2027, 3, 1), date(2028, 2, 29)),  # ends on a leap day
    (date(2028, 2, 14), date(2028, 2, 29), date(2029, 2, 28)),  # starts on a leap day
    (date(2026, 1, 16), date(2026, 1, 31), date(2027, 1, 30)),  # month end
    (date(2026, 12, 17), date(2027, 1, 1), date(2027, 12, 31)),  # whole calendar year
    (date(2026, 2, 13), date(2026, 2, 28), date(2027, 2, 27)),
])
def test_coverage_starts_after_15_days_and_lasts_twelve_months(activated, starts, ends):
    cov = coverage_for(activated)
    assert (cov.starts_on, cov.ends_on) == (starts, ends)


def test_anniversary_of_29_february_is_1_march():
    assert anniversary(date(2028, 2, 29)) == date(2029, 3, 1)
    assert anniversary(date(2028, 3, 31)) == date(2029, 3, 31)


def test_renewal_starts_the_day_after_the_current_coverage_without_waiting():
    cov = coverage_for(date(2027, 6, 1), current_end=date(2027, 12, 6))
    assert cov.starts_on == date(2027, 12, 7)
    assert cov.ends_on == date(2028, 12, 6)


def test_coverage_ended_before_activation_means_a_new_waiting_period():
    cov = coverage_for(date(2027, 12, 10), current_end=date(2027, 12, 6))
    assert cov.starts_on == date(2027, 12, 25)


def test_coverage_ending_on_the_activation_day_is_continued_next_day():
    cov = coverage_for(date(2027, 12, 6), current_end=date(2027, 12, 6))
    assert cov.starts_on == date(2027, 12, 7)


@pytest.mark.parametrize(("birth", "on", "age"), [
    (date(2008, 11, 22), date(2026, 11, 22), 18),
    (date(2008, 11, 23), date(2026, 11, 22), 17),
    (date(2008, 2, 29), date(2026, 2, 28), 17),
    (date(2008, 2, 29), date(2026, 3, 1), 18),
])
def test_age_counts_full_years(birth, on, age):
    assert age_on(birth, on) == age


def test_status_by_date():
    starts, ends = date(2026, 12, 7), date(2027, 12, 6)
    assert status_on(starts, ends, date(2026, 12, 6)) == "waiting"
    assert status_on(starts, ends, date(2026, 12, 7)) == "active"
    assert status_on(starts, ends, date(2027, 12, 6)) == "active"
    assert status_on(starts, ends, date(2027, 12, 7)) == "expired"
