import factory

from accounts.tests.factories import BuyerFactory
from notifications.messages import TEXT
from notifications.models import Notification


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread notification to a buyer, not yet e-mailed.

    Its words are a text written out in full (the ``notifications.text`` message), so
    ``NotificationFactory(subject=..., body=...)`` gives a notification that reads so.
    """

    class Meta:
        model = Notification

    class Params:
        subject = factory.Sequence(lambda n: f"Dispute update {n}")
        body = "The seller has sent return instructions."

    recipient = factory.SubFactory(BuyerFactory)
    key = TEXT
    params = factory.LazyAttribute(lambda n: {"subject": n.subject, "body": n.body})
    url = "/orders/"
