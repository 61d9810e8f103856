"""The money module: minor units, reading typed amounts, checking, rounding, showing.

Pure functions of their arguments and settings: no database here.
"""
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.formats import number_format

from returns_portal.errors import DomainError, ErrorCode
from returns_portal.money import (
    CURRENCY_SIGNS,
    InvalidAmount,
    MoneyField,
    check_amount,
    decimal_places,
    format_money,
    minor_unit,
    money_formatter,
    parse_amount,
    round_money,
    significant_places,
)

NBSP, NNBSP = "\u00a0", "\u202f"
EXAMPLE_EN = "Enter an amount like 1,234.56."
EXAMPLE_EN_JPY = "Enter an amount like 1,234."
EXAMPLE_RU = f"Введите сумму в формате 1{NBSP}234,56."  # the Russian catalog's words
NO_DECIMALS_JPY = "Amounts in JPY have no decimal places."
TWO_DECIMALS_RUB = "Amounts in RUB can have at most 2 decimal places."
TOO_LARGE = "This amount is too large."
NOT_POSITIVE = "Enter an amount more than zero."


# --- minor units and rounding ---------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places", "unit"),
    [("RUB", 2, Decimal("0.01")), ("JPY", 0, Decimal("1")), ("USD", 2, Decimal("0.01")), ("XYZ", 2, Decimal("0.01"))],
)
def test_minor_units_come_from_the_settings_with_two_places_by_default(currency, places, unit):
    assert (decimal_places(currency), minor_unit(currency)) == (places, unit)
    assert str(minor_unit(currency)) == str(unit)


def test_minor_units_follow_the_settings(settings):
    settings.CURRENCY_DECIMALS = {"KWD": 3}

    assert (decimal_places("KWD"), str(minor_unit("KWD"))) == (3, "0.001")
    assert decimal_places("RUB") == 2


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.565", "RUB", "1234.57"),  # half up
        ("1234.564", "RUB", "1234.56"),
        ("0.005", "RUB", "0.01"),
        ("2.5", "JPY", "3"),
        ("1000.49", "JPY", "1000"),
        ("1000.00", "JPY", "1000"),
        ("7", "RUB", "7.00"),
    ],
)
def test_computed_amounts_round_half_up_to_the_minor_unit(amount, currency, expected):
    rounded = round_money(Decimal(amount), currency)

    assert str(rounded) == expected


@pytest.mark.parametrize(("amount", "places"), [("1000.00", 0), ("12.340", 2), ("0.001", 3), ("1E+3", 0), ("5", 0)])
def test_significant_places_ignore_trailing_zeros(amount, places):
    assert significant_places(Decimal(amount)) == places


