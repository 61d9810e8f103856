"""Money: minor units, reading what a person typed, rounding, and showing amounts.

Amounts are ``Decimal`` in the order's currency, always in that currency's minor units:
``settings.CURRENCY_DECIMALS`` says how many decimal places a currency has (2 for RUB,
0 for JPY; 2 for a currency it does not list). Never floats.

Rounding: amounts the code *computes* (a line total, a share of a refund) are rounded to
the currency's minor unit with ``ROUND_HALF_UP`` (half a kopeck goes up), by
``round_money`` and nowhere else. Amounts a person *types* are never rounded: ``parse_amount``
refuses them when they have more decimals than the currency allows, so nobody is paid
an amount they did not type.

Signs: ``format_money`` writes the currency's sign after a no-break space, as the catalog
always did ("5,990.00 ₽", "1 234 567,50 ₽"). JPY and CNY both show "¥" (the sign people
know for each); a page shows one order's currency, so they do not meet. A currency without
a sign in ``CURRENCY_SIGNS`` is shown by its code ("10.00 XYZ").
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext, gettext_lazy, ngettext

from returns_portal.errors import DomainError, ErrorCode

ROUNDING = ROUND_HALF_UP
DEFAULT_DECIMAL_PLACES = 2

# Every amount column is DecimalField(max_digits=12, decimal_places=2): ten digits before
# the decimal point is the most any amount can have, whatever its currency.
MAX_DIGITS = 12
STORED_DECIMAL_PLACES = 2
MAX_WHOLE_DIGITS = MAX_DIGITS - STORED_DECIMAL_PLACES
# Longer input is refused before it is read (grouping and separators included).
MAX_INPUT_LENGTH = 40

CURRENCY_SIGNS = {
    "RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥", "JPY": "¥", "TRY": "₺", "UAH": "₴", "KZT": "₸", "BYN": "Br",
}

_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() would also accept "١٢٣"
_SPACES = frozenset("\u0020\u00a0\u202f")  # space, no-break space, narrow no-break space
_APOSTROPHES = frozenset("'\u2019")  # 1'234.56, as typed and as phones autocorrect it
_DECIMAL_SEPARATORS = frozenset(".,")
_MINUS_SIGNS = ("-", "\u2212")


def decimal_places(currency: str) -> int:
    """How many decimal places amounts in ``currency`` have: 2 for RUB, 0 for JPY."""
    return settings.CURRENCY_DECIMALS.get(currency, DEFAULT_DECIMAL_PLACES)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount in ``currency``: ``Decimal("0.01")`` for RUB, ``Decimal("1")`` for JPY."""
    return Decimal(1).scaleb(-decimal_places(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """A computed amount rounded to the currency's minor unit, half up. Never for typed amounts."""
    return amount.quantize(minor_unit(currency), rounding=ROUNDING)


def significant_places(amount: Decimal) -> int:
    """Decimal places that carry value: 1000.00 has none (a whole yen amount read back from a
    two-decimal column), 12.340 has two. Exact: no rounding to the decimal context."""
    _sign, digits, exponent = amount.as_tuple()
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return max(0, -exponent)


def too_many_places_message(currency: str) -> str:
    """"Amounts in JPY have no decimal places." / "… at most 2 decimal places.\""""
    places = decimal_places(currency)
    if places == 0:
        return gettext("Amounts in %(currency)s have no decimal places.") % {"currency": currency}
    return ngettext(
        "Amounts in %(currency)s can have at most %(places)d decimal place.",
        "Amounts in %(currency)s can have at most %(places)d decimal places.",
        places,
    ) % {"currency": currency, "places": places}


def amount_example(currency: str) -> str:
    """1234.56 as the reader would type it in ``currency``: "1,234.56", "1 234,56", "1,234" (JPY)."""
    example = Decimal("1234.56").quantize(minor_unit(currency), rounding=ROUND_DOWN)
    return number_format(example, decimal_pos=decimal_places(currency), use_l10n=True, force_grouping=True)


class InvalidAmount(ValueError):
    """What a person typed is not an amount we accept. ``message`` is a translated sentence
    for them; ``code`` says why, for forms that word it their own way:

    ``required`` nothing typed; ``invalid`` not an amount at all (letters, exponents, foreign
    digits, bad grouping); ``not_positive`` zero or negative; ``max_decimal_places`` more
    decimals than the currency has; ``max_digits`` too large for an amount column.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _invalid(currency: str) -> InvalidAmount:
    message = gettext("Enter an amount like %(example)s.") % {"example": amount_example(currency)}
    return InvalidAmount("invalid", message)


def _whole_part(text: str, grouping: str | None, currency: str) -> str:
    """The digits of ``text`` written with no grouping, or with ``grouping`` between threes."""
    if grouping is None:
        groups = [text]
    else:
        groups = text.split(grouping)
        if not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:]):
            raise _invalid(currency)
    if not all(group and set(group) <= _DIGITS for group in groups):
        raise _invalid(currency)
    return "".join(groups)


def _split(text: str, currency: str) -> tuple[str, str]:
    """(whole digits, decimal digits) of an unsigned amount, grouping checked and removed."""
    separators = [c for c in text if c in _DECIMAL_SEPARATORS]
    kinds = set(separators)
    other_grouping = {c for c in text if c in _SPACES or c in _APOSTROPHES}
    decimal_separator: str | None = None
    grouping: str | None = None
    if len(kinds) == 2:
        # 1,234.56 or 1.234,56: the last separator is the decimal one, the other groups.
        decimal_separator = separators[-1]
        grouping = "," if decimal_separator == "." else "."
    elif len(kinds) == 1:
        (separator,) = kinds
        lone_thousands = (
            len(separators) == 1 and decimal_places(currency) == 0
            and len(text.rpartition(separator)[2]) == 3 and not other_grouping
        )
        if len(separators) > 1 or lone_thousands:
            # 1,234,567 groups; so does 1,234 or 1.000 in a currency that has no decimals.
            grouping = separator
        else:
            decimal_separator = separator
    if other_grouping:
        if grouping is not None or len(other_grouping) > 1 and not other_grouping <= _SPACES:
            raise _invalid(currency)  # two kinds of grouping in one amount
        grouping = " "
        text = "".join(" " if c in other_grouping else c for c in text)
    if decimal_separator is None:
        return _whole_part(text, grouping, currency), ""
    whole, _sep, fraction = text.rpartition(decimal_separator)
    if decimal_separator in whole or not fraction or not set(fraction) <= _DIGITS:
        raise _invalid(currency)
    return _whole_part(whole, grouping, currency), fraction


def parse_amount(raw: str, currency: str) -> Decimal:
    """The amount a person typed, in ``currency``'s minor units (RUB "1000.5" -> 1000.50).

    Accepts ASCII digits, grouping by threes with spaces, no-break spaces, apostrophes, commas
    or dots, and one decimal separator ("." or ","; with both, the last one is decimal:
    "1,234.56", "1.234,56"). In a currency without decimals a lone separator before exactly
    three digits groups thousands ("1,000" yen). Raises ``InvalidAmount`` for anything else:
    nothing typed, signs, exponents, "inf"/"nan", other scripts' digits, letters, zero or
    less, more decimals than the currency has (never rounded), more than ten whole digits.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidAmount("required", gettext("Enter an amount."))
    if len(text) > MAX_INPUT_LENGTH:
        raise _invalid(currency)
    negative = text.startswith(_MINUS_SIGNS)
    if negative:
        text = text[1:].lstrip()
    allowed = _DIGITS | _SPACES | _APOSTROPHES | _DECIMAL_SEPARATORS
    if not text or not set(text) <= allowed or text[0] not in _DIGITS or text[-1] not in _DIGITS:
        raise _invalid(currency)
    whole, fraction = _split(text, currency)
    if negative:
        raise InvalidAmount("not_positive", gettext("Enter an amount more than zero."))
    if len(fraction) > decimal_places(currency):
        raise InvalidAmount("max_decimal_places", too_many_places_message(currency))
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise InvalidAmount("max_digits", gettext("This amount is too large."))
    amount = Decimal(f"{whole}.{fraction or '0'}").quantize(minor_unit(currency))  # exact: no digits dropped
    if amount <= 0:
        raise InvalidAmount("not_positive", gettext("Enter an amount more than zero."))
    return amount


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """For services: ``amount`` unchanged if it is a payable amount in ``currency``.

    Raises ``DomainError(INVALID_AMOUNT)`` when it is NaN or infinite, not more than zero,
    has more significant decimals than the currency (JPY 1000.00 from a two-decimal column
    is fine, 999.50 is not), or does not fit an amount column; ``TypeError`` when it is not
    a Decimal at all (a float or an int here is a bug, not something a person did).
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"Amounts are Decimals, not {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, gettext("An amount must be more than zero."))
    if significant_places(amount) > decimal_places(currency):
        raise DomainError(ErrorCode.INVALID_AMOUNT, too_many_places_message(currency))
    if amount >= Decimal(10) ** MAX_WHOLE_DIGITS:
        raise DomainError(ErrorCode.INVALID_AMOUNT, gettext("This amount is too large."))
    return amount


def format_money(amount: Decimal, currency: str) -> str:
    """``amount`` for the active language: grouped, exactly the currency's decimal places,
    then a no-break space and the currency's sign ("5,990.00 ₽", "1 234 567,50 ₽", "1,000 ¥").
    An amount with more decimals than the currency is rounded half up for display.
    No currency: the number alone. Raises ``ValueError`` for NaN and infinities."""
    return money_formatter()(amount, currency)


def money_formatter() -> Callable[[Decimal, str], str]:
    """``format_money`` for the active language as a function whose number formats are looked
    up once: a list of fifty amounts would otherwise look up the same three formats for each.
    Groups of three digits are written here; a language with other groups gets Django's
    ``number_format``, which the shown text equals either way."""
    if get_format("NUMBER_GROUPING") == 3:
        separators = str.maketrans({",": get_format("THOUSAND_SEPARATOR"), ".": get_format("DECIMAL_SEPARATOR")})

        def number(rounded: Decimal, places: int) -> str:
            return f"{rounded:,f}".translate(separators)
    else:
        def number(rounded: Decimal, places: int) -> str:
            return number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)

    def formatted(amount: Decimal, currency: str) -> str:
        if not amount.is_finite():
            raise ValueError(f"Cannot show {amount} as money")
        rounded = round_money(amount, currency)
        if rounded.is_zero():  # number_format shows no "-0.00"
            rounded = abs(rounded)
        shown = number(rounded, decimal_places(currency))
        sign = CURRENCY_SIGNS.get(currency, currency)
        return f"{shown}\u00a0{sign}" if sign else shown

    return formatted


class MoneyField(forms.Field):
    """A typed amount in ``currency`` (a constructor argument, or set by the form before
    validation: ``self.fields["amount"].currency = order.currency``), read by ``parse_amount``.

    Optional ``min_value``/``max_value`` (Decimals, also settable by the form); their messages
    show formatted amounts as ``%(min)s``/``%(max)s``. Any ``InvalidAmount`` code can be worded
    by the form through ``error_messages`` (``%(example)s``, ``%(currency)s``, ``%(places)d``
    are available). A text input with ``inputmode="decimal"``: a number input would drop the
    comma Russian users type.
    """

    widget = forms.TextInput
    default_error_messages = {
        "min_value": gettext_lazy("Enter at least %(min)s."),
        "max_value": gettext_lazy("Enter at most %(max)s."),
    }

    def __init__(self, *, currency: str | None = None, min_value: Decimal | None = None,
                 max_value: Decimal | None = None, **kwargs) -> None:
        self.currency = currency
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off"}

    def _currency(self) -> str:
        if not self.currency:
            raise ImproperlyConfigured("MoneyField needs a currency before it can read an amount.")
        return self.currency

    def to_python(self, value) -> Decimal | None:
        if isinstance(value, str):
            value = value.strip()
        if value in self.empty_values:
            return None
        currency = self._currency()
        if isinstance(value, Decimal):
            # An initial value (a disabled field): 1500.00 from a two-decimal column is whole yen.
            if value.is_finite() and significant_places(value) <= decimal_places(currency):
                value = value.quantize(minor_unit(currency))
            value = f"{value:f}"
        try:
            return parse_amount(str(value), currency)
        except InvalidAmount as error:
            if error.code in self.error_messages:
                places = decimal_places(currency)
                raise forms.ValidationError(
                    self.error_messages[error.code], code=error.code,
                    params={"example": amount_example(currency), "currency": currency, "places": places},
                ) from error
            raise forms.ValidationError(error.message, code=error.code) from error

    def validate(self, value: Decimal | None) -> None:
        super().validate(value)
        if value is None:
            return
        currency = self._currency()
        if self.min_value is not None and value < self.min_value:
            raise forms.ValidationError(self.error_messages["min_value"], code="min_value",
                                        params={"min": format_money(self.min_value, currency)})
        if self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(self.error_messages["max_value"], code="max_value",
                                        params={"max": format_money(self.max_value, currency)})

    def prepare_value(self, value):
        """An initial Decimal as the person would type it: the currency's places, the
        language's decimal separator, no grouping ("2490.00", "2490,00", JPY "1500").
        What the person typed is shown back as typed."""
        if not isinstance(value, Decimal) or not self.currency or not value.is_finite():
            return value
        places = decimal_places(self.currency)
        if significant_places(value) > places:
            return value  # not an amount of this currency: show it whole rather than hide digits
        return number_format(value.quantize(minor_unit(self.currency)), decimal_pos=places, use_l10n=True)
