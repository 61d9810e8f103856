"""``{{ amount|money:currency }}``: an amount with grouping, the currency's decimal places
and its sign, formatted for the active language (5,990.00 ₽ / 5 990,00 ₽ / 1,000 ¥).
The formatting itself is ``returns_portal.money.format_money``."""
from decimal import Decimal

from django import template

from returns_portal.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    return format_money(Decimal(amount), currency)