# --- parse_amount: what a person typed --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("1000", "JPY", "1000"),
        ("1 000", "JPY", "1000"),
        (f"1{NBSP}000", "JPY", "1000"),
        ("1,000", "JPY", "1000"),  # no decimals in yen: a lone separator before three digits groups
        ("1.000", "JPY", "1000"),
        ("1,234,567", "JPY", "1234567"),
        ("1000.5", "RUB", "1000.50"),
        ("1000,5", "RUB", "1000.50"),
        ("1,234.56", "RUB", "1234.56"),
        ("1.234,56", "RUB", "1234.56"),
        ("1 234,56", "RUB", "1234.56"),
        (f"1{NBSP}234,56", "RUB", "1234.56"),
        (f"1{NNBSP}234{NNBSP}567.89", "RUB", "1234567.89"),
        ("1'234.56", "RUB", "1234.56"),
        ("1\u2019234.56", "RUB", "1234.56"),
        ("1,234,567.89", "RUB", "1234567.89"),
        ("1.234.567,89", "RUB", "1234567.89"),
        ("  2490.00 ", "RUB", "2490.00"),
        ("0.01", "RUB", "0.01"),
        ("9999999999.99", "RUB", "9999999999.99"),  # the most an amount column holds
        ("0001234", "RUB", "1234.00"),
    ],
)
def test_typed_amounts_are_read_in_the_currencys_minor_units(raw, currency, expected):
    amount = parse_amount(raw, currency)

    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize(
    ("raw", "currency", "code", "message"),
    [
        ("١٢٣", "RUB", "invalid", EXAMPLE_EN),  # Arabic-Indic digits are not read as 123
        ("１２３", "RUB", "invalid", EXAMPLE_EN),  # nor full-width ones
        ("1e309", "RUB", "invalid", EXAMPLE_EN),
        ("1E3", "JPY", "invalid", EXAMPLE_EN_JPY),
        ("inf", "RUB", "invalid", EXAMPLE_EN),
        ("Infinity", "RUB", "invalid", EXAMPLE_EN),
        ("NaN", "RUB", "invalid", EXAMPLE_EN),
        ("abc", "RUB", "invalid", EXAMPLE_EN),
        ("12abc", "RUB", "invalid", EXAMPLE_EN),
        ("₽100", "RUB", "invalid", EXAMPLE_EN),
        ("+5", "RUB", "invalid", EXAMPLE_EN),
        ("5-", "RUB", "invalid", EXAMPLE_EN),
        (".5", "RUB", "invalid", EXAMPLE_EN),
        ("5.", "RUB", "invalid", EXAMPLE_EN),
        ("1,,000", "RUB", "invalid", EXAMPLE_EN),
        ("1,23,456", "RUB", "invalid", EXAMPLE_EN),  # grouping is in threes
        ("12 34", "RUB", "invalid", EXAMPLE_EN),
        ("1,234.567,89", "RUB", "invalid", EXAMPLE_EN),
        ("1 234.567,89", "RUB", "invalid", EXAMPLE_EN),  # two kinds of grouping
        ("1'234 567", "RUB", "invalid", EXAMPLE_EN),
        ("1" * 41, "RUB", "invalid", EXAMPLE_EN),
        ("", "RUB", "required", "Enter an amount."),
        ("   ", "RUB", "required", "Enter an amount."),
        ("-5", "RUB", "not_positive", NOT_POSITIVE),
        ("\u22125", "RUB", "not_positive", NOT_POSITIVE),
        ("0", "RUB", "not_positive", NOT_POSITIVE),
        ("0,00", "RUB", "not_positive", NOT_POSITIVE),
        ("999.50", "JPY", "max_decimal_places", NO_DECIMALS_JPY),
        ("999,50", "JPY", "max_decimal_places", NO_DECIMALS_JPY),
        ("1000.00", "JPY", "max_decimal_places", NO_DECIMALS_JPY),  # typed decimals count, even zeros
        ("1.005", "RUB", "max_decimal_places", TWO_DECIMALS_RUB),  # never rounded to 1.01 (nor read as 1005)
        ("1,234", "RUB", "max_decimal_places", TWO_DECIMALS_RUB),
        ("12345678901234567890", "RUB", "max_digits", TOO_LARGE),
        ("10000000000", "RUB", "max_digits", TOO_LARGE),
        ("10 000 000 000", "JPY", "max_digits", TOO_LARGE),
    ],
)
def test_anything_else_is_refused_with_a_plain_message(raw, currency, code, message):
    with translation.override("en"), pytest.raises(InvalidAmount) as refused:
        parse_amount(raw, currency)

    assert isinstance(refused.value, ValueError)
    assert (refused.value.code, refused.value.message, str(refused.value)) == (code, message, message)


@pytest.mark.parametrize(
    ("language", "currency", "message"),
    [
        ("en", "RUB", EXAMPLE_EN),
        ("en", "JPY", EXAMPLE_EN_JPY),
        ("ru", "RUB", EXAMPLE_RU),
        ("ru", "JPY", f"Введите сумму в формате 1{NBSP}234."),
    ],
)
def test_the_example_is_written_for_the_reader_and_the_currency(language, currency, message):
    with translation.override(language), pytest.raises(InvalidAmount) as refused:
        parse_amount("1e309", currency)

    assert refused.value.message == message


def test_the_decimal_places_message_counts_in_words(settings):
    settings.CURRENCY_DECIMALS = {"XAA": 1, "RUB": 2}

    with translation.override("en"), pytest.raises(InvalidAmount) as one:
        parse_amount("1.25", "XAA")

    assert one.value.message == "Amounts in XAA can have at most 1 decimal place."


