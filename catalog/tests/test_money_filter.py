from decimal import Decimal

import pytest
from django.utils import translation

from catalog.templatetags.money import money


@pytest.mark.parametrize(
    "language, amount, currency, expected",
    [
        ("en", Decimal("5990"), "RUB", "5,990.00\u00a0₽"),
        ("en", Decimal("0.5"), "USD", "0.50\u00a0$"),
        ("ru", Decimal("1234567.5"), "RUB", "1\u00a0234\u00a0567,50\u00a0₽"),
        ("en", Decimal("10"), "XYZ", "10.00\u00a0XYZ"),
        ("en", Decimal("1000"), "JPY", "1,000\u00a0¥"),
        ("en", Decimal("2490.00"), "JPY", "2,490\u00a0¥"),  # whole yen read back from a two-decimal column
        ("ru", Decimal("1234567.00"), "JPY", "1\u00a0234\u00a0567\u00a0¥"),
        ("en", Decimal("1234.565"), "RUB", "1,234.57\u00a0₽"),  # rounded half up, not cut off
        ("en", Decimal("10"), "", "10.00"),
    ],
)
def test_money_formats_for_the_active_language(language, amount, currency, expected):
    with translation.override(language):
        assert money(amount, currency) == expected


def test_money_of_nothing_is_empty():
    assert money(None, "RUB") == ""
