"""The payment gateway interface: how an approved refund reaches the buyer's money.

One small interface, chosen by the ``PAYMENT_GATEWAY`` setting (a dotted path). The
default records the refund locally; a real payment provider's adapter implements the
same method and must pass the idempotency key through, so that a retried call never
pays twice on the provider's side either.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class GatewayError(Exception):
    """The provider refused or could not be reached; the refund stays unpaid and is retried."""


@dataclass(frozen=True)
class GatewayReceipt:
    reference: str


class PaymentGateway(Protocol):
    def refund(
        self, *, idempotency_key: str, amount: Decimal, currency: str, payment_reference: str
    ) -> GatewayReceipt: ...


class LocalLedgerGateway:
    """Default: the marketplace's own ledger is the record; nothing leaves the system."""

    def refund(
        self, *, idempotency_key: str, amount: Decimal, currency: str, payment_reference: str
    ) -> GatewayReceipt:
        return GatewayReceipt(reference=f"LOCAL-{idempotency_key}")


def payment_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()