# --- check_amount: for services ----------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1000.00", "JPY"), ("1000", "JPY"), ("1E+3", "JPY"), ("0.01", "RUB"), ("12.340", "RUB"),
     ("9999999999.99", "RUB")],
)
def test_a_payable_amount_passes_the_check_unchanged(amount, currency):
    assert str(check_amount(Decimal(amount), currency)) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("NaN", "RUB", "An amount must be more than zero."),
        ("sNaN", "RUB", "An amount must be more than zero."),
        ("Infinity", "RUB", "An amount must be more than zero."),
        ("-Infinity", "RUB", "An amount must be more than zero."),
        ("0", "RUB", "An amount must be more than zero."),
        ("-0.01", "RUB", "An amount must be more than zero."),
        ("999.50", "JPY", NO_DECIMALS_JPY),
        ("1.005", "RUB", TWO_DECIMALS_RUB),
        ("10000000000", "RUB", TOO_LARGE),
        ("1E+999", "RUB", TOO_LARGE),
    ],
)
def test_an_amount_that_cannot_be_paid_is_a_domain_error(amount, currency, message):
    with pytest.raises(DomainError) as refused:
        check_amount(Decimal(amount), currency)

    assert (refused.value.code, refused.value.message) == (ErrorCode.INVALID_AMOUNT, message)


@pytest.mark.parametrize("amount", [10.5, 10, "10"])
def test_an_amount_that_is_not_a_decimal_is_a_bug(amount):
    with pytest.raises(TypeError):
        check_amount(amount, "RUB")


# --- format_money: for the reader ----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "5990", "RUB", f"5,990.00{NBSP}₽"),
        ("ru", "1234567.5", "RUB", f"1{NBSP}234{NBSP}567,50{NBSP}₽"),
        ("en", "1000", "JPY", f"1,000{NBSP}¥"),
        ("en", "1000.00", "JPY", f"1,000{NBSP}¥"),  # a yen amount read back from a two-decimal column
        ("ru", "2490.00", "JPY", f"2{NBSP}490{NBSP}¥"),
        ("en", "88", "CNY", f"88.00{NBSP}¥"),
        ("en", "0.5", "USD", f"0.50{NBSP}$"),
        ("en", "1234.565", "RUB", f"1,234.57{NBSP}₽"),  # rounded half up, never cut
        ("en", "2.5", "JPY", f"3{NBSP}¥"),
        ("en", "10", "XYZ", f"10.00{NBSP}XYZ"),
        ("en", "10", "", "10.00"),
    ],
)
def test_amounts_are_shown_for_the_reader_in_the_currencys_places(language, amount, currency, expected):
    with translation.override(language):
        assert format_money(Decimal(amount), currency) == expected


def djangos_text(amount: Decimal, currency: str) -> str:
    """The amount as Django's ``number_format`` writes it (what format_money wrote by itself before
    it wrote groups of three itself), with the currency's sign."""
    shown = number_format(round_money(amount, currency), decimal_pos=decimal_places(currency), use_l10n=True,
                          force_grouping=True)
    sign = CURRENCY_SIGNS.get(currency, currency)
    return f"{shown}\u00a0{sign}" if sign else shown


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_formatter_of_a_list_shows_what_format_money_shows(language):
    amounts = ["0", "-0.001", "0.004", "0.005", "0.5", "7", "88.1", "999.995", "1000", "1234.565", "-1234.5",
               "99999.99", "100000", "1234567.5", "9999999999.99", "2.5", "1000.00"]
    with translation.override(language):
        formatted = money_formatter()
        for currency in ["RUB", "JPY", "CNY", "USD", "XYZ", ""]:
            for amount in amounts:
                assert formatted(Decimal(amount), currency) == format_money(Decimal(amount), currency), (amount, currency)
                assert formatted(Decimal(amount), currency) == djangos_text(Decimal(amount), currency), (amount, currency)
        with pytest.raises(ValueError):
            formatted(Decimal("NaN"), "RUB")


def test_nan_cannot_be_shown_as_money():
    with pytest.raises(ValueError):
        format_money(Decimal("NaN"), "RUB")


