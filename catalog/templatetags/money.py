"""``{{ amount|money:currency }}``: an amount with grouping, two decimals and the
currency's sign, formatted for the active language (5,990.00 ₽ / 5 990,00 ₽)."""
from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥", "TRY": "₺", "UAH": "₴", "KZT": "₸", "BYN": "Br"}


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    formatted = number_format(Decimal(amount), decimal_pos=2, use_l10n=True, force_grouping=True)
    sign = CURRENCY_SIGNS.get(currency, currency)
    return f"{formatted}\u00a0{sign}" if sign else formatted
