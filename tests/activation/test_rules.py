"""The typed-in values: IIN, full name, email."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.emails import mask_email, parse_email
from activation.rules import RuleError, iin_check_digit, parse_full_name, parse_iin

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize(("iin", "born", "sex"), [
    ("871008401427", date(1987, 10, 8), "female"),
    ("760212350620", date(1976, 2, 12), "male"),
    ("031231500126", date(2003, 12, 31), "male"),
    ("061211600012", date(2006, 12, 11), "female"),  # valid only on the second pass
])
def test_public_valid_iins_are_accepted_with_birth_date_and_sex(iin, born, sex):
    parsed = parse_iin(iin, TODAY)
    assert (parsed.value, parsed.birth_date, parsed.sex) == (iin, born, sex)


@pytest.mark.parametrize(("iin", "why"), [
    ("010101600586", "check digit"),
    ("821214240092", "check digit is 10 on both passes"),
    ("123456789012", "century digit 7"),
    ("871008001427", "century digit 0"),
    ("871308401427", "month 13"),
    ("870230401427", "30 February"),
    ("8710084014", "too short"),
    ("8710084014270", "too long"),
    ("87100840142a", "letter"),
    ("８７１００８４０１４２７", "full-width digits"),
    ("٨٧١٠٠٨٤٠١٤٢٧", "Arabic-Indic digits"),
    ("871 008 401 427", "inner spaces"),
    ("", "empty"),
    (None, "missing"),
    (871008401427, "a number, not a string"),
])
def test_bad_iins_are_refused(iin, why):
    with pytest.raises(RuleError):
        parse_iin(iin, TODAY)


def test_iin_with_birth_date_in_the_future_is_refused():
    future = "270101" + "5" + "0001"
    future += str(iin_check_digit(future))
    with pytest.raises(RuleError, match="future"):
        parse_iin(future, TODAY)


def test_iin_is_trimmed():
    assert parse_iin("  871008401427\t", TODAY).value == "871008401427"


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_agrees_with_parse(first11):
    check = iin_check_digit(first11)
    if check is None:
        return
    iin = first11 + str(check)
    wrong = first11 + str((check + 1) % 10)
    outcome = _outcome(iin)
    assert outcome is None or "check the digits" not in outcome
    assert _outcome(wrong) is not None


def _outcome(iin: str) -> str | None:
    try:
        parse_iin(iin, TODAY)
    except RuleError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("raw", "expected"), [
    ("Иванов Иван Иванович", "Иванов Иван Иванович"),
    ("  Сейткали   Айгерім\tНұрланқызы ", "Сейткали Айгерім Нұрланқызы"),
    ("Ғабит Мүсірепов", "Ғабит Мүсірепов"),
    ("Әлия Қасымова-Өтегенова", "Әлия Қасымова-Өтегенова"),
    ("D'Artagnan Charles", "D'Artagnan Charles"),
    ("O’Brien Sean", "O’Brien Sean"),
    ("Иванов\u00a0Иван", "Иванов Иван"),  # no-break space
    ("Ёлкин Пётр", "Ёлкин Пётр"),
    ("Йе\u0308лкин Петр", "Йёлкин Петр"),  # NFC composes е + diaeresis
])
def test_names_are_normalised(raw, expected):
    assert parse_full_name(raw) == expected


@pytest.mark.parametrize(("raw", "why"), [
    ("Иванов", "one word"),
    ("<b>Иванов</b> Иван", "markup"),
    ("Иванов &amp; Иван", "entity"),
    ("Иванов\u200bИван Петрович", "zero-width space"),
    ("Иванов \u202eнавИ", "bidi override"),
    ("Иванов\nИван", "newline"),
    ("Иванов Иван\x00", "NUL"),
    ("Иванов Иван2", "digit"),
    ("Иванов - Иван", "lone hyphen"),
    ("Иванов Иван-", "trailing hyphen"),
    ("Ivanov 李", "other script"),
    ("А" * 75 + " " + "Б" * 75, "151 characters"),
    ("   ", "blank"),
    (None, "missing"),
])
def test_bad_names_are_refused(raw, why):
    with pytest.raises(RuleError):
        parse_full_name(raw)


def test_name_of_exactly_150_characters_is_accepted():
    name = "А" * 74 + " " + "Б" * 75
    assert parse_full_name(name) == name


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ivanov@Mail.KZ", "ivanov@mail.kz"),
    ("  a.b+tag@example.com ", "a.b+tag@example.com"),
])
def test_emails_are_normalised_to_lower_case(raw, expected):
    assert parse_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "not-an-email",
    "a@b",
    "ivanov@mail.kz\r\nBcc: victim@example.com",
    "ivanov@mail.kz\nX: y",
    "Ivanov <ivanov@mail.kz>",
    '"quoted"@mail.kz',
    "a" * 250 + "@mail.kz",
    "",
    None,
])
def test_bad_emails_are_refused(raw):
    with pytest.raises(RuleError):
        parse_email(raw)


def test_masked_email_shows_first_letter_and_domain():
    assert mask_email("aigerim@mail.kz") == "a***@mail.kz"