# --- MoneyField: a typed amount in a form ---------------------------------------------------


class OfferForm(forms.Form):
    amount = MoneyField(label="Offer")

    def __init__(self, *args, currency: str, maximum: Decimal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency
        self.fields["amount"].max_value = maximum


def errors_of(data: dict, currency: str = "RUB", **kwargs) -> dict:
    form = OfferForm(data, currency=currency, **kwargs)
    assert not form.is_valid()
    return form.errors


def test_the_field_reads_what_was_typed_as_a_decimal():
    form = OfferForm({"amount": "1 234,5"}, currency="RUB")

    assert form.is_valid()
    assert form.cleaned_data["amount"] == Decimal("1234.50")
    assert str(form.cleaned_data["amount"]) == "1234.50"


@pytest.mark.parametrize(
    ("raw", "currency", "error"),
    [
        ("999.50", "JPY", NO_DECIMALS_JPY),
        ("1e309", "RUB", EXAMPLE_EN),
        ("-5", "RUB", NOT_POSITIVE),
        ("0", "RUB", NOT_POSITIVE),
        ("12345678901234567890", "RUB", TOO_LARGE),
        ("", "RUB", "This field is required."),
        (NBSP, "RUB", "This field is required."),
    ],
)
def test_the_field_refuses_with_the_parsers_message(raw, currency, error):
    assert errors_of({"amount": raw}, currency) == {"amount": [error]}


def test_the_maximum_is_shown_as_money():
    with translation.override("ru"):
        errors = errors_of({"amount": "2490,01"}, maximum=Decimal("2490.00"))

    assert errors == {"amount": [f"Enter at most 2{NBSP}490,00{NBSP}₽."]}


def test_the_minimum_is_shown_as_money():
    field = MoneyField(currency="JPY", min_value=Decimal("100"))

    with pytest.raises(forms.ValidationError) as refused:
        field.clean("99")

    assert refused.value.messages == [f"Enter at least 100{NBSP}¥."]
    assert field.clean("100") == Decimal("100")


def test_a_form_words_the_refusals_its_own_way():
    field = MoneyField(currency="JPY", error_messages={
        "not_positive": "The offer must be more than zero.",
        "max_decimal_places": "Whole %(currency)s only (%(places)d decimals), like %(example)s.",
    })

    with pytest.raises(forms.ValidationError) as negative:
        field.clean("-1")
    with pytest.raises(forms.ValidationError) as cents:
        field.clean("10.5")

    assert negative.value.messages == ["The offer must be more than zero."]
    assert cents.value.messages == ["Whole JPY only (0 decimals), like 1,234."]


def test_a_disabled_field_keeps_its_initial_amount_read_back_from_the_database():
    form = OfferForm({}, currency="JPY", initial={"amount": Decimal("1500.00")})
    form.fields["amount"].disabled = True

    assert form.is_valid()
    assert form.cleaned_data["amount"] == Decimal("1500")


def test_an_optional_field_left_empty_is_none():
    assert MoneyField(currency="RUB", required=False).clean("  ") is None


def test_the_field_needs_a_currency_to_read_an_amount():
    with pytest.raises(ImproperlyConfigured):
        MoneyField().clean("10")


def test_the_input_is_text_with_a_decimal_keypad():
    html = str(OfferForm(currency="RUB")["amount"])

    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html
    assert 'type="number"' not in html


@pytest.mark.parametrize(
    ("language", "currency", "initial", "shown"),
    [
        ("en", "RUB", "2490", "2490.00"),
        ("ru", "RUB", "2490.5", "2490,50"),
        ("en", "JPY", "2490.00", "2490"),
        ("ru", "JPY", "1500.00", "1500"),
    ],
)
def test_an_initial_amount_is_shown_in_the_currencys_places(language, currency, initial, shown):
    form = OfferForm(currency=currency, initial={"amount": Decimal(initial)})

    with translation.override(language):
        assert f'value="{shown}"' in str(form["amount"])


def test_what_was_typed_is_shown_back_as_typed():
    form = OfferForm({"amount": "12,345.678"}, currency="RUB")

    assert 'value="12,345.678"' in str(form["amount"])
