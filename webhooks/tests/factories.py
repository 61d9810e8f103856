import factory

from catalog.tests.factories import StoreFactory
from webhooks.models import WebhookEndpoint
from webhooks.signing import new_secret


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    store = factory.SubFactory(StoreFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/returns/{n}")
    secret = factory.LazyFunction(new_secret)
