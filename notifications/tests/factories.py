import factory

from accounts.tests.factories import BuyerFactory
from notifications.models import Notification


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread notification to a buyer, not yet e-mailed."""

    class Meta:
        model = Notification

    recipient = factory.SubFactory(BuyerFactory)
    subject = factory.Sequence(lambda n: f"Dispute update {n}")
    body = "The seller has sent return instructions."
    url = "/orders/"
